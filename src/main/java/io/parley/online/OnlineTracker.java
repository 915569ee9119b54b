package io.parley.online;

import io.parley.common.Addresses;
import io.parley.common.CborSerializable;
import io.parley.metrics.ParleyMetrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Who is online across the cluster, for {@code /ws/online}: distinct users (a user on two nodes
 * counts once) and open connections. One per node, at the same path on every node.
 *
 * <p>Each node owns its own users. The tracker counts this node's connections by user and tells
 * the other nodes' trackers only what changed: which users arrived on or left this node since
 * the last batch, and the node's connection count ({@link Changes}, at most every
 * {@link #BATCH_INTERVAL}, nothing when nothing changed). Batches are numbered, and every
 * {@link #DIGEST_INTERVAL} each node also says the number of its last batch ({@link Digest}), so
 * a receiver that missed one (Artery drops messages when a queue overflows) sees the gap and asks
 * that node for its full state ({@link SendSnapshot}), as it does when a node joins. A node
 * removed from the cluster takes its users with it, on every survivor. No step waits for an
 * answer: a snapshot that does not come is asked for again, with backoff, until it comes or the
 * node is removed. The work per batch is the number of changes, never the number of users.
 */
public final class OnlineTracker extends AbstractBehavior<OnlineTracker.Command> {

  public sealed interface Command {}

  /** A socket of this user opened on this node. */
  public record Connected(String userId) implements Command {}

  /** A socket of this user on this node closed. */
  public record Disconnected(String userId) implements Command {}

  public record Get(ActorRef<Online> replyTo) implements Command {}

  /**
   * Distinct users and open connections over the whole cluster, and the connections of each
   * node (keyed by {@code host:port}).
   */
  public record Online(int users, long connections, Map<String, Long> connectionsByNode) {}

  /** One incarnation of a cluster member ({@code host:port} and its unique id). */
  public record Node(String hostPort, long uid) {
    static Node of(UniqueAddress address) {
      return new Node(Addresses.hostPort(address.address()), address.longUid());
    }
  }

  /**
   * Batch {@code seq} of a node's changes: users now on it ({@code arrived}), users no longer on
   * it ({@code left}), and its connection count. Applying a batch twice changes nothing.
   */
  public record Changes(
      Node from, long seq, List<String> arrived, List<String> left, long connections)
      implements Command, CborSerializable {
    public Changes {
      arrived = arrived == null ? List.of() : arrived;
      left = left == null ? List.of() : left;
    }
  }

  /** The number of the sender's last batch: a receiver that has less missed one. */
  public record Digest(Node from, long seq) implements Command, CborSerializable {}

  /** Asks a node's tracker for its full state. */
  public record SendSnapshot(ActorRef<Command> replyTo) implements Command, CborSerializable {}

  /**
   * Part {@code part} of {@code parts} of a node's users (split to stay far below Artery's frame
   * size), and its connection count, as of its batch {@code seq}.
   */
  public record Snapshot(
      Node from, long seq, int part, int parts, List<String> users, long connections)
      implements Command, CborSerializable {
    public Snapshot {
      users = users == null ? List.of() : users;
    }
  }

  /** A node became a member, or left the membership; from the cluster subscription. */
  record NodeUp(Node node, ActorRef<Command> tracker) implements Command {}

  record NodeRemoved(Node node) implements Command {}

  private enum Flush implements Command { INSTANCE }

  private enum SendDigest implements Command { INSTANCE }

  private record SnapshotOverdue(Node node) implements Command {}

  static final Duration BATCH_INTERVAL = Duration.ofMillis(250);
  static final Duration DIGEST_INTERVAL = Duration.ofSeconds(1);
  static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  static final Duration LAST_RETRY = Duration.ofSeconds(16);
  /** User id characters per message: a few dozen KiB, far below Artery's 256 KiB frames. */
  static final int MAX_CHARS_PER_MESSAGE = 32 * 1024;

  public static Behavior<Command> create() {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new OnlineTracker(ctx, timers)));
  }

  private final TimerScheduler<Command> timers;
  private final ParleyMetrics metrics;
  private final Node self;
  /** This node's users and their open sockets here. */
  private final Map<String, Integer> local = new HashMap<>();
  private long localConnections;
  /** Local users whose presence may have changed since the last batch. */
  private final Set<String> changed = new HashSet<>();
  private boolean connectionsChanged;
  private long seq;
  private final Map<Node, PeerView> peers = new HashMap<>();
  private final OnlineUsers online = new OnlineUsers();

  private OnlineTracker(ActorContext<Command> context, TimerScheduler<Command> timers) {
    super(context);
    this.timers = timers;
    this.metrics = ParleyMetrics.get(context.getSystem());
    Cluster cluster = Cluster.get(context.getSystem());
    this.self = Node.of(cluster.selfMember().uniqueAddress());
    ActorRefResolver resolver = ActorRefResolver.get(context.getSystem());
    String path = context.getSelf().path().toStringWithoutAddress();
    ActorRef<ClusterEvent.MemberUp> ups = context.messageAdapter(ClusterEvent.MemberUp.class,
        up -> new NodeUp(Node.of(up.member().uniqueAddress()),
            resolver.resolveActorRef(up.member().address() + path)));
    ActorRef<ClusterEvent.MemberRemoved> removals = context.messageAdapter(
        ClusterEvent.MemberRemoved.class, removed -> new NodeRemoved(Node.of(removed.member().uniqueAddress())));
    cluster.subscriptions().tell(Subscribe.create(ups, ClusterEvent.MemberUp.class));
    cluster.subscriptions().tell(Subscribe.create(removals, ClusterEvent.MemberRemoved.class));
    timers.startTimerWithFixedDelay(SendDigest.INSTANCE, DIGEST_INTERVAL);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Connected.class, this::onConnected)
        .onMessage(Disconnected.class, this::onDisconnected)
        .onMessage(Get.class, this::onGet)
        .onMessageEquals(Flush.INSTANCE, this::onFlush)
        .onMessageEquals(SendDigest.INSTANCE, this::onSendDigest)
        .onMessage(NodeUp.class, this::onNodeUp)
        .onMessage(NodeRemoved.class, this::onNodeRemoved)
        .onMessage(Changes.class, this::onChanges)
        .onMessage(Digest.class, this::onDigest)
        .onMessage(SendSnapshot.class, this::onSendSnapshot)
        .onMessage(Snapshot.class, this::onSnapshot)
        .onMessage(SnapshotOverdue.class, this::onSnapshotOverdue)
        .build();
  }

  // ---- this node's connections ------------------------------------------------------------------

  private Behavior<Command> onConnected(Connected connected) {
    if (local.merge(connected.userId(), 1, Integer::sum) == 1) {
      online.arrived(connected.userId());
      changed.add(connected.userId());
    }
    localConnections++;
    localChanged();
    return this;
  }

  private Behavior<Command> onDisconnected(Disconnected disconnected) {
    Integer sockets = local.get(disconnected.userId());
    if (sockets == null) return this;
    if (sockets == 1) {
      local.remove(disconnected.userId());
      online.left(disconnected.userId());
      changed.add(disconnected.userId());
    } else {
      local.put(disconnected.userId(), sockets - 1);
    }
    localConnections--;
    localChanged();
    return this;
  }

  private void localChanged() {
    connectionsChanged = true;
    if (!timers.isTimerActive(Flush.INSTANCE)) timers.startSingleTimer(Flush.INSTANCE, BATCH_INTERVAL);
    updateGauges();
  }

  /** Sends what changed since the last batch to every other node, split into numbered batches. */
  private Behavior<Command> onFlush() {
    if (changed.isEmpty() && !connectionsChanged) return this;
    Batcher batches = new Batcher();
    for (String user : changed) batches.add(user, local.containsKey(user));
    changed.clear();
    connectionsChanged = false;
    for (Batcher.Batch batch : batches.done()) {
      seq++;
      Changes changes = new Changes(self, seq, batch.present(), batch.absent(), localConnections);
      for (PeerView peer : peers.values()) peer.tracker.tell(changes);
    }
    return this;
  }

  private Behavior<Command> onSendDigest() {
    Digest digest = new Digest(self, seq);
    for (PeerView peer : peers.values()) peer.tracker.tell(digest);
    return this;
  }

  private Behavior<Command> onSendSnapshot(SendSnapshot request) {
    Batcher batches = new Batcher();
    for (String user : local.keySet()) batches.add(user, true);
    List<Batcher.Batch> parts = batches.done();
    for (int i = 0; i < parts.size(); i++) {
      request.replyTo().tell(new Snapshot(self, seq, i, parts.size(), parts.get(i).present(), localConnections));
    }
    return this;
  }

  // ---- the other nodes --------------------------------------------------------------------------

  private Behavior<Command> onNodeUp(NodeUp up) {
    if (up.node().equals(self) || peers.containsKey(up.node())) return this;
    PeerView peer = new PeerView(up.tracker(), online);
    peers.put(up.node(), peer);
    requestSnapshot(up.node(), peer);
    return this;
  }

  /** A node left the cluster (it died or left): its users and connections go. */
  private Behavior<Command> onNodeRemoved(NodeRemoved removed) {
    PeerView peer = peers.remove(removed.node());
    if (peer == null) return this;
    timers.cancel(new SnapshotOverdue(removed.node()));
    peer.drop();
    updateGauges();
    return this;
  }

  private Behavior<Command> onChanges(Changes changes) {
    PeerView peer = peers.get(changes.from());
    if (peer == null) return this;
    switch (peer.apply(changes)) {
      case APPLIED -> updateGauges();
      case MISSED_SOME -> missed(changes.from(), peer, changes.seq() - 1);
      case IGNORED -> { }
    }
    return this;
  }

  private Behavior<Command> onDigest(Digest digest) {
    PeerView peer = peers.get(digest.from());
    if (peer != null && peer.isBehind(digest.seq())) missed(digest.from(), peer, digest.seq());
    return this;
  }

  private void missed(Node node, PeerView peer, long upTo) {
    getContext().getLog().info("online: batches {}..{} of {} missed; asking for its snapshot",
        peer.seq() + 1, upTo, node);
    requestSnapshot(node, peer);
  }

  private Behavior<Command> onSnapshot(Snapshot part) {
    PeerView peer = peers.get(part.from());
    if (peer != null && peer.add(part)) {
      timers.cancel(new SnapshotOverdue(part.from()));
      updateGauges();
    }
    return this;
  }

  private Behavior<Command> onSnapshotOverdue(SnapshotOverdue overdue) {
    PeerView peer = peers.get(overdue.node());
    if (peer != null && !peer.synced()) {
      getContext().getLog().info("online: no snapshot from {} yet; asking again", overdue.node());
      requestSnapshot(overdue.node(), peer);
    }
    return this;
  }

  /**
   * Asks the node for its snapshot, and again after a backoff unless it came. Until then its
   * batches are ignored and its last known users count.
   */
  private void requestSnapshot(Node node, PeerView peer) {
    int before = peer.snapshotRequested();
    peer.tracker.tell(new SendSnapshot(getContext().getSelf()));
    long delay = Math.min(LAST_RETRY.toMillis(), FIRST_RETRY.toMillis() << Math.min(before, 16));
    timers.startSingleTimer(new SnapshotOverdue(node), Duration.ofMillis(delay));
  }

  // ---- the counts -------------------------------------------------------------------------------

  private long connections() {
    long total = localConnections;
    for (PeerView peer : peers.values()) total += peer.connections();
    return total;
  }

  private void updateGauges() {
    metrics.clusterUsers.set(online.count());
    metrics.clusterConnections.set(connections());
  }

  private Behavior<Command> onGet(Get get) {
    Map<String, Long> byNode = new TreeMap<>();
    byNode.put(self.hostPort(), localConnections);
    peers.forEach((node, peer) -> byNode.merge(node.hostPort(), peer.connections(), Long::sum));
    get.replyTo().tell(new Online(online.count(), connections(), Map.copyOf(byNode)));
    return this;
  }
}
