package io.parley.room;

import io.parley.history.RoomLog;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.ActorPath;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * How a {@link RoomActor} incarnation starts, one named phase after the other; every request
 * that arrives meanwhile waits in the stash, in order:
 *
 * <ol>
 *   <li>{@code awaitingHost}: asks {@link HostedRooms} for a place on this node; refused, the room
 *       becomes {@code refusing};
 *   <li>{@code loading}: reads its log (epoch, last seq, newest messages), again every second
 *       while the store cannot be reached;
 *   <li>{@code gathering}: says Hello to every reachable node and waits for their snapshots (or
 *       the gather timeout);
 *   <li>then it runs ({@link RoomActor}).
 * </ol>
 */
final class RoomStart {
  private static final Duration RELOAD_INTERVAL = Duration.ofSeconds(1);

  private final ActorContext<RoomActor.Command> ctx;
  private final StashBuffer<RoomActor.Command> stash;
  private final TimerScheduler<RoomActor.Command> timers;
  private final String roomId;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final RoomActor.Site site;

  RoomStart(ActorContext<RoomActor.Command> ctx, StashBuffer<RoomActor.Command> stash,
      TimerScheduler<RoomActor.Command> timers, String roomId,
      ActorRef<ClusterSharding.ShardCommand> shard, RoomActor.Site site) {
    this.ctx = ctx;
    this.stash = stash;
    this.timers = timers;
    this.roomId = roomId;
    this.shard = shard;
    this.site = site;
  }

  /** Until {@link HostedRooms} answers. */
  Behavior<RoomActor.Command> awaitingHost() {
    return Behaviors.receive(RoomActor.Command.class)
        .onMessage(RoomActor.Hosted.class, hosted -> hosted.admitted()
            ? loading()
            : stash.unstashAll(refusing()))
        .onMessageEquals(RoomActor.Stop.INSTANCE, Behaviors::stopped)
        .onMessage(RoomActor.Command.class, this::keep)
        .build();
  }

  /** Until the log is read; while the store cannot be reached, it tries again every second. */
  private Behavior<RoomActor.Command> loading() {
    RoomActor.load(ctx, roomId, site);
    return Behaviors.receive(RoomActor.Command.class)
        .onMessage(RoomActor.Loaded.class, loaded -> gathering(loaded.room()))
        .onMessage(RoomActor.LoadFailed.class, failed -> {
          ctx.getLog().warn("cannot read the room's log, trying again in {}: {}", RELOAD_INTERVAL, failed.reason());
          timers.startSingleTimer(RoomActor.Reload.INSTANCE, RELOAD_INTERVAL);
          return Behaviors.same();
        })
        .onMessageEquals(RoomActor.Reload.INSTANCE, () -> {
          RoomActor.load(ctx, roomId, site);
          return Behaviors.same();
        })
        .onMessageEquals(RoomActor.Stop.INSTANCE, Behaviors::stopped)
        .onMessage(RoomActor.Command.class, this::keep)
        .build();
  }

  /** Says Hello to every reachable node and waits for their snapshots, or the timeout. */
  private Behavior<RoomActor.Command> gathering(RoomLog.Room log) {
    // by path: a node's NodeRooms found by its address has no uid, the one that answers has
    // (refs of one actor compare unequal then, paths equal)
    Set<ActorPath> waiting = new HashSet<>();
    NodeRooms.Hello hello = new NodeRooms.Hello(roomId, ctx.getSelf(), log.epoch());
    for (ActorRef<NodeRooms.RoomEvent> node : site.nodes().get()) {
      waiting.add(node.path());
      node.tell(hello);
    }
    List<RoomActor.Snapshot> snapshots = new ArrayList<>();
    if (waiting.isEmpty()) return run(log, snapshots);
    timers.startSingleTimer(RoomActor.GatherTimeout.INSTANCE, site.gatherTimeout());
    return Behaviors.receive(RoomActor.Command.class)
        .onMessage(RoomActor.Snapshot.class, snapshot -> {
          snapshots.add(snapshot);
          waiting.remove(snapshot.node().path());
          return waiting.isEmpty() ? run(log, snapshots) : Behaviors.same();
        })
        .onMessageEquals(RoomActor.GatherTimeout.INSTANCE, () -> {
          ctx.getLog().warn("no snapshot from {} node(s) within {}; starting without them",
              waiting.size(), site.gatherTimeout());
          return run(log, snapshots);
        })
        .onMessageEquals(RoomActor.Stop.INSTANCE, Behaviors::stopped)
        .onMessage(RoomActor.Command.class, this::keep)
        .build();
  }

  private Behavior<RoomActor.Command> run(RoomLog.Room log, List<RoomActor.Snapshot> snapshots) {
    timers.cancel(RoomActor.GatherTimeout.INSTANCE);
    return stash.unstashAll(new RoomActor(ctx, timers, roomId, shard, site, log, snapshots));
  }

  /** Keeps a message for later; a request that no longer fits is answered UNAVAILABLE at once. */
  private Behavior<RoomActor.Command> keep(RoomActor.Command command) {
    if (!stash.isFull()) {
      stash.stash(command);
    } else if (command instanceof RoomActor.Request request) {
      RoomActor.refuse(ParleyMetrics.get(ctx.getSystem()), roomId, request, "the room is starting and busy; try again");
    } else {
      ctx.getLog().warn("stash full while starting; dropped {}", command.getClass().getSimpleName());
    }
    return Behaviors.same();
  }

  /**
   * A room started while its node already hosts its maximum of rooms: every node that wakes it is
   * told {@link NodeRooms.Refused} (its requests get TOO_MANY_ROOMS), a server API call gets
   * UNAVAILABLE, and it stops at once.
   */
  private Behavior<RoomActor.Command> refusing() {
    shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    ParleyMetrics metrics = ParleyMetrics.get(ctx.getSystem());
    NodeRooms.Refused refused = new NodeRooms.Refused(roomId, ErrorCode.TOO_MANY_ROOMS,
        "the node this room would live on already hosts its maximum of rooms");
    return Behaviors.receive(RoomActor.Command.class)
        .onMessage(RoomActor.Wake.class, wake -> {
          metrics.roomCapRefusals.increment();
          wake.node().tell(refused);
          return Behaviors.same();
        })
        .onMessage(RoomActor.ApiCommand.class, call -> {
          metrics.roomCapRefusals.increment();
          call.replyTo().tell(new RoomActor.Failed(ErrorCode.UNAVAILABLE, refused.message()));
          return Behaviors.same();
        })
        .onMessageEquals(RoomActor.Stop.INSTANCE, Behaviors::stopped)
        .onMessage(RoomActor.Command.class, ignored -> Behaviors.same()) // nodes send nothing else unless greeted
        .build();
  }
}
