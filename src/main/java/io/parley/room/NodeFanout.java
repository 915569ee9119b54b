package io.parley.room;

import io.parley.common.CborSerializable;
import io.parley.ws.Frames;
import io.parley.ws.Outbox;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.http.impl.engine.ws.FrameStart;

/**
 * The last hop of every frame a room sends: one per node, holding the outboxes of the node's
 * connections by room. A room sends one {@link Deliver} per node that hosts members, however many
 * members that node has; this actor wraps the frame once and offers the same frame to each local
 * outbox. Nothing per recipient but the queue offer.
 */
public final class NodeFanout extends AbstractBehavior<NodeFanout.Command> {

  public sealed interface Command {}

  /** A connection's outbox, from its ClientActor when the socket opens. */
  public record Register(String connectionId, Outbox outbox) implements Command {}

  /** The connection closed; {@code rooms} are the rooms it was subscribed to. */
  public record Unregister(String connectionId, Set<String> rooms) implements Command {}

  /** Sent by the ClientActor before it joins, so the room's first frame finds the connection. */
  public record Subscribe(String room, String connectionId) implements Command {}

  public record Unsubscribe(String room, String connectionId) implements Command {}

  /** A room frame for every local subscriber of the room but {@code except} (may be null). */
  public record Deliver(String room, byte[] frame, String except)
      implements Command, CborSerializable {}

  /** A frame for one connection (replies: room_info, ack, online_users, error). */
  public record DeliverTo(String connectionId, byte[] frame) implements Command, CborSerializable {}

  public static Behavior<Command> create() {
    return Behaviors.setup(NodeFanout::new);
  }

  private final Map<String, Outbox> outboxes = new HashMap<>();
  private final Map<String, Map<String, Outbox>> rooms = new HashMap<>();

  private NodeFanout(ActorContext<Command> context) {
    super(context);
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
        .build();
  }

  private Behavior<Command> onDeliver(Deliver deliver) {
    Map<String, Outbox> subscribers = rooms.get(deliver.room());
    if (subscribers == null) return this;
    FrameStart frame = Frames.text(deliver.frame());
    String except = deliver.except();
    for (Map.Entry<String, Outbox> subscriber : subscribers.entrySet()) {
      if (!subscriber.getKey().equals(except)) subscriber.getValue().send(frame);
    }
    return this;
  }

  private Behavior<Command> onDeliverTo(DeliverTo deliver) {
    Outbox outbox = outboxes.get(deliver.connectionId());
    if (outbox != null) outbox.send(Frames.text(deliver.frame()));
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
    Outbox outbox = outboxes.get(subscribe.connectionId());
    if (outbox != null) {
      rooms.computeIfAbsent(subscribe.room(), r -> new HashMap<>())
          .put(subscribe.connectionId(), outbox);
    }
    return this;
  }

  private Behavior<Command> onUnsubscribe(Unsubscribe unsubscribe) {
    unsubscribe(unsubscribe.room(), unsubscribe.connectionId());
    return this;
  }

  private void unsubscribe(String room, String connectionId) {
    Map<String, Outbox> subscribers = rooms.get(room);
    if (subscribers != null && subscribers.remove(connectionId) != null && subscribers.isEmpty()) {
      rooms.remove(room);
    }
  }
}
