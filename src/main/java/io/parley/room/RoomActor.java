package io.parley.room;

import io.parley.common.CborSerializable;
import io.parley.protocol.RequestId;
import io.parley.protocol.ServerFrames;
import io.parley.protocol.User;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
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
   * Members to take over without announcing them, and the last {@code seq} they may have seen:
   * from this room's previous incarnation when it stopped with members left.
   */
  public record Rejoin(List<Member> members, long seq) implements Command {}

  /** Sharding's stop message, on passivation and on hand-off to another node. */
  private enum Stop implements Command { INSTANCE }

  private record MemberStopped(String connectionId) implements Command {}

  public static void initSharding(ActorSystem<?> system) {
    ClusterSharding sharding = ClusterSharding.get(system);
    sharding.init(
        Entity.of(TYPE_KEY, ctx -> create(
                ctx.getEntityId(), ctx.getShard(), sharding.entityRefFor(TYPE_KEY, ctx.getEntityId())))
            .withStopMessage(Stop.INSTANCE));
  }

  /**
   * @param shard where to ask for passivation
   * @param successor this room as sharding reaches it, for {@link Rejoin}
   */
  public static Behavior<Command> create(
      String roomId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      RecipientRef<Command> successor) {
    return Behaviors.setup(ctx -> new RoomActor(ctx, roomId, shard, successor));
  }

  /** The stop message sharding sends; public for tests that act as the shard. */
  public static Command stopMessage() {
    return Stop.INSTANCE;
  }

  private static final class Presence {
    final User user;
    int connections;

    Presence(User user) {
      this.user = user;
    }
  }

  private final String roomId;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final RecipientRef<Command> successor;
  private final Map<String, Member> members = new HashMap<>();
  private final Map<String, Presence> users = new LinkedHashMap<>();
  /** Members per node, by that node's fan-out. */
  private final Map<ActorRef<NodeFanout.Command>, Integer> nodes = new HashMap<>();
  private long seq;
  private boolean passivating;

  private RoomActor(
      ActorContext<Command> context,
      String roomId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      RecipientRef<Command> successor) {
    super(context);
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
        .onMessageEquals(Stop.INSTANCE, this::onStop)
        .build();
  }

  private Behavior<Command> onJoin(Join join) {
    Member member = join.member();
    if (!members.containsKey(member.connectionId())) admit(member, true);
    reply(member, ServerFrames.users(true, roomId, join.id(), userList()));
    return this;
  }

  private Behavior<Command> onLeave(Leave leave) {
    remove(leave.member().connectionId());
    if (leave.id() != null) reply(leave.member(), ServerFrames.ack(leave.id(), roomId));
    return passivateIfEmpty();
  }

  private Behavior<Command> onPost(Post post) {
    Member sender = ensureMember(post.member());
    long messageSeq = ++seq;
    String messageId = newMessageId();
    broadcast(
        ServerFrames.newMessage(
            roomId, messageId, messageSeq, sender.user(), post.content(), post.replyTo()),
        sender.connectionId());
    reply(sender, ServerFrames.messageAck(post.id(), roomId, messageId, messageSeq));
    return this;
  }

  private Behavior<Command> onTyping(Typing typing) {
    Member typer = ensureMember(typing.member());
    broadcast(ServerFrames.userTyping(roomId, typer.user(), typing.typing()), typer.connectionId());
    return this;
  }

  private Behavior<Command> onGetOnline(GetOnline get) {
    Member member = ensureMember(get.member());
    reply(member, ServerFrames.users(false, roomId, get.id(), userList()));
    return this;
  }

  private Behavior<Command> onMemberStopped(MemberStopped stopped) {
    remove(stopped.connectionId());
    return passivateIfEmpty();
  }

  private Behavior<Command> onRejoin(Rejoin rejoin) {
    for (Member member : rejoin.members()) ensureMember(member);
    seq = Math.max(seq, rejoin.seq());
    return this;
  }

  private Behavior<Command> onStop() {
    if (!members.isEmpty()) successor.tell(new Rejoin(List.copyOf(members.values()), seq));
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
    members.put(member.connectionId(), member);
    getContext().watchWith(member.client(), new MemberStopped(member.connectionId()));
    nodes.merge(member.fanout(), 1, Integer::sum);
    Presence presence = users.get(member.user().id());
    if (presence == null) {
      presence = new Presence(member.user());
      users.put(member.user().id(), presence);
      if (announce) {
        broadcast(ServerFrames.presence(true, roomId, member.user()), member.connectionId());
      }
    }
    presence.connections++;
  }

  private void remove(String connectionId) {
    Member member = members.remove(connectionId);
    if (member == null) return;
    getContext().unwatch(member.client());
    if (nodes.merge(member.fanout(), -1, Integer::sum) == 0) nodes.remove(member.fanout());
    Presence presence = users.get(member.user().id());
    if (--presence.connections == 0) {
      users.remove(member.user().id());
      broadcast(ServerFrames.presence(false, roomId, presence.user), null);
    }
  }

  private Behavior<Command> passivateIfEmpty() {
    if (members.isEmpty() && !passivating) {
      passivating = true;
      shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
    }
    return this;
  }

  private void broadcast(byte[] frame, String except) {
    if (nodes.isEmpty()) return;
    NodeFanout.Deliver deliver = new NodeFanout.Deliver(roomId, frame, except);
    for (ActorRef<NodeFanout.Command> node : nodes.keySet()) node.tell(deliver);
  }

  private static void reply(Member member, byte[] frame) {
    member.fanout().tell(new NodeFanout.DeliverTo(member.connectionId(), frame));
  }

  private List<User> userList() {
    List<User> list = new ArrayList<>(users.size());
    for (Presence presence : users.values()) list.add(presence.user);
    return list;
  }

  private static String newMessageId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return Long.toString(System.currentTimeMillis(), 36) + "-"
        + Long.toUnsignedString(random.nextLong(), 36);
  }
}
