package io.parley.online;

import io.parley.common.Addresses;
import io.parley.metrics.ParleyMetrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.ORSet;
import org.apache.pekko.cluster.ddata.ORSetKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Who is online across the cluster, for {@code /ws/online}. Each node counts its own connections
 * by user and publishes them to Distributed Data (at most every {@link #PUBLISH_INTERVAL}): the
 * pairs {@code node/user} in an ORSet (distinct users are the union over nodes) and its
 * connection count in an LWWMap keyed by node. When a node is removed from the cluster (it died
 * or left), every survivor deletes that node's entries, so its users leave the count.
 */
public final class OnlineTracker extends AbstractBehavior<OnlineTracker.Command> {

  public sealed interface Command {}

  public record Connected(String userId) implements Command {}

  public record Disconnected(String userId) implements Command {}

  public record Get(ActorRef<Online> replyTo) implements Command {}

  /**
   * Distinct users and open connections over the whole cluster, and the connections of each
   * node (keyed by {@code host:port}).
   */
  public record Online(int users, long connections, Map<String, Long> connectionsByNode) {}

  private enum Publish implements Command { INSTANCE }

  /** Both subscriptions answer with this one type: message adapters are per message class. */
  private record DataChanged(Replicator.SubscribeResponse<?> response) implements Command {}

  private record NodeRemoved(UniqueAddress node) implements Command {}

  private record Updated(Replicator.UpdateResponse<?> response) implements Command {}

  static final Key<ORSet<String>> USERS = ORSetKey.create("parley-online-users");
  static final Key<LWWMap<String, Long>> CONNECTIONS = LWWMapKey.create("parley-online-connections");
  static final Duration PUBLISH_INTERVAL = Duration.ofMillis(500);
  private static final char SEPARATOR = '/';

  public static Behavior<Command> create() {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        DistributedData.withReplicatorMessageAdapter(
            (ReplicatorMessageAdapter<Command, ORSet<String>> users) ->
                DistributedData.withReplicatorMessageAdapter(
                    (ReplicatorMessageAdapter<Command, LWWMap<String, Long>> connections) ->
                        new OnlineTracker(ctx, timers, users, connections)))));
  }

  private final ReplicatorMessageAdapter<Command, ORSet<String>> usersData;
  private final ReplicatorMessageAdapter<Command, LWWMap<String, Long>> connectionsData;
  private final SelfUniqueAddress self;
  private final String selfKey;
  private final Map<String, Integer> localConnections = new HashMap<>();
  private long localTotal;
  /** The users this node last published; the next publication sends the difference. */
  private final Set<String> published = new HashSet<>();
  private long publishedTotal = -1;
  private Online cluster = new Online(0, 0, Map.of());
  private final ParleyMetrics metrics;
  private Set<String> clusterUsers = Set.of();
  private Map<String, Long> clusterConnections = Map.of();

  private OnlineTracker(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      ReplicatorMessageAdapter<Command, ORSet<String>> usersData,
      ReplicatorMessageAdapter<Command, LWWMap<String, Long>> connectionsData) {
    super(context);
    this.usersData = usersData;
    this.connectionsData = connectionsData;
    this.self = DistributedData.get(context.getSystem()).selfUniqueAddress();
    this.metrics = ParleyMetrics.get(context.getSystem());
    this.selfKey = nodeKey(self.uniqueAddress());
    usersData.subscribe(USERS, DataChanged::new);
    connectionsData.subscribe(CONNECTIONS, DataChanged::new);
    ActorRef<ClusterEvent.MemberRemoved> removals = context.messageAdapter(
        ClusterEvent.MemberRemoved.class, removed -> new NodeRemoved(removed.member().uniqueAddress()));
    Cluster.get(context.getSystem()).subscriptions()
        .tell(Subscribe.create(removals, ClusterEvent.MemberRemoved.class));
    timers.startTimerWithFixedDelay(Publish.INSTANCE, PUBLISH_INTERVAL);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Connected.class, this::onConnected)
        .onMessage(Disconnected.class, this::onDisconnected)
        .onMessage(Get.class, this::onGet)
        .onMessageEquals(Publish.INSTANCE, this::onPublish)
        .onMessage(DataChanged.class, this::onDataChanged)
        .onMessage(NodeRemoved.class, this::onNodeRemoved)
        .onMessage(Updated.class, updated -> this)
        .build();
  }

  private Behavior<Command> onConnected(Connected connected) {
    localConnections.merge(connected.userId(), 1, Integer::sum);
    localTotal++;
    return this;
  }

  private Behavior<Command> onDisconnected(Disconnected disconnected) {
    if (localConnections.merge(disconnected.userId(), -1, Integer::sum) <= 0) {
      localConnections.remove(disconnected.userId());
    }
    localTotal--;
    return this;
  }

  private Behavior<Command> onGet(Get get) {
    get.replyTo().tell(cluster);
    return this;
  }

  /** Publishes what changed since the last publication, if anything. */
  private Behavior<Command> onPublish() {
    Set<String> added = new HashSet<>();
    for (String user : localConnections.keySet()) if (!published.contains(user)) added.add(user);
    Set<String> removed = new HashSet<>();
    for (String user : published) if (!localConnections.containsKey(user)) removed.add(user);
    if (!added.isEmpty() || !removed.isEmpty()) {
      usersData.askUpdate(
          replyTo -> new Replicator.Update<>(USERS, ORSet.empty(), Replicator.writeLocal(), replyTo,
              set -> {
                ORSet<String> next = set;
                for (String user : added) next = next.add(self, selfKey + SEPARATOR + user);
                for (String user : removed) next = next.remove(self, selfKey + SEPARATOR + user);
                return next;
              }),
          Updated::new);
      published.addAll(added);
      published.removeAll(removed);
    }
    if (localTotal != publishedTotal) {
      long total = localTotal;
      connectionsData.askUpdate(
          replyTo -> new Replicator.Update<>(CONNECTIONS, LWWMap.empty(), Replicator.writeLocal(),
              replyTo, map -> map.put(self, selfKey, total)),
          Updated::new);
      publishedTotal = total;
    }
    return this;
  }

  @SuppressWarnings("unchecked")
  private Behavior<Command> onDataChanged(DataChanged changed) {
    if (changed.response() instanceof Replicator.Changed<?> c) {
      if (c.key().equals(USERS)) {
        clusterUsers = ((ORSet<String>) c.dataValue()).getElements();
      } else if (c.key().equals(CONNECTIONS)) {
        clusterConnections = ((LWWMap<String, Long>) c.dataValue()).getEntries();
      }
      recount();
    }
    return this;
  }

  private void recount() {
    Set<String> distinct = new HashSet<>();
    for (String element : clusterUsers) distinct.add(element.substring(element.indexOf(SEPARATOR) + 1));
    long connections = 0;
    Map<String, Long> byNode = new TreeMap<>();
    for (Map.Entry<String, Long> node : clusterConnections.entrySet()) {
      connections += node.getValue();
      byNode.put(node.getKey().substring(0, node.getKey().indexOf('#')), node.getValue());
    }
    cluster = new Online(distinct.size(), connections, Map.copyOf(byNode));
    metrics.clusterUsers.set(cluster.users());
    metrics.clusterConnections.set(cluster.connections());
  }

  /** A node left the cluster: its users and connections go. Every survivor does this. */
  private Behavior<Command> onNodeRemoved(NodeRemoved removed) {
    String key = nodeKey(removed.node());
    if (key.equals(selfKey)) return this;
    String prefix = key + SEPARATOR;
    usersData.askUpdate(
        replyTo -> new Replicator.Update<>(USERS, ORSet.empty(), Replicator.writeLocal(), replyTo,
            set -> {
              ORSet<String> next = set;
              for (String element : set.getElements()) {
                if (element.startsWith(prefix)) next = next.remove(self, element);
              }
              return next;
            }),
        Updated::new);
    connectionsData.askUpdate(
        replyTo -> new Replicator.Update<>(CONNECTIONS, LWWMap.empty(), Replicator.writeLocal(),
            replyTo, map -> map.remove(self, key)),
        Updated::new);
    return this;
  }

  /** Unique per node incarnation: a restarted node on the same address is another node. */
  private static String nodeKey(UniqueAddress node) {
    return Addresses.hostPort(node.address()) + "#" + node.longUid();
  }
}
