package io.parley.room;

import io.parley.common.CborSerializable;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.User;
import io.parley.ws.OutFrame;
import io.parley.ws.Outbox;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The last hop of every frame a room sends: one per node, holding the outboxes of the node's
 * connections by room. A room sends one {@link Deliver} per node that hosts members, however many
 * members that node has; this actor wraps the frame once and offers the same frame to each local
 * outbox. Nothing per recipient but the queue offer.
 *
 * <p>It also remembers, per room, its local members, the last {@code seq} it delivered and the
 * room's presence as the room announced it. When another node leaves the cluster (crash or
 * graceful), the rooms that lived there restart elsewhere with no members; so this actor sends
 * every room it has members in a {@link RoomActor.Rejoin}, which restores them, continues the
 * {@code seq} and lets the room announce the users that left with that node.
 */
public final class NodeFanout extends AbstractBehavior<NodeFanout.Command> {

  public sealed interface Command {}

  /** A connection's outbox, from its ClientActor when the socket opens. */
  public record Register(String connectionId, Outbox outbox) implements Command {}

  /** The connection closed; {@code rooms} are the rooms it was subscribed to. */
  public record Unregister(String connectionId, Set<String> rooms) implements Command {}

  /**
   * Sent by the ClientActor before it joins. The connection gets the room's frames from its
   * {@code room_info} on: frames the room sent before it took the join are not the joiner's.
   */
  public record Subscribe(String room, Member member) implements Command {}

  public record Unsubscribe(String room, String connectionId) implements Command {}

  /**
   * A room frame for every local subscriber of the room but {@code except} (may be null).
   * {@code seq} is the message's seq (0 for other frames); {@code presence} is set when the
   * frame announces a user arriving or leaving; {@code sentAt} is when the room sent it (epoch
   * milliseconds, for the broadcast latency).
   */
  public record Deliver(
      String room, byte[] frame, String except, long seq, PresenceChange presence, long sentAt)
      implements Command, CborSerializable {}

  public record PresenceChange(User user, boolean present) implements CborSerializable {}

  /**
   * A frame for one connection (replies: room_info, ack, online_users, error). A {@code room_info}
   * also carries the room's users, as {@code room} and {@code users}; otherwise both are null.
   */
  public record DeliverTo(String connectionId, byte[] frame, String room, List<User> users)
      implements Command, CborSerializable {}

  /** Another node left the cluster: re-assert this node's members in every room. */
  public enum NodeLeft implements Command { INSTANCE }

  /** A room took this node's {@link RoomActor.Rejoin}. */
  public record Rejoined(String room) implements Command, CborSerializable {}

  private enum RetryRejoins implements Command { INSTANCE }

  /**
   * A Rejoin sent while sharding still routes to the removed node is lost, so it is repeated
   * until the room acknowledges it, at most {@link #REJOIN_ATTEMPTS} times.
   */
  static final Duration REJOIN_RETRY = Duration.ofMillis(500);
  static final int REJOIN_ATTEMPTS = 20;

