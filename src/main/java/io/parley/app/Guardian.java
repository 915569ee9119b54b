package io.parley.app;

import io.parley.auth.TokenVerifier;
import io.parley.client.ClientActor;
import io.parley.client.Connections;
import io.parley.common.Addresses;
import io.parley.http.ChatRoutes;
import io.parley.http.HttpServer;
import io.parley.metrics.ClusterGauges;
import io.parley.online.OnlineTracker;
import io.parley.room.NodeFanout;
import io.parley.room.RoomActor;
import java.time.Duration;
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
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ClusterShardingHealthCheck;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.http.javadsl.ServerBinding;
import scala.jdk.javaapi.FutureConverters;

/**
 * Starts a node: joins the cluster (itself, when no seed nodes are configured), starts room
 * sharding, the node's fan-out and connection registry, the HTTP server, and the drain on
 * shutdown.
 */
public final class Guardian {
  /** How long an accepted upgrade may take to become a socket. */
  private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(10);

  private Guardian() {}

  public static Behavior<Void> create(
      ParleySettings settings, TokenVerifier verifier, CompletableFuture<ServerBinding> bound) {
    return Behaviors.setup(ctx -> {
      ActorSystem<Void> system = ctx.getSystem();
      Cluster cluster = Cluster.get(system);
      Address self = cluster.selfMember().address();
      if (system.settings().config().getStringList("pekko.cluster.seed-nodes").isEmpty()) {
        cluster.manager().tell(Join.create(self));
      }

      RoomActor.initSharding(system, settings.maxRoomsPerNode());
      ClusterSharding sharding = ClusterSharding.get(system);
      Function<String, RecipientRef<RoomActor.Command>> rooms =
          room -> sharding.entityRefFor(RoomActor.TYPE_KEY, room);
      ActorRef<NodeFanout.Command> fanout = ctx.spawn(NodeFanout.create(rooms), "fanout");
      ActorRef<ClusterEvent.MemberRemoved> removals = ctx.spawn(
          Behaviors.<ClusterEvent.MemberRemoved>receiveMessage(removed -> {
            fanout.tell(NodeFanout.NodeLeft.INSTANCE);
            return Behaviors.same();
          }), "node-removals");
      cluster.subscriptions().tell(Subscribe.create(removals, ClusterEvent.MemberRemoved.class));
      String nodeName = settings.nodeName().isEmpty()
          ? Addresses.hostPort(self)
          : settings.nodeName();
      ClientActor.Node node = new ClientActor.Node(
          nodeName,
          fanout,
          rooms,
          settings.client(),
          ATTACH_TIMEOUT,
          System::nanoTime);
      ActorRef<OnlineTracker.Command> online = ctx.spawn(OnlineTracker.create(), "online");
      ctx.spawn(ClusterGauges.create(), "cluster-gauges");
      ActorRef<Connections.Command> connections = ctx.spawn(Connections.create(
          settings.client(), settings.connectRate(), connection -> ClientActor.create(connection, node), online),
          "connections");

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
          clusterReady(system));
      HttpServer.start(system, routes.routes(), settings.http())
          .whenComplete((binding, failure) -> {
            if (binding != null) bound.complete(binding);
            else bound.completeExceptionally(failure);
          });
      Drain.register(system, connections, settings.drainDelay(), settings.closeTimeout());
      return Behaviors.empty();
    });
  }

  /** Up in the cluster, and the room region registered with its coordinator. */
  private static java.util.function.Supplier<CompletionStage<Boolean>> clusterReady(
      ActorSystem<?> system) {
    ClusterShardingHealthCheck sharding = new ClusterShardingHealthCheck(system.classicSystem());
    Cluster cluster = Cluster.get(system);
    return () -> {
      if (cluster.selfMember().status() != MemberStatus.up()) {
        return CompletableFuture.completedFuture(false);
      }
      return FutureConverters.asJava(sharding.apply()).thenApply(ok -> (Boolean) ok);
    };
  }
}
