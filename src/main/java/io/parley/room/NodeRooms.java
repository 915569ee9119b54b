package io.parley.room;

import io.parley.common.CborSerializable;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.ServerFrames;
import io.parley.protocol.User;
import io.parley.ws.OutFrame;
import io.parley.ws.Outbox;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One per node: the node's member of every room its connections are in, and the only actor a
 * room talks to. It owns the node's side of membership (which connection is in which room), sends
 * the rooms its connections' requests and each user's number of connections, and fans each room
 * frame out to the local members' outboxes: one {@link Deliver} per node from the room, then only
 * a queue offer per recipient.
 *
 * <p>Per room it holds a link to the room's current incarnation. With none (the room never ran
 * here, stopped, or moved after a node loss or a hand-off) requests wait and the room is woken
 * through sharding ({@link RoomActor.Wake}); the room answers {@link Hello}, and the node sends
 * its {@link RoomActor.Snapshot} and then the waiting requests, directly and in order. A request
 * stays pending until the room answers it; when the incarnation stops first, it goes to the next
 * one. A request that finds no incarnation within the request timeout gets UNAVAILABLE.
 */
public final class NodeRooms extends AbstractBehavior<NodeRooms.Command> {

  /** The actor's name under /user on every node; rooms find a node's NodeRooms by it. */
  public static final String NAME = "node-rooms";

  public sealed interface Command {}

  /** What a connection's ClientActor sends. */
  public sealed interface ClientCommand extends Command {}

  /** What rooms send, across nodes. */
  public sealed interface RoomEvent extends Command, CborSerializable {}

  /** A socket opened: its user and outbox. */
  public record Connect(String connectionId, User user, Outbox outbox) implements ClientCommand {}

  /** The socket closed: the connection leaves every room. */
  public record Disconnect(String connectionId) implements ClientCommand {}

  /** A room request of a connection: join, leave, send, typing, online users. */
  public record Request(String connectionId, ClientRequest request) implements ClientCommand {}

  /**
   * The room's incarnation greets the node: answer with a snapshot, then talk to it directly.
   * {@code epoch} is its log's: seqs of another epoch are another count.
   */
  public record Hello(String room, ActorRef<RoomActor.Command> incarnation, String epoch) implements RoomEvent {}

  /** The room cannot be hosted: its requests get {@code code} and its members are dropped. */
  public record Refused(String room, ErrorCode code, String message) implements RoomEvent {}

  /**
   * A room frame for every local member of the room that has had its {@code room_info}, but
   * {@code except} (may be null). {@code seq} is the message's seq (0 for other frames);
   * {@code presence} is set when the frame announces a user arriving or leaving; {@code sentAt}
   * is when the room sent it (epoch milliseconds); {@code reply}, when set, answers a request of
   * this node (the ack of a message travels with the message).
   */
  public record Deliver(String room, byte[] frame, String except, long seq,
      PresenceChange presence, long sentAt, Reply reply) implements RoomEvent {
    Deliver withReply(Reply answer) {
      return new Deliver(room, frame, except, seq, presence, sentAt, answer);
    }
  }

  /** The answer to request {@code ref} of a connection. */
  public record Reply(String room, long ref, String connectionId, byte[] frame) implements RoomEvent {}

  /**
   * The answer to a join: the connection's {@code room_info}, the room's users, and the stored
   * messages to replay to it (oldest first), which are never dropped.
   */
  public record Joined(String room, long ref, String connectionId, byte[] roomInfo, List<User> users,
      List<byte[]> replay) implements RoomEvent {}

  public record PresenceChange(User user, boolean present) {}

  private enum Tick implements Command { INSTANCE }

  /**
   * @param roomsPerConnection rooms one connection may be in (TOO_MANY_ROOMS beyond)
   * @param requestTimeout how long a request waits for an incarnation before UNAVAILABLE
   * @param wakeInterval how often an unanswered Wake is repeated (sharding may lose it while a
   *     room moves)
   */
  public record Settings(int roomsPerConnection, Duration requestTimeout, Duration wakeInterval) {}

