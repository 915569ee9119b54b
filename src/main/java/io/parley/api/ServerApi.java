package io.parley.api;

import io.parley.client.Connections;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.User;
import io.parley.room.RoomActor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out decoded server API calls: room calls go to the room through sharding, wherever it
 * lives ({@link RoomActor.ApiCommand}); a disconnect goes to the {@link Connections} of every
 * cluster member. Never fails: a room that does not answer in time is UNAVAILABLE.
 */
final class ServerApi {
  private static final Logger log = LoggerFactory.getLogger(ServerApi.class);
  /**
   * How long a publish may wait for its room before the room refuses it (a room that moves after
   * a node loss is back within ~8 s). The caller waits a store timeout and a second more, so that
   * a publish the room took before its deadline is answered with its outcome.
   */
  static final Duration PUBLISH_DEADLINE = Duration.ofSeconds(8);
  /** How long a disconnect waits for each node. */
  static final Duration NODE_TIMEOUT = Duration.ofSeconds(3);

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Duration roomTimeout;

  /** @param storeTimeout how long the store may take to answer before it counts as down */
  ServerApi(ActorSystem<?> system, Duration storeTimeout) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.roomTimeout = PUBLISH_DEADLINE.plus(storeTimeout).plusSeconds(1);
  }

  CompletionStage<ApiAnswer> call(ApiCall call) {
    if (call instanceof ApiCall.Publish publish) {
      return publish(publish.room(), publish.payload(), publish.sender(), publish.idempotencyKey())
          .thenApply(reply -> ApiAnswer.of(publish.room(), reply));
    }
    if (call instanceof ApiCall.Broadcast broadcast) {
      List<CompletableFuture<RoomActor.ApiReply>> replies = new ArrayList<>(broadcast.rooms().size());
      for (String room : broadcast.rooms()) {
        replies.add(publish(room, broadcast.payload(), broadcast.sender(), broadcast.idempotencyKey()).toCompletableFuture());
      }
      return CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).thenApply(all ->
          ApiAnswer.broadcast(broadcast.rooms(), replies.stream().map(CompletableFuture::join).toList()));
    }
    if (call instanceof ApiCall.History history) {
      return ask(history.room(), replyTo ->
          new RoomActor.ReadHistory(history.before(), history.after(), history.limit(), replyTo))
          .thenApply(reply -> ApiAnswer.of(history.room(), reply));
    }
    if (call instanceof ApiCall.Presence presence) {
      return ask(presence.room(), RoomActor.ListUsers::new).thenApply(reply -> ApiAnswer.of(presence.room(), reply));
    }
    if (call instanceof ApiCall.Disconnect disconnect) {
      return disconnect(disconnect.user()).thenApply(ApiAnswer::disconnected);
    }
    return CompletableFuture.completedFuture(ApiAnswer.invalid((ApiCall.Invalid) call));
  }

  private CompletionStage<RoomActor.ApiReply> publish(String room, String payload, User sender, String key) {
    long deadline = System.currentTimeMillis() + PUBLISH_DEADLINE.toMillis();
    return ask(room, replyTo -> new RoomActor.Publish(payload, sender, key, deadline, replyTo));
  }

  private CompletionStage<RoomActor.ApiReply> ask(
      String room, Function<ActorRef<RoomActor.ApiReply>, RoomActor.Command> command) {
    return Stages.plain(sharding.entityRefFor(RoomActor.TYPE_KEY, room).<RoomActor.ApiReply>ask(command::apply, roomTimeout))
        .exceptionally(timeout -> new RoomActor.Failed(ErrorCode.UNAVAILABLE,
            "the room did not answer in time (it may be moving to another node); nothing was stored or sent, try again"));
  }

  /** Asks every member's Connections; a node that does not answer in time counts none. */
  private CompletionStage<Integer> disconnect(String user) {
    List<CompletableFuture<Integer>> counts = new ArrayList<>();
    for (Address node : members()) {
      counts.add(Stages.plain(AskPattern.<Connections.Command, Connections.UserDisconnected>ask(Connections.at(system, node),
              replyTo -> new Connections.DisconnectUser(user, replyTo), NODE_TIMEOUT, system.scheduler()))
          .thenApply(Connections.UserDisconnected::connections)
          .exceptionally(failure -> {
            log.warn("disconnect user={}: no answer from node {} within {}", user, node, NODE_TIMEOUT);
            return 0;
          }));
    }
    return CompletableFuture.allOf(counts.toArray(CompletableFuture[]::new))
        .thenApply(all -> counts.stream().mapToInt(CompletableFuture::join).sum());
  }

  /** Cluster members that may hold connections: reachable, and not down or gone. */
  private List<Address> members() {
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    List<Address> members = new ArrayList<>();
    for (Member member : state.getMembers()) {
      MemberStatus status = member.status();
      if (!state.getUnreachable().contains(member) && status != MemberStatus.down()
          && status != MemberStatus.removed()) {
        members.add(member.address());
      }
    }
    return members;
  }
}
