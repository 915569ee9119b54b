package io.parley.app;

import io.parley.api.ApiRoutes;
import io.parley.auth.TokenVerifier;
import io.parley.client.ClientActor;
import io.parley.client.Connections;
import io.parley.history.RoomLog;
import io.parley.common.Addresses;
import io.parley.http.ChatRoutes;
import io.parley.http.HttpServer;
import io.parley.metrics.ClusterGauges;
import io.parley.online.OnlineTracker;
import io.parley.room.HostedRooms;
import io.parley.room.NodeRooms;
import io.parley.room.RoomActor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ClusterShardingHealthCheck;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Directives;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.FutureConverters;

/**
 * Starts a node: joins the cluster (itself, when no seed nodes are configured), starts room
 * sharding, the node's fan-out and connection registry, the HTTP server, and the drain on
 * shutdown.
 */
public final class Guardian {
  /** How long an accepted upgrade may take to become a socket. */
  private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(10);
  /**
   * How long a room request waits for the room to be reachable before UNAVAILABLE: above the
   * failover time after a node loss (~8 s, README), below the JS client's 10 s request timeout.
   */
  private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(9500);
  /** How often an unanswered Wake is repeated while a room moves. */
  private static final Duration WAKE_INTERVAL = Duration.ofMillis(500);
  /** A room's newest messages kept in memory: at least the 100 a join may ask to replay. */
  private static final int ROOM_CACHE = 100;
  /** How long a room with no members stays before it stops (its next start reads its log). */
  private static final Duration ROOM_IDLE = Duration.ofSeconds(30);
  /** How long a new room incarnation waits for the nodes' snapshots. */
  private static final Duration GATHER_TIMEOUT = Duration.ofSeconds(2);

  private static final Logger logger = LoggerFactory.getLogger(Guardian.class);

  private Guardian() {}

  public static Behavior<Void> create(ParleySettings settings, TokenVerifier verifier, RoomLog log,
      CompletableFuture<ServerBinding> bound) {
    return Behaviors.setup(ctx -> {
      ActorSystem<Void> system = ctx.getSystem();
      Cluster cluster = Cluster.get(system);
      Address self = cluster.selfMember().address();
      if (system.settings().config().getStringList("pekko.cluster.seed-nodes").isEmpty()) {
        cluster.manager().tell(Join.create(self));
      }

      ClusterSharding sharding = ClusterSharding.get(system);
      Function<String, RecipientRef<RoomActor.Command>> rooms =
          room -> sharding.entityRefFor(RoomActor.TYPE_KEY, room);
      ActorRef<NodeRooms.Command> nodeRooms = ctx.spawn(NodeRooms.create(rooms,
          new NodeRooms.Settings(settings.client().roomsPerConnection(), REQUEST_TIMEOUT, WAKE_INTERVAL),
          System::nanoTime), NodeRooms.NAME);
      ActorRef<HostedRooms.Command> hosted =
          ctx.spawn(HostedRooms.create(settings.maxRoomsPerNode()), "hosted-rooms");
      RoomActor.initSharding(sharding, new RoomActor.Site(hosted, () -> reachableNodes(system), log,
          GATHER_TIMEOUT, ROOM_CACHE, ROOM_IDLE));
      String nodeName = settings.nodeName().isEmpty()
          ? Addresses.hostPort(self)
          : settings.nodeName();
      ClientActor.Node node = new ClientActor.Node(
          nodeName,
          nodeRooms.narrow(),
          settings.client(),
          ATTACH_TIMEOUT,
          System::nanoTime);
      ActorRef<OnlineTracker.Command> online = ctx.spawn(OnlineTracker.create(), "online");
      ctx.spawn(ClusterGauges.create(RoomActor.TYPE_KEY), "cluster-gauges");
      ActorRef<Connections.Command> connections = ctx.spawn(Connections.create(
          settings.client(), settings.connectRate(), connection -> ClientActor.create(connection, node), online),
          Connections.NAME);

      ChatRoutes routes = new ChatRoutes(
          system,
          connections,
          online,
          verifier,
          new ChatRoutes.Config(
              settings.http(),
              settings.websocket(),
              settings.client().outgoingBuffer(),
              settings.devMode() ? settings.jwt() : null),
          clusterReady(system, log));
      ApiRoutes api = new ApiRoutes(system, settings.apiKeys(), connections, settings.log().timeout());
      if (settings.apiKeys().enabled()) {
        logger.info("server API on at /api/ ({} key(s))", settings.apiKeys().count());
      } else {
        logger.info("server API off: PARLEY_API_KEY is not set, every /api/ call answers 404");
      }
      HttpServer.start(system, Directives.concat(api.routes(), routes.routes()), settings.http())
          .whenComplete((binding, failure) -> {
            if (binding != null) bound.complete(binding);
            else bound.completeExceptionally(failure);
          });
      Drain.register(system, connections, settings.drainDelay(), settings.closeTimeout());
      return Behaviors.empty();
    });
  }

  /** The NodeRooms of every cluster member that is reachable from here and not on its way out. */
  private static Collection<ActorRef<NodeRooms.RoomEvent>> reachableNodes(ActorSystem<?> system) {
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    List<ActorRef<NodeRooms.RoomEvent>> nodes = new ArrayList<>();
    for (Member member : state.getMembers()) {
      MemberStatus status = member.status();
      // a node that is on its way out may have stopped answering already
      if (!state.getUnreachable().contains(member) && (status == MemberStatus.up()
          || status == MemberStatus.weaklyUp() || status == MemberStatus.joining()
          || status == MemberStatus.leaving())) {
        nodes.add(NodeRooms.at(system, member.address()));
      }
    }
    return nodes;
  }

  /** Up in the cluster, the room log reachable, and the room region registered with its coordinator. */
  private static java.util.function.Supplier<CompletionStage<Boolean>> clusterReady(
      ActorSystem<?> system, RoomLog log) {
    ClusterShardingHealthCheck sharding = new ClusterShardingHealthCheck(system.classicSystem());
    Cluster cluster = Cluster.get(system);
    return () -> {
      if (cluster.selfMember().status() != MemberStatus.up() || !log.reachable()) {
        return CompletableFuture.completedFuture(false);
      }
      return FutureConverters.asJava(sharding.apply()).thenApply(ok -> (Boolean) ok);
    };
  }
}