  public static Behavior<Command> create(
      Function<String, RecipientRef<RoomActor.Command>> rooms, Settings settings, LongSupplier nanoClock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(
        timers -> new NodeRooms(ctx, timers, rooms, settings, nanoClock)));
  }

  /** The NodeRooms of the node at {@code address} (it runs under the same name everywhere). */
  public static ActorRef<RoomEvent> at(ActorSystem<?> system, Address address) {
    return ActorRefResolver.get(system).resolveActorRef(address + "/user/" + NAME);
  }

  private static final class Connection {
    final String id;
    final User user;
    final Outbox outbox;
    final Set<String> rooms = new HashSet<>();

    Connection(String id, User user, Outbox outbox) {
      this.id = id;
      this.user = user;
      this.outbox = outbox;
    }
  }

  /** A request on its way to the room, until answered. */
  private static final class Pending {
    final long ref;
    final Connection connection;
    final ClientRequest request;
    final String messageId;
    final long queuedAt;
    boolean sent;

    Pending(long ref, Connection connection, ClientRequest request, String messageId, long queuedAt) {
      this.ref = ref;
      this.connection = connection;
      this.request = request;
      this.messageId = messageId;
      this.queuedAt = queuedAt;
    }
  }

  /** This node's side of one room. */
  private static final class Link {
    final String room;
    /** The room's current incarnation, or null while waking it. */
    ActorRef<RoomActor.Command> incarnation;
    /** The epoch of the room's log that {@link #lastSeq} counts in. */
    String epoch;
    long wokeAt;
    final Map<String, Connection> members = new HashMap<>();
    /** Members that have had their room_info: they get the room's frames. */
    final Map<String, Outbox> receiving = new HashMap<>();
    /** Connections per user, members only. */
    final Map<String, Integer> connections = new HashMap<>();
    /** The room's users as last announced to this node. */
    final Map<String, User> seen = new LinkedHashMap<>();
    /** In the order they were made; requests are sent in that order. */
    final Map<Long, Pending> pending = new LinkedHashMap<>();
    long lastSeq;

    Link(String room) {
      this.room = room;
    }

    int connectionsOf(User user) {
      return connections.getOrDefault(user.id(), 0);
    }

    List<UserCount> counts() {
      Map<String, UserCount> counts = new LinkedHashMap<>();
      for (Connection member : members.values()) {
        counts.computeIfAbsent(member.user.id(), id -> new UserCount(member.user, connectionsOf(member.user)));
      }
      return List.copyOf(counts.values());
    }
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final Function<String, RecipientRef<RoomActor.Command>> roomRefs;
  private final Settings settings;
  private final LongSupplier nanoClock;
  private final ParleyMetrics metrics;
  private final ActorRef<RoomEvent> self;
  private final Map<String, Connection> connections = new HashMap<>();
  private final Map<String, Link> rooms = new HashMap<>();
  private final Map<ActorRef<RoomActor.Command>, Link> byIncarnation = new HashMap<>();
  /** Links without an incarnation, being woken. */
  private final Set<Link> waking = new HashSet<>();
  private long nextRef;

  private NodeRooms(ActorContext<Command> context, TimerScheduler<Command> timers,
      Function<String, RecipientRef<RoomActor.Command>> roomRefs, Settings settings, LongSupplier nanoClock) {
    super(context);
    this.context = context;
    this.timers = timers;
    this.roomRefs = roomRefs;
    this.settings = settings;
    this.nanoClock = nanoClock;
    this.metrics = ParleyMetrics.get(context.getSystem());
    this.self = context.getSelf().narrow();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(Reply.class, this::onReply)
        .onMessage(Request.class, this::onRequest)
        .onMessage(Joined.class, this::onJoined)
        .onMessage(Connect.class, this::onConnect)
        .onMessage(Disconnect.class, this::onDisconnect)
        .onMessage(Hello.class, this::onHello)
        .onMessage(Refused.class, this::onRefused)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onSignal(Terminated.class, this::onIncarnationStopped)
        .build();
  }

  // ---- connections ------------------------------------------------------------------------------

  private Behavior<Command> onConnect(Connect connect) {
    connections.put(connect.connectionId(), new Connection(connect.connectionId(), connect.user(), connect.outbox()));
    return this;
  }

  private Behavior<Command> onDisconnect(Disconnect disconnect) {
    Connection connection = connections.remove(disconnect.connectionId());
    if (connection != null) {
      for (String room : List.copyOf(connection.rooms)) leave(rooms.get(room), connection);
    }
    return this;
  }

  private Behavior<Command> onRequest(Request request) {
    Connection connection = connections.get(request.connectionId());
    if (connection == null) return this;
    ClientRequest req = request.request();
    String room = req.room();
    if (req instanceof ClientRequest.JoinRoom join) {
      join(connection, join);
    } else if (req instanceof ClientRequest.LeaveRoom) {
      if (connection.rooms.contains(room)) leave(rooms.get(room), connection);
      if (req.id() != null) reply(connection, "ack", ServerFrames.ack(req.id(), room));
    } else if (!connection.rooms.contains(room)) {
      error(connection, req.id(), room, ErrorCode.NOT_IN_ROOM, "join the room first");
    } else if (req instanceof ClientRequest.Typing typing) {
      Link link = rooms.get(room);
      if (link.incarnation != null) {
        link.incarnation.tell(new RoomActor.Typing(self, connection.id, connection.user, typing.typing()));
      }
    } else {
      submit(rooms.get(room), connection, req);
    }
    return this;
  }

  /**
   * A join; one that the connection already made answers {@code room_info} again and replays
   * nothing (the {@code history} request reads back).
   */
  private void join(Connection connection, ClientRequest.JoinRoom join) {
    String room = join.room();
    if (connection.rooms.contains(room)) {
      submit(rooms.get(room), connection, new ClientRequest.JoinRoom(join.id(), room));
      return;
    }
    if (connection.rooms.size() >= settings.roomsPerConnection()) {
      error(connection, join.id(), room, ErrorCode.TOO_MANY_ROOMS,
          "at most " + settings.roomsPerConnection() + " rooms per connection");
      return;
    }
    Link link = rooms.computeIfAbsent(room, Link::new);
    connection.rooms.add(room);
    link.members.put(connection.id, connection);
    link.connections.merge(connection.user.id(), 1, Integer::sum);
    submit(link, connection, join);
  }

  /**
   * The connection leaves the room: the room hears its user's new count, and its requests that
   * have not reached the room are withdrawn (UNAVAILABLE, when it is still connected).
   */
  private void leave(Link link, Connection connection) {
    connection.rooms.remove(link.room);
    link.members.remove(connection.id);
    link.receiving.remove(connection.id);
    int left = link.connections.merge(connection.user.id(), -1, Integer::sum);
    if (left <= 0) link.connections.remove(connection.user.id());
    link.pending.values().removeIf(pending -> {
      if (pending.sent || pending.connection != connection) return false;
      unavailable(pending, link.room);
      return true;
    });
    if (link.incarnation != null) {
      link.incarnation.tell(new RoomActor.Presence(self, connection.user, Math.max(left, 0)));
    }
    dropIfDone(link);
  }

  // ---- requests and the room's incarnation ------------------------------------------------------

  private void submit(Link link, Connection connection, ClientRequest request) {
    String messageId = request instanceof ClientRequest.SendMessage ? MessageIds.next() : null;
    Pending pending = new Pending(++nextRef, connection, request, messageId, nanoClock.getAsLong());
    link.pending.put(pending.ref, pending);
    if (link.incarnation != null) send(link, pending);
    else wake(link);
  }

  private void send(Link link, Pending pending) {
    pending.sent = true;
    Connection c = pending.connection;
    ClientRequest request = pending.request;
    RoomActor.Command command;
    if (request instanceof ClientRequest.JoinRoom join) {
      command = new RoomActor.Join(self, pending.ref, c.id, c.user, link.connectionsOf(c.user), join.id(),
          join.history(), join.since());
    } else if (request instanceof ClientRequest.SendMessage message) {
      command = new RoomActor.Post(self, pending.ref, c.id, c.user, request.id(), pending.messageId,
          message.content(), message.replyTo());
    } else if (request instanceof ClientRequest.History read) {
      command = new RoomActor.GetHistory(self, pending.ref, c.id, read.id(), read.before(), read.after(), read.limit());
    } else {
      command = new RoomActor.GetOnline(self, pending.ref, c.id, request.id());
    }
    link.incarnation.tell(command);
  }

  /** Wakes the room through sharding, and keeps at it (the tick) until it says Hello. */
  private void wake(Link link) {
    if (waking.add(link)) {
      link.wokeAt = nanoClock.getAsLong();
      roomRefs.apply(link.room).tell(new RoomActor.Wake(self));
      if (!timers.isTimerActive(Tick.INSTANCE)) {
        timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.wakeInterval());
      }
    }
  }

  private Behavior<Command> onHello(Hello hello) {
    Link link = rooms.get(hello.room());
    if (link == null) {
      hello.incarnation().tell(new RoomActor.Snapshot(self, List.of(), 0, List.of()));
      return this;
    }
    if (!hello.incarnation().equals(link.incarnation)) {
      forgetIncarnation(link);
      link.incarnation = hello.incarnation();
      byIncarnation.put(link.incarnation, link);
      context.watch(link.incarnation);
      waking.remove(link);
    }
    if (!hello.epoch().equals(link.epoch)) { // a new log: its seqs count from 1
      link.epoch = hello.epoch();
      link.lastSeq = 0;
    }
    link.incarnation.tell(new RoomActor.Snapshot(
        self, link.counts(), link.lastSeq, List.copyOf(link.seen.values())));
    for (Pending pending : link.pending.values()) if (!pending.sent) send(link, pending);
    return this;
  }

  /** The incarnation stopped (moved, passivated, or its node died): the next one gets the requests. */
  private Behavior<Command> onIncarnationStopped(Terminated stopped) {
    Link link = byIncarnation.get(stopped.getRef());
    if (link == null) return this;
    forgetIncarnation(link);
    if (link.members.isEmpty()) {
      link.pending.values().forEach(pending -> unavailable(pending, link.room));
      link.pending.clear();
      rooms.remove(link.room);
    } else {
      wake(link);
    }
    return this;
  }

  private void forgetIncarnation(Link link) {
    if (link.incarnation == null) return;
    byIncarnation.remove(link.incarnation);
    context.unwatch(link.incarnation);
    link.incarnation = null;
    for (Pending pending : link.pending.values()) pending.sent = false;
  }

  /** While rooms are being woken: repeat their Wakes, and answer requests that waited too long. */
  private Behavior<Command> onTick() {
    long now = nanoClock.getAsLong();
    for (Link link : List.copyOf(waking)) {
      List<Pending> expired = link.pending.values().stream()
          .filter(pending -> now - pending.queuedAt >= settings.requestTimeout().toNanos())
          .toList();
      for (Pending pending : expired) {
        if (link.pending.remove(pending.ref) == null) continue; // already answered: its join timed out first
        unavailable(pending, link.room);
        if (pending.request instanceof ClientRequest.JoinRoom && link.members.containsKey(pending.connection.id)) {
          leave(link, pending.connection);
        }
      }
      dropIfDone(link);
      if (waking.contains(link) && now - link.wokeAt >= settings.wakeInterval().toNanos()) {
        link.wokeAt = now;
        roomRefs.apply(link.room).tell(new RoomActor.Wake(self));
      }
    }
    if (waking.isEmpty()) timers.cancel(Tick.INSTANCE);
    return this;
  }

  /**
   * The room cannot be hosted: its requests get the room's error, and members that have no
   * request of their own waiting hear it too (without an id), since they are members no more.
   */
  private Behavior<Command> onRefused(Refused refused) {
    Link link = rooms.remove(refused.room());
    if (link == null) return this;
    waking.remove(link);
    Set<Connection> told = new HashSet<>();
    for (Pending pending : link.pending.values()) {
      error(pending.connection, pending.request.id(), link.room, refused.code(), refused.message());
      told.add(pending.connection);
    }
    for (Connection member : link.members.values()) {
      member.rooms.remove(link.room);
      if (told.add(member) && connections.get(member.id) == member) {
        error(member, null, link.room, refused.code(), refused.message());
      }
    }
    return this;
  }

  /** A link with no members and nothing pending is forgotten; its room has heard the last count. */
  private void dropIfDone(Link link) {
    if (!link.members.isEmpty() || !link.pending.isEmpty()) return;
    rooms.remove(link.room);
    waking.remove(link);
    if (link.incarnation != null) {
      byIncarnation.remove(link.incarnation);
      context.unwatch(link.incarnation);
    }
  }

  // ---- what rooms send --------------------------------------------------------------------------

  private Behavior<Command> onDeliver(Deliver deliver) {
    Link link = rooms.get(deliver.room());
    if (link != null && (deliver.seq() == 0 || deliver.seq() > link.lastSeq)) {
      if (deliver.seq() > 0) link.lastSeq = deliver.seq();
      PresenceChange change = deliver.presence();
      if (change != null) {
        if (change.present()) link.seen.put(change.user().id(), change.user());
        else link.seen.remove(change.user().id());
      }
      fanOut(link, deliver);
    }
    if (deliver.reply() != null) onReply(deliver.reply());
    return this;
  }

  private void fanOut(Link link, Deliver deliver) {
    OutFrame frame = OutFrame.text(deliver.frame());
    String except = deliver.except();
    int sent = 0;
    for (Map.Entry<String, Outbox> member : link.receiving.entrySet()) {
      if (!member.getKey().equals(except)) {
        member.getValue().send(frame);
        sent++;
      }
    }
    metrics.deliveries.increment(sent);
    if (deliver.seq() > 0) {
      metrics.broadcastLatency.record(
          Math.max(0, System.currentTimeMillis() - deliver.sentAt()), TimeUnit.MILLISECONDS);
    }
  }

  /** An answer; to a join, it is an error (the room could not take it): no membership then. */
  private Behavior<Command> onReply(Reply reply) {
    Link link = rooms.get(reply.room());
    Pending pending = link == null ? null : link.pending.get(reply.ref());
    Connection connection = connections.get(reply.connectionId());
    if (!answered(reply.room(), reply.ref()) || connection == null) return this;
    send(connection, reply.frame());
    if (pending.request instanceof ClientRequest.JoinRoom && link.members.containsKey(connection.id)) {
      leave(link, connection);
    }
    return this;
  }

  private Behavior<Command> onJoined(Joined joined) {
    if (!answered(joined.room(), joined.ref())) return this;
    Link link = rooms.get(joined.room());
    Connection connection = connections.get(joined.connectionId());
    if (link != null) {
      link.seen.clear();
      joined.users().forEach(user -> link.seen.put(user.id(), user));
      if (connection != null && link.members.containsKey(connection.id)) {
        link.receiving.put(connection.id, connection.outbox);
      }
    }
    if (connection != null) {
      send(connection, joined.roomInfo());
      if (!joined.replay().isEmpty()) {
        List<OutFrame> replay = new ArrayList<>(joined.replay().size());
        for (byte[] message : joined.replay()) replay.add(OutFrame.text(message));
        connection.outbox.replay(replay);
        metrics.deliveries.increment(replay.size());
      }
    }
    return this;
  }

  /**
   * Whether request {@code ref} was still waiting for its answer. A request is answered once: a
   * second answer (from a new incarnation it was sent to again, or after an error) is dropped.
   */
  private boolean answered(String room, long ref) {
    Link link = rooms.get(room);
    if (link == null || link.pending.remove(ref) == null) return false;
    dropIfDone(link);
    return true;
  }

  // ---- frames to one connection -----------------------------------------------------------------

  private void unavailable(Pending pending, String room) {
    if (connections.get(pending.connection.id) == pending.connection) {
      error(pending.connection, pending.request.id(), room, ErrorCode.UNAVAILABLE,
          "the room is not reachable now (it may be moving to another node); try again");
    }
  }

  private void error(Connection connection, RequestId id, String room, ErrorCode code, String message) {
    reply(connection, "error", ServerFrames.error(id, room, code, message));
  }

  private void reply(Connection connection, String type, byte[] frame) {
    metrics.frameOut(type).increment();
    send(connection, frame);
  }

  /** An answer to one of the connection's requests: never dropped by its outgoing buffer. */
  private void send(Connection connection, byte[] frame) {
    connection.outbox.reply(OutFrame.text(frame));
    metrics.deliveries.increment();
  }
}
