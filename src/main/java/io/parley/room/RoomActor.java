package io.parley.room;

import io.parley.client.ClientActor;
import io.parley.common.CborSerializable;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.ServerFrames;
import io.parley.protocol.User;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One room: a Cluster Sharding entity keyed by room id. It owns the room's membership (by
 * connection), its presence (by user: first connection in, last connection out), its single
 * message order ({@code seq}) and its broadcasts. Every frame it sends is rendered here once and
 * handed to the {@link NodeFanout} of each node that hosts members.
 *
 * <p>A room stops when its last member leaves. Should members join while it is stopping, or the
 * room be handed to another node, it passes its members and {@code seq} on to its next
 * incarnation ({@link Rejoin} through sharding), so nobody is silently dropped.
 */
public final class RoomActor extends AbstractBehavior<RoomActor.Command> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "room");

  public sealed interface Command extends CborSerializable {}

  /** Join; the joiner gets {@code room_info}, the others {@code user_joined} for a new user. */
  public record Join(Member member, RequestId id) implements Command {}

  /** Leave; {@code ack} when {@code id} is set, {@code user_left} for a user's last connection. */
  public record Leave(Member member, RequestId id) implements Command {}

  /** A message: {@code new_message} for the other connections, {@code ack} for the sender. */
  public record Post(Member member, RequestId id, String content, String replyTo)
      implements Command {}

  public record Typing(Member member, boolean typing) implements Command {}

  /** Answered with {@code online_users}. */
  public record GetOnline(Member member, RequestId id) implements Command {}

  /**
   * Members to take over without announcing them, the last {@code seq} they may have seen, and
   * the users they last saw in the room. Sent by this room's previous incarnation when it stopped
   * with members left, and by every node's fan-out when a node left the cluster (the room may
   * have lived there). Users that were present but come back with no member are announced as
   * gone once the rejoins have settled. {@code replyTo}, when set, gets {@link
   * NodeFanout.Rejoined}.
   */
  public record Rejoin(
      List<Member> members, long seq, List<User> users, ActorRef<NodeFanout.Command> replyTo)
      implements Command {}

  /** Sharding's stop message, on passivation and on hand-off to another node. */
  private enum Stop implements Command { INSTANCE }

  private record MemberStopped(String connectionId) implements Command {}

  private enum SettleRejoins implements Command { INSTANCE }

  private enum ReleaseHeld implements Command { INSTANCE }

  /** How long a rebuilt room collects rejoins before announcing who did not come back. */
  static final Duration REJOIN_SETTLE = Duration.ofMillis(1500);

  /**
   * A request from a connection this incarnation does not know means it continues an earlier
   * one (handed off, or rebuilt after a node loss) whose Rejoin is on its way by another route.
   * Such requests wait for a Rejoin, at most this long, so that messages keep their seq order
   * instead of starting again at 1.
   */
  static final Duration HOLD_FOR_REJOIN = Duration.ofSeconds(1);

  /**
   * After a survivor's Rejoin, how long a rebuilt room keeps holding requests for the other
   * survivors' Rejoins (they are retried every 500 ms), so that their members get the messages
   * too. The previous incarnation's own Rejoin is complete and releases them at once.
   */
  static final Duration REJOIN_GRACE = Duration.ofMillis(600);

  /** @param maxRooms how many rooms this node hosts before new ones refuse everyone */
  public static void initSharding(ActorSystem<?> system, int maxRooms) {
    ClusterSharding sharding = ClusterSharding.get(system);
    sharding.init(
        Entity.of(TYPE_KEY, ctx -> create(
                ctx.getEntityId(), ctx.getShard(),
                sharding.entityRefFor(TYPE_KEY, ctx.getEntityId()), maxRooms))
            .withStopMessage(Stop.INSTANCE));
  }

  /**
   * @param shard where to ask for passivation
   * @param successor this room as sharding reaches it, for {@link Rejoin}
   * @param maxRooms rooms this node may host; a room started beyond it refuses every request
   */
  public static Behavior<Command> create(
      String roomId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      RecipientRef<Command> successor,
      int maxRooms) {
    return Behaviors.withMdc(Command.class, Map.of("room", roomId), Behaviors.setup(ctx -> {
      ParleyMetrics metrics = ParleyMetrics.get(ctx.getSystem());
      if (metrics.rooms.incrementAndGet() > maxRooms) return refusing(ctx, roomId, shard, maxRooms, metrics);
      return Behaviors.withTimers(timers -> new RoomActor(ctx, timers, roomId, shard, successor));
    }));
  }

  /**
   * A room started while its node already hosts its maximum of rooms: it answers every request
   * with TOO_MANY_ROOMS (a refused joiner's ClientActor is told, so it keeps no membership) and
   * asks to be passivated at once.
   */
  @SuppressWarnings("unchecked")
  private static Behavior<Command> refusing(ActorContext<Command> ctx, String roomId,
      ActorRef<ClusterSharding.ShardCommand> shard, int maxRooms, ParleyMetrics metrics) {
    shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    String message = "this node already hosts its maximum of " + maxRooms + " rooms";
    BiFunction<Member, RequestId, Behavior<Command>> refuse = (member, id) -> {
      metrics.roomCapRefusals.increment();
      reply(metrics, member, "error", ServerFrames.error(id, roomId, ErrorCode.TOO_MANY_ROOMS, message));
      return Behaviors.same();
    };
    return Behaviors.receive(Command.class)
        .onMessage(Join.class, join -> {
          // a Member's client is always its connection's ClientActor
          ((ActorRef<ClientActor.Command>) join.member().client()).tell(new ClientActor.JoinRefused(roomId));
          return refuse.apply(join.member(), join.id());
        })
        .onMessage(Post.class, post -> refuse.apply(post.member(), post.id()))
        .onMessage(GetOnline.class, get -> refuse.apply(get.member(), get.id()))
        .onMessage(Leave.class, leave -> {
          if (leave.id() != null) reply(metrics, leave.member(), "ack", ServerFrames.ack(leave.id(), roomId));
          return Behaviors.same();
        })
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onSignal(PostStop.class, stopped -> {
          metrics.rooms.decrementAndGet();
          return Behaviors.same();
        })
        .build();
  }

  /** The stop message sharding sends; public for tests that act as the shard. */
  public static Command stopMessage() {
    return Stop.INSTANCE;
  }

  private final TimerScheduler<Command> timers;
  private final ParleyMetrics metrics;
  private final String roomId;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final RecipientRef<Command> successor;
  private final RoomMembership members = new RoomMembership();
  /** Users reported present by rejoins, checked against the members when they settle. */
  private final Map<String, User> reportedUsers = new LinkedHashMap<>();
  private long seq;
  private boolean passivating;
  /**
   * This incarnation runs normally (a join came, or the wait for rejoins ended): requests run
   * at once. Until then it may be the continuation of an earlier one; see {@link #holds}.
   */
  private boolean settled;
  /** Requests waiting for rejoins, in arrival order; or null. */
  private List<Command> held;

  private RoomActor(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      String roomId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      RecipientRef<Command> successor) {
    super(context);
    this.timers = timers;
    this.metrics = ParleyMetrics.get(context.getSystem());
    this.roomId = roomId;
    this.shard = shard;
    this.successor = successor;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Post.class, this::onPost)
        .onMessage(Typing.class, this::onTyping)
        .onMessage(Join.class, this::onJoin)
        .onMessage(Leave.class, this::onLeave)
        .onMessage(GetOnline.class, this::onGetOnline)
        .onMessage(MemberStopped.class, this::onMemberStopped)
        .onMessage(Rejoin.class, this::onRejoin)
        .onMessageEquals(SettleRejoins.INSTANCE, this::onSettleRejoins)
        .onMessageEquals(ReleaseHeld.INSTANCE, this::onReleaseHeld)
        .onMessageEquals(Stop.INSTANCE, this::onStop)
        .onSignal(PostStop.class, stopped -> {
          metrics.rooms.decrementAndGet();
          return this;
        })
        .build();
  }

  private Behavior<Command> onJoin(Join join) {
    settled = settled || held == null;
    Member member = join.member();
    if (!members.contains(member.connectionId())) admit(member, true);
    List<User> users = members.users();
    metrics.frameOut("room_info").increment();
    member.fanout().tell(new NodeFanout.DeliverTo(
        member.connectionId(), ServerFrames.users(true, roomId, join.id(), users), roomId, users));
    return this;
  }

  private Behavior<Command> onLeave(Leave leave) {
    remove(leave.member().connectionId());
    if (leave.id() != null) reply(leave.member(), "ack", ServerFrames.ack(leave.id(), roomId));
    return passivateIfEmpty();
  }

  private Behavior<Command> onPost(Post post) {
    if (holds(post, post.member())) return this;
    Member sender = ensureMember(post.member());
    long messageSeq = ++seq;
    String messageId = newMessageId();
    broadcast("new_message",
        ServerFrames.newMessage(
            roomId, messageId, messageSeq, sender.user(), post.content(), post.replyTo()),
        sender.connectionId(), messageSeq, null);
    reply(sender, "ack", ServerFrames.messageAck(post.id(), roomId, messageId, messageSeq));
    return this;
  }

  private Behavior<Command> onTyping(Typing typing) {
    if (holds(typing, typing.member())) return this;
    Member typer = ensureMember(typing.member());
    broadcast("user_typing", ServerFrames.userTyping(roomId, typer.user(), typing.typing()),
        typer.connectionId(), 0, null);
    return this;
  }

  private Behavior<Command> onGetOnline(GetOnline get) {
    if (holds(get, get.member())) return this;
    Member member = ensureMember(get.member());
    reply(member, "online_users", ServerFrames.users(false, roomId, get.id(), members.users()));
    return this;
  }

  private Behavior<Command> onMemberStopped(MemberStopped stopped) {
    remove(stopped.connectionId());
    return passivateIfEmpty();
  }

  /**
   * Keeps {@code command} for later when it must wait for rejoins: while holding, and when an
   * unsettled incarnation hears from a connection it does not know. True when kept.
   */
  private boolean holds(Command command, Member from) {
    if (held == null) {
      if (settled || members.contains(from.connectionId())) return false;
      holdFor(HOLD_FOR_REJOIN);
    }
    held.add(command);
    return true;
  }

  private void holdFor(Duration duration) {
    if (held == null) held = new ArrayList<>();
    timers.startSingleTimer(ReleaseHeld.INSTANCE, duration);
  }

  /** Runs the held requests in their order; from now on nothing waits. */
  private Behavior<Command> onReleaseHeld() {
    settled = true;
    timers.cancel(ReleaseHeld.INSTANCE);
    List<Command> waiting = held;
    held = null;
    if (waiting != null) {
      for (Command command : waiting) {
        if (command instanceof Post post) onPost(post);
        else if (command instanceof Typing typing) onTyping(typing);
        else if (command instanceof GetOnline get) onGetOnline(get);
      }
    }
    return this;
  }

  private Behavior<Command> onRejoin(Rejoin rejoin) {
    if (rejoin.replyTo() != null) rejoin.replyTo().tell(new NodeFanout.Rejoined(roomId));
    for (Member member : rejoin.members()) ensureMember(member);
    seq = Math.max(seq, rejoin.seq());
    for (User user : rejoin.users()) reportedUsers.putIfAbsent(user.id(), user);
    if (!timers.isTimerActive(SettleRejoins.INSTANCE)) {
      timers.startSingleTimer(SettleRejoins.INSTANCE, REJOIN_SETTLE);
    }
    if (rejoin.replyTo() == null) return onReleaseHeld(); // the predecessor's complete state
    if (!settled) holdFor(REJOIN_GRACE);
    return this;
  }

  /** Users that were in the room before it was rebuilt and have no member now have left. */
  private Behavior<Command> onSettleRejoins() {
    for (User user : reportedUsers.values()) {
      if (!members.isPresent(user.id())) announcePresence(user, false, null);
    }
    reportedUsers.clear();
    return passivateIfEmpty();
  }

  private Behavior<Command> onStop() {
    if (!members.isEmpty()) {
      successor.tell(new Rejoin(List.copyOf(members.members()), seq, members.users(), null));
    }
    if (held != null) held.forEach(successor::tell);
    return Behaviors.stopped();
  }

  /**
   * A request from a connection this incarnation does not know: it joined an earlier one (lost
   * with its node). Take it back without announcing it.
   */
  private Member ensureMember(Member member) {
    Member known = members.get(member.connectionId());
    if (known != null) return known;
    admit(member, false);
    return member;
  }

  private void admit(Member member, boolean announce) {
    getContext().watchWith(member.client(), new MemberStopped(member.connectionId()));
    if (members.add(member) && announce) {
      announcePresence(member.user(), true, member.connectionId());
    }
  }

  private void remove(String connectionId) {
    Member member = members.remove(connectionId, user -> announcePresence(user, false, null));
    if (member != null) getContext().unwatch(member.client());
  }

  /** {@code user_joined} / {@code user_left}, which fan-outs also read to follow presence. */
  private void announcePresence(User user, boolean present, String except) {
    broadcast(present ? "user_joined" : "user_left", ServerFrames.presence(present, roomId, user),
        except, 0, new NodeFanout.PresenceChange(user, present));
  }

  private Behavior<Command> passivateIfEmpty() {
    if (members.isEmpty() && !passivating) {
      passivating = true;
      shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
    }
    return this;
  }

  /** One Deliver per node that hosts members, the same frame bytes for all of them. */
  private void broadcast(
      String type, byte[] frame, String except, long frameSeq, NodeFanout.PresenceChange presence) {
    if (members.isEmpty()) return;
    metrics.broadcasts.increment();
    metrics.frameOut(type).increment();
    NodeFanout.Deliver deliver = new NodeFanout.Deliver(
        roomId, frame, except, frameSeq, presence, System.currentTimeMillis());
    for (ActorRef<NodeFanout.Command> node : members.nodes()) {
      node.tell(deliver);
      (node.path().address().hasLocalScope() ? metrics.fanoutLocal : metrics.fanoutRemote).increment();
    }
  }

  private void reply(Member member, String type, byte[] frame) {
    reply(metrics, member, type, frame);
  }

  private static void reply(ParleyMetrics metrics, Member member, String type, byte[] frame) {
    metrics.frameOut(type).increment();
    member.fanout().tell(new NodeFanout.DeliverTo(member.connectionId(), frame, null, null));
  }

  private static String newMessageId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return Long.toString(System.currentTimeMillis(), 36) + "-"
        + Long.toUnsignedString(random.nextLong(), 36);
  }
}
