package io.parley.room;

import io.parley.common.CborSerializable;
import io.parley.history.RoomLog;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.ServerFrames;
import io.parley.protocol.User;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One room: a Cluster Sharding entity keyed by room id. Its members are nodes, not connections:
 * each node's {@link NodeRooms} reports how many connections each of its users has in the room,
 * sends the requests of its connections, and fans the room's frames out to them. The room owns
 * presence (a user is present while any node has a connection of theirs), the single message
 * order ({@code seq}), its durable log ({@link RoomLog}) and its broadcasts, each rendered here
 * once and sent once per node.
 *
 * <p>A new incarnation starts in phases ({@link RoomStart}): a place on this node, its log, then
 * a snapshot from every node. From the snapshots it learns who is here and what the nodes last
 * saw of an earlier incarnation (after a node loss or a hand-off): it announces once who arrived
 * and who left meanwhile, and sends each node the stored messages it missed. Then it runs: a
 * message gets the next seq, is stored, and only then is delivered and acknowledged. While the
 * store cannot be reached the room is {@code unavailable}: what needs the log is answered
 * UNAVAILABLE until the log reads again. It watches each node that hosts members (one watch per
 * node, however many connections) and stops when no node has members left.
 *
 * <p>The server API reaches the room through sharding ({@link ApiCommand}, answered with an {@link
 * ApiReply}): a {@link Publish} is stored and delivered exactly as a member's {@link Post}, to
 * every connection of the room, members or not; {@link ReadHistory} and {@link ListUsers} read
 * as members do. A room needs no members to be published to: it stays {@code idleFor} after its
 * last message.
 */
