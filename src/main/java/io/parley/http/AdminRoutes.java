package io.parley.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.common.Addresses;
import io.parley.online.OnlineTracker;
import io.parley.room.RoomActor;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Dev mode only: {@code /admin}, a live view of the cluster, and {@code /admin/cluster}, the JSON
 * it polls (members, and connections and rooms per node).
 */
final class AdminRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(3);

  private final ActorSystem<?> system;
  private final ActorRef<OnlineTracker.Command> online;

  AdminRoutes(ActorSystem<?> system, ActorRef<OnlineTracker.Command> online) {
    this.system = system;
    this.online = online;
  }

  Route routes() {
    return pathPrefix("admin", () -> concat(
        pathEnd(() -> get(() -> getFromResource("admin/admin.html"))),
        path("cluster", () -> get(() -> onSuccess(clusterView(), view -> complete(
            HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, view.toString())))))));
  }

  private CompletionStage<ObjectNode> clusterView() {
    CompletionStage<ShardRegion.ClusterShardingStats> rooms = AskPattern.ask(
        ClusterSharding.get(system).shardState(),
        replyTo -> new GetClusterShardingStats(RoomActor.TYPE_KEY, ASK_TIMEOUT, replyTo),
        ASK_TIMEOUT.plusSeconds(1), system.scheduler());
    CompletionStage<OnlineTracker.Online> counts =
        AskPattern.ask(online, OnlineTracker.Get::new, ASK_TIMEOUT, system.scheduler());
    return rooms.thenCombine(counts, this::render);
  }

  private ObjectNode render(ShardRegion.ClusterShardingStats rooms, OnlineTracker.Online counts) {
    Cluster cluster = Cluster.get(system);
    ObjectNode view = JSON.createObjectNode();
    view.put("self", Addresses.hostPort(cluster.selfMember().address()));
    view.put("online", counts.users());
    view.put("connections", counts.connections());
    ArrayNode nodes = view.putArray("nodes");
    for (Member member : cluster.state().getMembers()) {
      Address address = member.address();
      String hostPort = Addresses.hostPort(address);
      ObjectNode node = nodes.addObject();
      node.put("address", hostPort);
      node.put("status", member.status().toString());
      node.put("reachable", !cluster.state().getUnreachable().contains(member));
      node.put("leader", address.equals(cluster.state().getLeader()));
      node.put("connections", counts.connectionsByNode().getOrDefault(hostPort, 0L));
      ShardRegion.ShardRegionStats region = rooms.getRegions().get(address);
      int hosted = 0;
      if (region != null) for (Object entities : region.getStats().values()) hosted += (Integer) entities;
      node.put("shards", region == null ? 0 : region.getStats().size());
      node.put("rooms", hosted);
    }
    return view;
  }
}
