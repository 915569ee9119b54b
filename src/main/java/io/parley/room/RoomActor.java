package io.parley.room;

import io.parley.common.CborSerializable;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.ServerFrames;
import io.parley.protocol.User;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One room: a Cluster Sharding entity keyed by room id. Its members are nodes, not connections:
 * each node's {@link NodeRooms} reports how many connections each of its users has in the room,
 * sends the requests of its connections, and fans the room's frames out to them. The room owns
 * presence (a user is present while any node has a connection of theirs), the single message
 * order ({@code seq}) and its broadcasts, each rendered here once and sent once per node.
 *
 * <p>Phases: a new incarnation first asks {@link HostedRooms} for a place on this node, then
 * says {@link NodeRooms.Hello} to every reachable node and waits for their {@link Snapshot}s
 * (requests wait in a stash meanwhile). From the snapshots it learns who is here and what the
 * nodes last saw of an earlier incarnation, which it may continue after a node loss or a
 * hand-off: it announces once who arrived and who left in between, and continues the seq. Then
 * it runs. It watches each node that hosts members (one watch per node, however many
 * connections), and stops when no node has members left.
 */
public final class RoomActor extends AbstractBehavior<RoomActor.Command> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "room");

  public sealed interface Command extends CborSerializable {}

  /**
   * From a node that has members but no incarnation of the room to talk to (the room never ran,
   * stopped, or moved). The only message nodes send through sharding; answered with {@link
   * NodeRooms.Hello}, after which the node talks to this incarnation directly, in order.
   */
  public record Wake(ActorRef<NodeRooms.RoomEvent> node) implements Command {}

  /**
   * A node's whole presence in the room ({@code users}: all of them, none when it has no
   * members), the last seq it delivered and the users it last saw in the room. Its answer to
   * {@link NodeRooms.Hello}, sent before any request to this incarnation.
   */
  public record Snapshot(
      ActorRef<NodeRooms.RoomEvent> node, List<UserCount> users, long lastSeq, List<User> seen)
      implements Command {}

  /**
   * A connection joins; {@code connections} is its user's number of connections in the room on
   * that node, this one included. Answered with {@link NodeRooms.Joined}.
   */
  public record Join(
      ActorRef<NodeRooms.RoomEvent> node, long ref, String connectionId, User user,
      int connections, RequestId id) implements Command {}

  /** A user's connections on that node changed (a leave or a disconnect); 0: none left there. */
  public record Presence(ActorRef<NodeRooms.RoomEvent> node, User user, int connections)
      implements Command {}

  /** A message; {@code messageId} is chosen by the node. Answered with an {@code ack}. */
  public record Post(
      ActorRef<NodeRooms.RoomEvent> node, long ref, String connectionId, User user, RequestId id,
      String messageId, String content, String replyTo) implements Command {}

  public record Typing(
      ActorRef<NodeRooms.RoomEvent> node, String connectionId, User user, boolean typing)
      implements Command {}

  /** Answered with {@code online_users}. */
  public record GetOnline(
      ActorRef<NodeRooms.RoomEvent> node, long ref, String connectionId, RequestId id)
      implements Command {}

  /** Sharding's stop message, on passivation and on hand-off to another node. */
  private enum Stop implements Command { INSTANCE }

  private record Hosted(boolean admitted) implements Command {}

  private enum GatherTimeout implements Command { INSTANCE }

  /**
   * What a room uses of the node it runs on.
   *
   * @param nodes the {@link NodeRooms} of every reachable cluster member, this node's included
   * @param gatherTimeout how long a new incarnation waits for the nodes' snapshots
   */
  public record Site(
      ActorRef<ClusterSharding.ShardCommand> shard,
      ActorRef<HostedRooms.Command> hosted,
      Supplier<Collection<ActorRef<NodeRooms.RoomEvent>>> nodes,
      Duration gatherTimeout) {}

  private static final int STASH_CAPACITY = 10_000;

  public static void initSharding(
      ClusterSharding sharding, ActorRef<HostedRooms.Command> hosted,
      Supplier<Collection<ActorRef<NodeRooms.RoomEvent>>> nodes, Duration gatherTimeout) {
    sharding.init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(),
            new Site(ctx.getShard(), hosted, nodes, gatherTimeout)))
        .withStopMessage(Stop.INSTANCE));
  }

  /** The stop message sharding sends; public for tests that act as the shard. */
  public static Command stopMessage() {
    return Stop.INSTANCE;
  }

  public static Behavior<Command> create(String roomId, Site site) {
    return Behaviors.withMdc(Command.class, Map.of("room", roomId), Behaviors.setup(ctx ->
        Behaviors.withStash(STASH_CAPACITY, stash -> Behaviors.withTimers(timers -> {
          site.hosted().tell(new HostedRooms.Host(
              ctx.getSelf(), ctx.messageAdapter(Boolean.class, Hosted::new)));
          return awaitingHost(ctx, stash, timers, roomId, site);
        }))));
  }

  /** Until {@link HostedRooms} answers: everything else waits. */
  private static Behavior<Command> awaitingHost(ActorContext<Command> ctx, StashBuffer<Command> stash,
      TimerScheduler<Command> timers, String roomId, Site site) {
    return Behaviors.receive(Command.class)
        .onMessage(Hosted.class, hosted -> hosted.admitted()
            ? gather(ctx, stash, timers, roomId, site)
            : stash.unstashAll(refusing(ctx, roomId, site)))
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onMessage(Command.class, command -> keep(ctx, stash, command))
        .build();
  }

  /** Says Hello to every reachable node and waits for their snapshots, or the timeout. */
  private static Behavior<Command> gather(ActorContext<Command> ctx, StashBuffer<Command> stash,
      TimerScheduler<Command> timers, String roomId, Site site) {
    Set<ActorRef<NodeRooms.RoomEvent>> waiting = new HashSet<>(site.nodes().get());
    NodeRooms.Hello hello = new NodeRooms.Hello(roomId, ctx.getSelf());
    waiting.forEach(node -> node.tell(hello));
    timers.startSingleTimer(GatherTimeout.INSTANCE, site.gatherTimeout());
    List<Snapshot> snapshots = new ArrayList<>();
    return Behaviors.receive(Command.class)
        .onMessage(Snapshot.class, snapshot -> {
          snapshots.add(snapshot);
          waiting.remove(snapshot.node());
          return waiting.isEmpty() ? run(ctx, stash, timers, roomId, site, snapshots) : Behaviors.same();
        })
        .onMessageEquals(GatherTimeout.INSTANCE, () -> {
          ctx.getLog().warn("no snapshot from {} node(s) within {}; starting without them",
              waiting.size(), site.gatherTimeout());
          return run(ctx, stash, timers, roomId, site, snapshots);
        })
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onMessage(Command.class, command -> keep(ctx, stash, command))
        .build();
  }

  private static Behavior<Command> run(ActorContext<Command> ctx, StashBuffer<Command> stash,
      TimerScheduler<Command> timers, String roomId, Site site, List<Snapshot> snapshots) {
    timers.cancel(GatherTimeout.INSTANCE);
    return stash.unstashAll(new RoomActor(ctx, roomId, site, snapshots));
  }

  private static Behavior<Command> keep(
      ActorContext<Command> ctx, StashBuffer<Command> stash, Command command) {
    if (stash.isFull()) ctx.getLog().warn("stash full; dropped {}", command.getClass().getSimpleName());
    else stash.stash(command);
    return Behaviors.same();
  }

  /**
   * A room started while its node already hosts its maximum of rooms: every node that wakes it is
   * told {@link NodeRooms.Refused} (its requests get TOO_MANY_ROOMS), and it stops at once.
   */
  private static Behavior<Command> refusing(ActorContext<Command> ctx, String roomId, Site site) {
    site.shard().tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    ParleyMetrics metrics = ParleyMetrics.get(ctx.getSystem());
    NodeRooms.Refused refused = new NodeRooms.Refused(roomId, ErrorCode.TOO_MANY_ROOMS,
        "the node this room would live on already hosts its maximum of rooms");
    return Behaviors.receive(Command.class)
        .onMessage(Wake.class, wake -> {
          metrics.roomCapRefusals.increment();
          wake.node().tell(refused);
          return Behaviors.same();
        })
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onMessage(Command.class, ignored -> Behaviors.same()) // nodes send nothing else unless greeted
        .build();
  }

  private final ParleyMetrics metrics;
  private final String roomId;
  private final Site site;
  private final RoomPresence presence = new RoomPresence();
  /** The nodes this room watches: exactly those that host members. */
  private final Set<ActorRef<NodeRooms.RoomEvent>> watched = new HashSet<>();
  private long seq;

  /**
   * Starts from the nodes' snapshots: who is here, and what they saw of an earlier incarnation.
   * Users they saw who are here no more are announced gone, once; users here whom they did not
   * see are announced.
   */
  private RoomActor(ActorContext<Command> context, String roomId, Site site, List<Snapshot> snapshots) {
    super(context);
    this.metrics = ParleyMetrics.get(context.getSystem());
    this.roomId = roomId;
    this.site = site;
    Map<String, User> seen = new LinkedHashMap<>();
    for (Snapshot snapshot : snapshots) {
      seq = Math.max(seq, snapshot.lastSeq());
      snapshot.seen().forEach(user -> seen.putIfAbsent(user.id(), user));
      presence.replace(snapshot.node(), snapshot.users(), user -> {}, user -> {});
      watchIfHosting(snapshot.node());
    }
    for (User user : presence.users()) if (seen.remove(user.id()) == null) announce(user, true, null);
    for (User user : seen.values()) announce(user, false, null);
    passivateIfEmpty();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Post.class, this::onPost)
        .onMessage(Typing.class, this::onTyping)
        .onMessage(Join.class, this::onJoin)
        .onMessage(Presence.class, this::onPresence)
        .onMessage(GetOnline.class, this::onGetOnline)
        .onMessage(Snapshot.class, this::onSnapshot)
        .onMessage(Wake.class, this::onWake)
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onSignal(Terminated.class, this::onNodeStopped)
        .onSignal(PostStop.class, stopped -> {
          metrics.roomNodeWatches.addAndGet(-watched.size());
          return this;
        })
        .build();
  }

  private Behavior<Command> onWake(Wake wake) {
    wake.node().tell(new NodeRooms.Hello(roomId, getContext().getSelf()));
    return this;
  }

  private Behavior<Command> onSnapshot(Snapshot snapshot) {
    seq = Math.max(seq, snapshot.lastSeq());
    presence.replace(snapshot.node(), snapshot.users(),
        user -> announce(user, true, null), user -> announce(user, false, null));
    return afterPresenceChange(snapshot.node());
  }

  private Behavior<Command> onJoin(Join join) {
    presence.set(join.node(), join.user(), join.connections(),
        user -> announce(user, true, join.connectionId()), user -> announce(user, false, null));
    watchIfHosting(join.node());
    List<User> users = presence.users();
    metrics.frameOut("room_info").increment();
    join.node().tell(new NodeRooms.Joined(
        roomId, join.ref(), join.connectionId(), ServerFrames.users(true, roomId, join.id(), users), users));
    return this;
  }

  private Behavior<Command> onPresence(Presence change) {
    presence.set(change.node(), change.user(), change.connections(),
        user -> announce(user, true, null), user -> announce(user, false, null));
    return afterPresenceChange(change.node());
  }

  private Behavior<Command> onPost(Post post) {
    long messageSeq = ++seq;
    metrics.frameOut("ack").increment();
    NodeRooms.Reply ack = new NodeRooms.Reply(roomId, post.ref(), post.connectionId(),
        ServerFrames.messageAck(post.id(), roomId, post.messageId(), messageSeq));
    broadcast("new_message",
        ServerFrames.newMessage(roomId, post.messageId(), messageSeq, post.user(), post.content(), post.replyTo()),
        post.connectionId(), messageSeq, null, post.node(), ack);
    return this;
  }

  private Behavior<Command> onTyping(Typing typing) {
    broadcast("user_typing", ServerFrames.userTyping(roomId, typing.user(), typing.typing()),
        typing.connectionId(), 0, null, null, null);
    return this;
  }

  private Behavior<Command> onGetOnline(GetOnline get) {
    metrics.frameOut("online_users").increment();
    get.node().tell(new NodeRooms.Reply(roomId, get.ref(), get.connectionId(),
        ServerFrames.users(false, roomId, get.id(), presence.users())));
    return this;
  }

  /** A node that hosted members stopped (it died, or left the cluster): its users are gone. */
  private Behavior<Command> onNodeStopped(Terminated stopped) {
    watched.remove(stopped.getRef());
    metrics.roomNodeWatches.decrementAndGet();
    presence.removeNode(stopped.getRef(), user -> announce(user, false, null));
    return passivateIfEmpty();
  }

  private Behavior<Command> afterPresenceChange(ActorRef<NodeRooms.RoomEvent> node) {
    watchIfHosting(node);
    if (!presence.hosts(node) && watched.remove(node)) {
      getContext().unwatch(node);
      metrics.roomNodeWatches.decrementAndGet();
    }
    return passivateIfEmpty();
  }

  private void watchIfHosting(ActorRef<NodeRooms.RoomEvent> node) {
    if (presence.hosts(node) && watched.add(node)) {
      getContext().watch(node);
      metrics.roomNodeWatches.incrementAndGet();
    }
  }

  /** With no node hosting members, the room asks to stop; a node that comes later wakes it again. */
  private Behavior<Command> passivateIfEmpty() {
    if (presence.isEmpty()) site.shard().tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
    return this;
  }

  /** {@code user_joined} / {@code user_left}, which the nodes also read to follow presence. */
  private void announce(User user, boolean arrived, String except) {
    broadcast(arrived ? "user_joined" : "user_left", ServerFrames.presence(arrived, roomId, user),
        except, 0, new NodeRooms.PresenceChange(user, arrived), null, null);
  }

  /**
   * One Deliver per node that hosts members, the same frame bytes for all of them. {@code reply}
   * (an ack) travels inside the Deliver to {@code replyNode}, so that a node gets a message and
   * its ack together or not at all; on its own when that node hosts no members.
   */
  private void broadcast(String type, byte[] frame, String except, long frameSeq,
      NodeRooms.PresenceChange change, ActorRef<NodeRooms.RoomEvent> replyNode, NodeRooms.Reply reply) {
    Set<ActorRef<NodeRooms.RoomEvent>> nodes = presence.nodes();
    if (!nodes.isEmpty()) {
      metrics.broadcasts.increment();
      metrics.frameOut(type).increment();
      NodeRooms.Deliver deliver = new NodeRooms.Deliver(
          roomId, frame, except, frameSeq, change, System.currentTimeMillis(), null);
      for (ActorRef<NodeRooms.RoomEvent> node : nodes) {
        node.tell(node.equals(replyNode) ? deliver.withReply(reply) : deliver);
        (node.path().address().hasLocalScope() ? metrics.fanoutLocal : metrics.fanoutRemote).increment();
      }
    }
    if (reply != null && !nodes.contains(replyNode)) replyNode.tell(reply);
  }
}