public final class RoomActor extends AbstractBehavior<RoomActor.Command> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "room");

  public sealed interface Command extends CborSerializable {}

  /** A request of a node's connection, answered to that node (by {@code ref}). */
  public sealed interface Request extends Command {
    ActorRef<NodeRooms.RoomEvent> node();

    long ref();

    String connectionId();

    RequestId id();
  }

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
   * that node, this one included. {@code history} and {@code since} ask for a replay (a
   * connection that was already a member asks for none). Answered with {@link NodeRooms.Joined}.
   */
  public record Join(
      ActorRef<NodeRooms.RoomEvent> node, long ref, String connectionId, User user,
      int connections, RequestId id, int history, ClientRequest.Since since) implements Request {}

  /** A user's connections on that node changed (a leave or a disconnect); 0: none left there. */
  public record Presence(ActorRef<NodeRooms.RoomEvent> node, User user, int connections)
      implements Command {}

  /** A message; {@code messageId} is chosen by the node. Answered with an {@code ack}. */
  public record Post(
      ActorRef<NodeRooms.RoomEvent> node, long ref, String connectionId, User user, RequestId id,
      String messageId, String content, String replyTo) implements Request {}

  public record Typing(
      ActorRef<NodeRooms.RoomEvent> node, String connectionId, User user, boolean typing)
      implements Command {}

  /** Answered with {@code online_users}. */
  public record GetOnline(
      ActorRef<NodeRooms.RoomEvent> node, long ref, String connectionId, RequestId id)
      implements Request {}

  /** Answered with {@code history}: kept messages before or after a seq, or the newest. */
  public record GetHistory(
      ActorRef<NodeRooms.RoomEvent> node, long ref, String connectionId, RequestId id,
      Long before, Long after, int limit) implements Request, HistoryQuery {}

  /** A call of the server API, sent through sharding; answered once, with an {@link ApiReply}. */
  public sealed interface ApiCommand extends Command {
    ActorRef<ApiReply> replyTo();
  }

  /**
   * Publishes {@code payload} (a JSON object, delivered as given) from {@code sender}: stored and
   * delivered as a member's {@link Post}, answered with {@link Published} once stored. A repeat of
   * its {@code idempotencyKey} (or null) within the log's window answers the first result and
   * stores nothing. One that reaches the room after {@code deadline} (epoch milliseconds: its
   * caller has given up; the nodes' clocks are taken to agree within a second or so) is refused
   * unstored.
   */
  public record Publish(String payload, User sender, String idempotencyKey, long deadline,
      ActorRef<ApiReply> replyTo) implements ApiCommand {}

  /** Answered with a {@link HistoryPage}: as {@link GetHistory}, for the server API. */
  public record ReadHistory(Long before, Long after, int limit, ActorRef<ApiReply> replyTo)
      implements ApiCommand, HistoryQuery {}

  /** Answered with {@link Users}: the room's distinct users. */
  public record ListUsers(ActorRef<ApiReply> replyTo) implements ApiCommand {}

  /** What the room answers an {@link ApiCommand}. */
  public sealed interface ApiReply extends CborSerializable {}

  public record Published(String messageId, long seq, String epoch) implements ApiReply {}

  /** Kept messages (rendered {@code new_message} frames), oldest first; {@code seq}: the room's latest. */
  public record HistoryPage(String epoch, long seq, List<byte[]> messages) implements ApiReply {}

  public record Users(List<User> users) implements ApiReply {}

  /** The call could not be served now (UNAVAILABLE); nothing was stored or sent. */
  public record Failed(ErrorCode code, String message) implements ApiReply {}

  /** What a history read asks, from a member or from the server API. */
  private sealed interface HistoryQuery permits GetHistory, ReadHistory {
    Long before();

    Long after();

    int limit();
  }

  /** Sharding's stop message, on passivation and on hand-off to another node. */
  enum Stop implements Command { INSTANCE }

  record Hosted(boolean admitted) implements Command {}

  enum GatherTimeout implements Command { INSTANCE }

  record Loaded(RoomLog.Room room) implements Command {}

  record LoadFailed(String reason) implements Command {}

  enum Reload implements Command { INSTANCE }

  private enum Idle implements Command { INSTANCE }

  private record Stored(long seq) implements Command {}

  private record NotStored(long seq, String reason) implements Command {}

  /** Messages read from the log for a join that asked to recover from {@code since}. */
  private record Recovered(Join join, List<RoomLog.Message> messages, String failure) implements Command {}

  private record HistoryRead(HistoryQuery query, List<RoomLog.Message> messages, String failure) implements Command {}

  /** What the log knows of an idempotency key: the first publish with it, if any. */
  private record KeyLookedUp(String key, Optional<RoomLog.Published> found, String failure) implements Command {}

  /** A message given its seq and frame, waiting for the log; a member's {@code post} or a {@code publish}. */
  private record Storing(RoomLog.Message message, Post post, Publish publish) {}

  private static final String STORE_DOWN = "the room's storage cannot be reached; nothing was stored or sent, try again";

  /**
   * What every room of a node uses of it.
   *
   * @param nodes the {@link NodeRooms} of every reachable cluster member, this node's included
   * @param gatherTimeout how long a new incarnation waits for the nodes' snapshots
   * @param cacheSize how many of its newest messages a room keeps in memory
   * @param idleFor how long a room with no members waits before it stops
   */
  public record Site(
      ActorRef<HostedRooms.Command> hosted,
      Supplier<Collection<ActorRef<NodeRooms.RoomEvent>>> nodes,
      RoomLog log,
      Duration gatherTimeout,
      int cacheSize,
      Duration idleFor) {}

  private static final int STASH_CAPACITY = 10_000;

  public static void initSharding(ClusterSharding sharding, Site site) {
    sharding.init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), ctx.getShard(), site))
        .withStopMessage(Stop.INSTANCE));
  }

  /** The stop message sharding sends; public for tests that act as the shard. */
  public static Command stopMessage() {
    return Stop.INSTANCE;
  }

  /** @param shard where the room asks to be passivated */
  public static Behavior<Command> create(
      String roomId, ActorRef<ClusterSharding.ShardCommand> shard, Site site) {
    return Behaviors.withMdc(Command.class, Map.of("room", roomId), Behaviors.setup(ctx ->
        Behaviors.withStash(STASH_CAPACITY, stash -> Behaviors.withTimers(timers -> {
          site.hosted().tell(new HostedRooms.Host(
              ctx.getSelf(), ctx.messageAdapter(Boolean.class, Hosted::new)));
          return new RoomStart(ctx, stash, timers, roomId, shard, site).awaitingHost();
        }))));
  }

  /** Reads the room's log; the answer comes as {@link Loaded} or {@link LoadFailed}. */
  static void load(ActorContext<Command> ctx, String roomId, Site site) {
    ctx.pipeToSelf(site.log().load(roomId, site.cacheSize()),
        (room, failure) -> failure == null ? new Loaded(room) : new LoadFailed(failure.getMessage()));
  }

  private final ParleyMetrics metrics;
  private final TimerScheduler<Command> timers;
  private final String roomId;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final Site site;
  private final RoomPresence presence = new RoomPresence();
  /** The nodes this room watches: exactly those that host members. */
  private final Set<ActorRef<NodeRooms.RoomEvent>> watched = new HashSet<>();
  private RoomHistory history;
  /** Messages given a seq and on their way into the log, in seq order. */
  private final Deque<Storing> storing = new ArrayDeque<>();
  /** The last seq given; the log may not have stored it yet. */
  private long seq;
  private final PublishKeys keys;

  /**
   * Starts from the log and the nodes' snapshots: users the nodes saw who are here no more are
   * announced gone, once; users here whom they did not see are announced; each node gets the
   * stored messages it has not delivered.
   */
  RoomActor(ActorContext<Command> context, TimerScheduler<Command> timers, String roomId,
      ActorRef<ClusterSharding.ShardCommand> shard, Site site, RoomLog.Room log, List<Snapshot> snapshots) {
    super(context);
    this.shard = shard;
    this.metrics = ParleyMetrics.get(context.getSystem());
    this.timers = timers;
    this.roomId = roomId;
    this.site = site;
    this.history = new RoomHistory(log, site.cacheSize());
    this.seq = history.stored();
    this.keys = new PublishKeys(site.log().settings().idempotencyFor());
    for (Snapshot snapshot : snapshots) {
      presence.replace(snapshot.node(), snapshot.users(), user -> {}, user -> {});
      watchIfHosting(snapshot.node());
    }
    snapshots.forEach(this::announceDifference);
    snapshots.forEach(this::catchUp);
    passivateIfEmpty();
  }

  @Override
  public Receive<Command> createReceive() {
    return common(newReceiveBuilder())
        .onMessage(Post.class, this::onPost)
        .onMessage(Join.class, this::onJoin)
        .onMessage(GetHistory.class, this::readHistory)
        .onMessage(Publish.class, this::onPublish)
        .onMessage(ReadHistory.class, this::readHistory)
        .onMessage(KeyLookedUp.class, looked -> onKeyLookedUp(looked, true))
        .onMessage(Stored.class, this::onStored)
        .onMessage(NotStored.class, this::onNotStored)
        .onMessage(Recovered.class, this::onRecovered)
        .onMessage(HistoryRead.class, this::onHistoryRead)
        .build();
  }

  /**
   * The store could not take a message: what needs the log gets UNAVAILABLE (nothing is stored
   * or sent) while the room reads its log again, every second until it can.
   */
  private Behavior<Command> unavailable(String reason) {
    getContext().getLog().warn("room log unavailable ({}); answering UNAVAILABLE until it reads again", reason);
    load(getContext(), roomId, site);
    return common(newReceiveBuilder())
        .onMessage(Post.class, this::storeDown)
        .onMessage(Join.class, join -> {
          presence.set(join.node(), join.user(), join.connections(),
              user -> announce(user, true, join.connectionId()), user -> announce(user, false, null));
          watchIfHosting(join.node());
          return storeDown(join);
        })
        .onMessage(GetHistory.class, this::refuseHistory)
        .onMessage(ReadHistory.class, this::refuseHistory)
        .onMessage(Publish.class, publish -> {
          Optional<Published> known = Optional.ofNullable(publish.idempotencyKey()).flatMap(keys::known);
          if (known.isPresent()) publish.replyTo().tell(known.get());
          else fail(publish, STORE_DOWN);
          return Behaviors.same();
        })
        .onMessage(KeyLookedUp.class, looked -> onKeyLookedUp(looked, false))
        .onMessage(Stored.class, this::onStored)
        .onMessage(NotStored.class, notStored -> {
          failStoring(notStored);
          return Behaviors.same();
        })
        .onMessage(Recovered.class, recovered -> storeDown(recovered.join()))
        .onMessage(HistoryRead.class, read -> refuseHistory(read.query()))
        .onMessage(Loaded.class, loaded -> {
          history = new RoomHistory(loaded.room(), site.cacheSize());
          seq = history.stored();
          getContext().getLog().info("room log readable again at seq {}", seq);
          return this;
        })
        .onMessage(LoadFailed.class, failed -> {
          timers.startSingleTimer(Reload.INSTANCE, Duration.ofSeconds(1));
          return Behaviors.same();
        })
        .onMessageEquals(Reload.INSTANCE, () -> {
          load(getContext(), roomId, site);
          return Behaviors.same();
        })
        .build();
  }

  /** What the room does whether or not its log can be reached. */
  private ReceiveBuilder<Command> common(ReceiveBuilder<Command> builder) {
    return builder
        .onMessage(Typing.class, this::onTyping)
        .onMessage(Presence.class, this::onPresence)
        .onMessage(GetOnline.class, this::onGetOnline)
        .onMessage(ListUsers.class, this::onListUsers)
        .onMessage(Snapshot.class, this::onSnapshot)
        .onMessage(Wake.class, this::onWake)
        .onMessageEquals(Idle.INSTANCE, this::onIdle)
        .onMessageEquals(Stop.INSTANCE, this::onStop)
        .onSignal(Terminated.class, this::onNodeStopped)
        .onSignal(PostStop.class, this::onPostStop);
  }

  // ---- presence ---------------------------------------------------------------------------------

  private Behavior<Command> onWake(Wake wake) {
    wake.node().tell(new NodeRooms.Hello(roomId, getContext().getSelf(), history.epoch()));
    return Behaviors.same();
  }

  private Behavior<Command> onSnapshot(Snapshot snapshot) {
    presence.replace(snapshot.node(), snapshot.users(),
        user -> announce(user, true, null), user -> announce(user, false, null));
    catchUp(snapshot);
    return afterPresenceChange(snapshot.node());
  }

  private Behavior<Command> onPresence(Presence change) {
    presence.set(change.node(), change.user(), change.connections(),
        user -> announce(user, true, null), user -> announce(user, false, null));
    return afterPresenceChange(change.node());
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

  /**
   * With no node hosting members and nothing on its way into the log, the room stops after
   * {@link Site#idleFor} (a node that comes later wakes it again); any member cancels that, and
   * each stored message starts it again.
   */
  private Behavior<Command> passivateIfEmpty() {
    if (quiet()) {
      if (!timers.isTimerActive(Idle.INSTANCE)) timers.startSingleTimer(Idle.INSTANCE, site.idleFor());
    } else {
      timers.cancel(Idle.INSTANCE);
    }
    return Behaviors.same();
  }

  /** No members, and nothing on its way into the log or being looked up there. */
  private boolean quiet() {
    return presence.isEmpty() && storing.isEmpty() && keys.idle();
  }

  private Behavior<Command> onIdle() {
    if (quiet()) {
      shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
    }
    return Behaviors.same();
  }

  // ---- joins and history ------------------------------------------------------------------------

  private Behavior<Command> onJoin(Join join) {
    presence.set(join.node(), join.user(), join.connections(),
        user -> announce(user, true, join.connectionId()), user -> announce(user, false, null));
    watchIfHosting(join.node());
    ClientRequest.Since since = join.since();
    if (since == null) return joined(join, null, newest(join.history()));
    long stored = history.stored();
    if (!since.epoch().equals(history.epoch()) || since.seq() > stored) {
      return joined(join, false, newest(join.history()));
    }
    if (stored - since.seq() > site.log().settings().recoveryLimit()) return joined(join, false, newest(join.history()));
    Optional<List<RoomLog.Message>> known = history.after(since.seq(), (int) (stored - since.seq()));
    if (known.isPresent()) return recover(join, known.get());
    getContext().pipeToSelf(site.log().after(roomId, since.seq(), (int) (stored - since.seq())),
        (messages, failure) -> new Recovered(join, messages, failure == null ? null : failure.getMessage()));
    return Behaviors.same();
  }

  private Behavior<Command> onRecovered(Recovered recovered) {
    if (recovered.failure() != null) {
      return storeDown(recovered.join());
    }
    List<RoomLog.Message> messages = new ArrayList<>(recovered.messages());
    long through = messages.isEmpty() ? recovered.join().since().seq() : messages.get(messages.size() - 1).seq();
    history.after(through, Integer.MAX_VALUE).ifPresent(messages::addAll); // stored since the read
    return recover(recovered.join(), messages);
  }

  /** Recovered when {@code messages} are every message after the client's seq; else its newest K. */
  private Behavior<Command> recover(Join join, List<RoomLog.Message> messages) {
    if (RoomHistory.contiguous(messages, join.since().seq(), history.stored())) return joined(join, true, messages);
    return joined(join, false, newest(join.history()));
  }

  private List<RoomLog.Message> newest(int count) {
    // the cache holds at least the 100 newest a join may ask for
    return count == 0 ? List.of() : history.newest(count).orElse(List.of());
  }

  private Behavior<Command> joined(Join join, Boolean recovered, List<RoomLog.Message> replay) {
    List<User> users = presence.users();
    metrics.frameOut("room_info").increment();
    join.node().tell(new NodeRooms.Joined(roomId, join.ref(), join.connectionId(),
        ServerFrames.roomInfo(roomId, join.id(), users, history.stored(), history.epoch(), recovered),
        users, frames(replay)));
    return Behaviors.same();
  }

  /** Kept messages before or after a seq, or the newest: from memory when it has them, else from the log. */
  private Behavior<Command> readHistory(HistoryQuery query) {
    Optional<List<RoomLog.Message>> known = query.before() != null ? history.before(query.before(), query.limit())
        : query.after() != null ? history.after(query.after(), query.limit())
        : history.newest(query.limit());
    if (known.isPresent()) return historyReply(query, known.get());
    CompletionStage<List<RoomLog.Message>> read = query.before() != null ? site.log().before(roomId, query.before(), query.limit())
        : query.after() != null ? site.log().after(roomId, query.after(), query.limit())
        : site.log().newest(roomId, query.limit());
    getContext().pipeToSelf(read,
        (messages, failure) -> new HistoryRead(query, messages, failure == null ? null : failure.getMessage()));
    return Behaviors.same();
  }

  private Behavior<Command> onHistoryRead(HistoryRead read) {
    if (read.failure() != null) return refuseHistory(read.query());
    return historyReply(read.query(), read.messages());
  }

  private Behavior<Command> historyReply(HistoryQuery query, List<RoomLog.Message> messages) {
    if (query instanceof ReadHistory read) {
      read.replyTo().tell(new HistoryPage(history.epoch(), history.stored(), frames(messages)));
      return Behaviors.same();
    }
    GetHistory get = (GetHistory) query;
    metrics.frameOut("history").increment();
    get.node().tell(new NodeRooms.Reply(roomId, get.ref(), get.connectionId(),
        ServerFrames.history(get.id(), roomId, history.epoch(), history.stored(), frames(messages))));
    return Behaviors.same();
  }

  private Behavior<Command> refuseHistory(HistoryQuery query) {
    if (query instanceof ReadHistory read) return fail(read, STORE_DOWN);
    return storeDown((GetHistory) query);
  }

  /**
   * Tells a node, once, how presence differs from what it last saw of the room: the users that
   * left meanwhile (with a node that was lost, say) and those that arrived. Each node is told
   * against its own view, so that no member hears of a change twice or misses one.
   */
  private void announceDifference(Snapshot snapshot) {
    if (snapshot.users().isEmpty()) return;
    Map<String, User> seen = new LinkedHashMap<>();
    snapshot.seen().forEach(user -> seen.put(user.id(), user));
    for (User user : presence.users()) {
      if (seen.remove(user.id()) == null) announceTo(snapshot.node(), user, true);
    }
    for (User user : seen.values()) announceTo(snapshot.node(), user, false);
  }

  private void announceTo(ActorRef<NodeRooms.RoomEvent> node, User user, boolean arrived) {
    metrics.frameOut(arrived ? "user_joined" : "user_left").increment();
    node.tell(new NodeRooms.Deliver(roomId, ServerFrames.presence(arrived, roomId, user), null, 0,
        new NodeRooms.PresenceChange(user, arrived), System.currentTimeMillis(), null));
  }

  /** Sends a node the stored messages it has not delivered (it missed them while the room moved). */
  private void catchUp(Snapshot snapshot) {
    if (snapshot.users().isEmpty() || snapshot.lastSeq() >= history.stored()) return;
    history.after(snapshot.lastSeq(), Integer.MAX_VALUE).ifPresent(missed -> {
      for (RoomLog.Message message : missed) {
        snapshot.node().tell(new NodeRooms.Deliver(
            roomId, message.frame(), null, message.seq(), null, System.currentTimeMillis(), null));
      }
    });
  }

  private static List<byte[]> frames(List<RoomLog.Message> messages) {
    List<byte[]> frames = new ArrayList<>(messages.size());
    for (RoomLog.Message message : messages) frames.add(message.frame());
    return frames;
  }

  // ---- messages ---------------------------------------------------------------------------------

  private Behavior<Command> onPost(Post post) {
    Optional<Long> stored = history.seqOf(post.messageId());
    if (stored.isPresent()) { // sent again after the room moved: it was stored before the move
      ack(post, stored.get(), null, post.node());
      return Behaviors.same();
    }
    long messageSeq = ++seq;
    store(new Storing(new RoomLog.Message(messageSeq, post.messageId(), ServerFrames.newMessage(
        roomId, post.messageId(), messageSeq, post.user(), post.content(), post.replyTo())), post, null));
    return Behaviors.same();
  }

  /** A publish: stored at once, or, with an idempotency key, once the room knows the key is new. */
  private Behavior<Command> onPublish(Publish publish) {
    if (System.currentTimeMillis() > publish.deadline()) {
      return fail(publish, "the call waited too long for its room; nothing was stored or sent, try again");
    }
    String key = publish.idempotencyKey();
    if (key == null) {
      storePublish(publish);
      return Behaviors.same();
    }
    Optional<Published> known = keys.known(key);
    if (known.isPresent()) {
      publish.replyTo().tell(known.get());
    } else if (keys.await(publish)) {
      getContext().pipeToSelf(site.log().published(roomId, key), (found, failure) ->
          new KeyLookedUp(key, found, failure == null ? null : failure.getMessage()));
    }
    return Behaviors.same();
  }

  /**
   * The log's answer for a key: its first result goes to every publish that waited for it; a
   * key the log does not know is stored with the first of them ({@code canStore}: the room runs),
   * and the others wait for that outcome.
   */
  private Behavior<Command> onKeyLookedUp(KeyLookedUp looked, boolean canStore) {
    Publish first = keys.first(looked.key());
    if (looked.found().isPresent()) {
      RoomLog.Published stored = looked.found().get();
      answer(first, new Published(stored.messageId(), stored.seq(), history.epoch()));
    } else if (looked.failure() == null && canStore) {
      storePublish(first);
    } else {
      answer(first, new Failed(ErrorCode.UNAVAILABLE, STORE_DOWN));
    }
    return passivateIfEmpty();
  }

  /**
   * A publish's outcome, to it and to every publish that waited for the same key: a result is
   * remembered for the key, a failure forgets it (a retry may store it).
   */
  private void answer(Publish publish, ApiReply outcome) {
    String key = publish.idempotencyKey();
    List<Publish> waiting = key == null ? List.of(publish)
        : outcome instanceof Published published ? keys.settle(key, published) : keys.release(key);
    waiting.forEach(each -> each.replyTo().tell(outcome));
  }

  private void storePublish(Publish publish) {
    long messageSeq = ++seq;
    String messageId = MessageIds.next();
    store(new Storing(new RoomLog.Message(messageSeq, messageId, ServerFrames.publishedMessage(
        roomId, messageId, messageSeq, publish.sender(), publish.payload())), null, publish));
  }

  /** The one way into the log, for posts and publishes alike: the message waits there in seq order. */
  private void store(Storing message) {
    storing.addLast(message);
    long messageSeq = message.message().seq();
    String key = message.publish() == null ? null : message.publish().idempotencyKey();
    getContext().pipeToSelf(site.log().append(roomId, message.message(), key, Instant.now()),
        (done, failure) -> failure == null ? new Stored(messageSeq) : new NotStored(messageSeq, failure.getMessage()));
  }

  /** Stored: now the message is delivered, and acknowledged (a publish: answered) with it. */
  private Behavior<Command> onStored(Stored stored) {
    Storing done = storing.removeFirst();
    history.add(done.message());
    if (done.post() != null) {
      ack(done.post(), stored.seq(), done.message().frame(), null);
    } else {
      broadcast("new_message", done.message().frame(), null, stored.seq(), null, null, null);
      answer(done.publish(), new Published(done.message().id(), stored.seq(), history.epoch()));
    }
    timers.cancel(Idle.INSTANCE); // an empty room stays idleFor after its last message
    return passivateIfEmpty();
  }

  private Behavior<Command> onNotStored(NotStored notStored) {
    failStoring(notStored);
    return unavailable(notStored.reason());
  }

  private void failStoring(NotStored notStored) {
    Storing failed = storing.removeFirst();
    Post post = failed.post();
    if (post != null) storeDown(post);
    else answer(failed.publish(), new Failed(ErrorCode.UNAVAILABLE, STORE_DOWN));
  }

  private Behavior<Command> fail(ApiCommand command, String message) {
    command.replyTo().tell(new Failed(ErrorCode.UNAVAILABLE, message));
    return Behaviors.same();
  }

  /**
   * Sharding stops the room (passivation, or a hand-off to another node): messages on their way
   * into the log are delivered or refused first, so that none is stored without its ack, and
   * publishes waiting for their key's lookup are answered.
   */
  private Behavior<Command> onStop() {
    if (storing.isEmpty() && keys.idle()) return Behaviors.stopped();
    return Behaviors.receive(Command.class)
        .onMessage(Stored.class, stored -> {
          onStored(stored);
          return stoppedWhenDone();
        })
        .onMessage(NotStored.class, notStored -> {
          failStoring(notStored);
          return stoppedWhenDone();
        })
        .onMessage(KeyLookedUp.class, looked -> {
          onKeyLookedUp(looked, false);
          return stoppedWhenDone();
        })
        .onSignal(PostStop.class, this::onPostStop)
        .build();
  }

  private Behavior<Command> stoppedWhenDone() {
    return storing.isEmpty() && keys.idle() ? Behaviors.stopped() : Behaviors.same();
  }

  private Behavior<Command> onPostStop(PostStop stopped) {
    metrics.roomNodeWatches.addAndGet(-watched.size());
    return Behaviors.same();
  }

  /**
   * The ack of a post; with {@code frame}, the message itself goes to every node, the ack inside
   * the poster node's Deliver.
   */
  private void ack(Post post, long messageSeq, byte[] frame, ActorRef<NodeRooms.RoomEvent> alone) {
    metrics.frameOut("ack").increment();
    NodeRooms.Reply ack = new NodeRooms.Reply(roomId, post.ref(), post.connectionId(),
        ServerFrames.messageAck(post.id(), roomId, post.messageId(), messageSeq));
    if (frame == null) alone.tell(ack);
    else broadcast("new_message", frame, post.connectionId(), messageSeq, null, post.node(), ack);
  }

  private Behavior<Command> onTyping(Typing typing) {
    broadcast("user_typing", ServerFrames.userTyping(roomId, typing.user(), typing.typing()),
        typing.connectionId(), 0, null, null, null);
    return Behaviors.same();
  }

  private Behavior<Command> onGetOnline(GetOnline get) {
    metrics.frameOut("online_users").increment();
    get.node().tell(new NodeRooms.Reply(roomId, get.ref(), get.connectionId(),
        ServerFrames.onlineUsers(roomId, get.id(), presence.users())));
    return Behaviors.same();
  }

  private Behavior<Command> onListUsers(ListUsers list) {
    list.replyTo().tell(new Users(presence.users()));
    return Behaviors.same();
  }

  private Behavior<Command> storeDown(Request request) {
    refuse(metrics, roomId, request, STORE_DOWN);
    return Behaviors.same();
  }

  /** Answers a request with UNAVAILABLE: nothing was stored or sent, the client may try again. */
  static void refuse(ParleyMetrics metrics, String roomId, Request request, String why) {
    metrics.frameOut("error").increment();
    request.node().tell(new NodeRooms.Reply(roomId, request.ref(), request.connectionId(),
        ServerFrames.error(request.id(), roomId, ErrorCode.UNAVAILABLE, why)));
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