  public static Behavior<Command> create(Function<String, RecipientRef<RoomActor.Command>> rooms) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new NodeFanout(ctx, timers, rooms)));
  }

  /** What this node knows of one room. */
  private static final class LocalRoom {
    final Map<String, Outbox> outboxes = new HashMap<>();
    /** Subscribed connections waiting for their room_info. */
    final Map<String, Outbox> joining = new HashMap<>();
    final Map<String, Member> members = new HashMap<>();
    final Map<String, User> users = new LinkedHashMap<>();
    long seq;
  }

  private final TimerScheduler<Command> timers;
  private final Function<String, RecipientRef<RoomActor.Command>> roomRefs;
  private final ParleyMetrics metrics;
  private final Map<String, Outbox> outboxes = new HashMap<>();
  private final Map<String, LocalRoom> rooms = new HashMap<>();
  /** Rooms whose Rejoin is not acknowledged yet, with the attempts left. */
  private final Map<String, Integer> unacknowledged = new HashMap<>();

  private NodeFanout(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      Function<String, RecipientRef<RoomActor.Command>> roomRefs) {
    super(context);
    this.timers = timers;
    this.roomRefs = roomRefs;
    this.metrics = ParleyMetrics.get(context.getSystem());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(DeliverTo.class, this::onDeliverTo)
        .onMessage(Register.class, this::onRegister)
        .onMessage(Unregister.class, this::onUnregister)
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(Unsubscribe.class, this::onUnsubscribe)
        .onMessageEquals(NodeLeft.INSTANCE, this::onNodeLeft)
        .onMessage(Rejoined.class, this::onRejoined)
        .onMessageEquals(RetryRejoins.INSTANCE, this::onRetryRejoins)
        .build();
  }

  private Behavior<Command> onDeliver(Deliver deliver) {
    LocalRoom room = rooms.get(deliver.room());
    if (room == null) return this;
    if (deliver.seq() > room.seq) room.seq = deliver.seq();
    PresenceChange presence = deliver.presence();
    if (presence != null) {
      if (presence.present()) room.users.put(presence.user().id(), presence.user());
      else room.users.remove(presence.user().id());
    }
    OutFrame frame = OutFrame.text(deliver.frame());
    String except = deliver.except();
    int sent = 0;
    for (Map.Entry<String, Outbox> subscriber : room.outboxes.entrySet()) {
      if (!subscriber.getKey().equals(except)) {
        subscriber.getValue().send(frame);
        sent++;
      }
    }
    metrics.deliveries.increment(sent);
    if (deliver.seq() > 0) {
      metrics.broadcastLatency.record(
          Math.max(0, System.currentTimeMillis() - deliver.sentAt()), TimeUnit.MILLISECONDS);
    }
    return this;
  }

  private Behavior<Command> onDeliverTo(DeliverTo deliver) {
    if (deliver.users() != null) {
      LocalRoom room = rooms.get(deliver.room());
      if (room != null) {
        room.users.clear();
        deliver.users().forEach(user -> room.users.put(user.id(), user));
        Outbox joined = room.joining.remove(deliver.connectionId());
        if (joined != null) room.outboxes.put(deliver.connectionId(), joined);
      }
    }
    Outbox outbox = outboxes.get(deliver.connectionId());
    if (outbox != null) {
      outbox.send(OutFrame.text(deliver.frame()));
      metrics.deliveries.increment();
    }
    return this;
  }

  private Behavior<Command> onRegister(Register register) {
    outboxes.put(register.connectionId(), register.outbox());
    return this;
  }

  private Behavior<Command> onUnregister(Unregister unregister) {
    outboxes.remove(unregister.connectionId());
    for (String room : unregister.rooms()) unsubscribe(room, unregister.connectionId());
    return this;
  }

  private Behavior<Command> onSubscribe(Subscribe subscribe) {
    String connectionId = subscribe.member().connectionId();
    Outbox outbox = outboxes.get(connectionId);
    if (outbox != null) {
      LocalRoom room = rooms.computeIfAbsent(subscribe.room(), r -> new LocalRoom());
      if (!room.outboxes.containsKey(connectionId)) room.joining.put(connectionId, outbox);
      room.members.put(connectionId, subscribe.member());
    }
    return this;
  }

  private Behavior<Command> onUnsubscribe(Unsubscribe unsubscribe) {
    unsubscribe(unsubscribe.room(), unsubscribe.connectionId());
    return this;
  }

  private void unsubscribe(String roomId, String connectionId) {
    LocalRoom room = rooms.get(roomId);
    if (room == null) return;
    room.outboxes.remove(connectionId);
    room.joining.remove(connectionId);
    room.members.remove(connectionId);
    if (room.members.isEmpty()) rooms.remove(roomId);
  }

  private Behavior<Command> onNodeLeft() {
    getContext().getLog().info("a node left: re-asserting this node's members in {} rooms", rooms.size());
    for (String room : rooms.keySet()) unacknowledged.put(room, REJOIN_ATTEMPTS);
    return onRetryRejoins();
  }

  private Behavior<Command> onRejoined(Rejoined rejoined) {
    unacknowledged.remove(rejoined.room());
    if (unacknowledged.isEmpty()) timers.cancel(RetryRejoins.INSTANCE);
    return this;
  }

  private Behavior<Command> onRetryRejoins() {
    unacknowledged.entrySet().removeIf(pending -> {
      LocalRoom room = rooms.get(pending.getKey());
      if (room == null || pending.getValue() == 0) return true;
      pending.setValue(pending.getValue() - 1);
      roomRefs.apply(pending.getKey()).tell(new RoomActor.Rejoin(
          List.copyOf(room.members.values()), room.seq, List.copyOf(room.users.values()),
          getContext().getSelf()));
      return false;
    });
    if (unacknowledged.isEmpty()) timers.cancel(RetryRejoins.INSTANCE);
    else if (!timers.isTimerActive(RetryRejoins.INSTANCE)) {
      timers.startTimerWithFixedDelay(RetryRejoins.INSTANCE, REJOIN_RETRY);
    }
    return this;
  }
}
