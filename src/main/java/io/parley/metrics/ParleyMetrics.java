package io.parley.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The node's meters, one Prometheus registry per actor system (so several nodes in one JVM count
 * apart), scraped at {@code GET /metrics}. Hot paths add per frame or per broadcast, never per
 * recipient; labels come from fixed vocabularies only.
 */
public final class ParleyMetrics implements Extension {

  private static final ExtensionId<ParleyMetrics> ID = new ExtensionId<>() {
    @Override
    public ParleyMetrics createExtension(ActorSystem<?> system) {
      return new ParleyMetrics(system);
    }
  };

  public static ParleyMetrics get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** Close codes reported as themselves; anything else a peer sends counts as "other". */
  private static final Set<Integer> KNOWN_CLOSE_CODES =
      Set.of(1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1011, 4001, 4003);

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, Counter> framesIn = new ConcurrentHashMap<>();
  private final Map<String, Counter> framesOut = new ConcurrentHashMap<>();
  private final Map<String, Counter> refusals = new ConcurrentHashMap<>();
  private final Map<String, Counter> closes = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> memberGauges = new ConcurrentHashMap<>();
  private final Map<String, Counter> apiCalls = new ConcurrentHashMap<>();
  private final Map<String, Timer> apiLatency = new ConcurrentHashMap<>();

  /** Room frames rendered once for all members (messages, presence, typing). */
  public final Counter broadcasts = Counter.builder("parley_broadcasts")
      .description("Room frames rendered once for all members").register(registry);
  /** Deliver messages from rooms to the fan-out of their own node. */
  public final Counter fanoutLocal = fanout("local");
  /** Deliver messages from rooms to the fan-out of another node: cross-node traffic. */
  public final Counter fanoutRemote = fanout("remote");
  /** Frames queued to sockets by the fan-out (one per recipient). */
  public final Counter deliveries = Counter.builder("parley_deliveries")
      .description("Frames queued for sockets by the node fan-out").register(registry);
  /** Frames dropped because a client's outgoing buffer was full. */
  public final Counter dropped = Counter.builder("parley_dropped_frames")
      .description("Frames dropped for slow clients").register(registry);
  public final Counter rateLimited = Counter.builder("parley_rate_limited_frames")
      .description("Client frames discarded by the rate limit").register(registry);
  public final Counter roomCapRefusals = Counter.builder("parley_room_cap_refusals")
      .description("Requests refused by a room started beyond the node's room limit")
      .register(registry);
  /** From a client's send_message reaching this server to the frame queued for the others. */
  public final Timer broadcastLatency = Timer.builder("parley_broadcast_latency")
      .description("From a message's arrival to its frame queued for the room's sockets")
      .publishPercentileHistogram()
      .minimumExpectedValue(Duration.ofMillis(1))
      .maximumExpectedValue(Duration.ofSeconds(10))
      .register(registry);

  /** Open WebSockets on this node. */
  public final AtomicInteger connections = new AtomicInteger();
  /** Distinct users with a socket on this node. */
  public final AtomicInteger users = new AtomicInteger();
  /** Room entities running on this node. */
  public final AtomicInteger rooms = new AtomicInteger();
  /**
   * Nodes watched by the rooms hosted here, summed over rooms: a room watches each node that
   * hosts its members (one watch per node, however many connections).
   */
  public final AtomicInteger roomNodeWatches = new AtomicInteger();
  /** Shards of rooms hosted here, as last polled from the shard region. */
  public final AtomicInteger shards = new AtomicInteger();
  /** Distinct users and connections over the whole cluster. */
  public final AtomicInteger clusterUsers = new AtomicInteger();
  public final AtomicLong clusterConnections = new AtomicLong();

  private ParleyMetrics(ActorSystem<?> system) {
    gauge("parley_connections", "Open WebSockets on this node", connections::get);
    gauge("parley_users", "Distinct users connected to this node", users::get);
    gauge("parley_rooms", "Rooms hosted on this node", rooms::get);
    gauge("parley_room_node_watches", "Nodes watched by the rooms hosted here (one per room and node with members)", roomNodeWatches::get);
    gauge("parley_shards", "Room shards hosted on this node", shards::get);
    gauge("parley_cluster_users", "Distinct users connected anywhere in the cluster", clusterUsers::get);
    gauge("parley_cluster_connections", "Open WebSockets anywhere in the cluster", clusterConnections::get);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    system.getWhenTerminated().whenComplete((done, failure) -> {
      gc.close();
      registry.close();
    });
  }

  private void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  private Counter fanout(String target) {
    return Counter.builder("parley_fanout_messages")
        .description("Room broadcasts sent to a node's fan-out, by whether that node is this one")
        .tag("target", target)
        .register(registry);
  }

  /** A client frame received, by its {@code type} (or "invalid"). */
  public Counter frameIn(String type) {
    return framesIn.computeIfAbsent(type, t -> Counter.builder("parley_frames_in")
        .description("Client frames received, by type").tag("type", t).register(registry));
  }

  /** A server frame rendered, by its {@code type} (a broadcast counts once). */
  public Counter frameOut(String type) {
    return framesOut.computeIfAbsent(type, t -> Counter.builder("parley_frames_out")
        .description("Server frames rendered, by type (a broadcast counts once)")
        .tag("type", t).register(registry));
  }

  /** An upgrade refused: {@code status} and a reason from a fixed vocabulary. */
  public void refused(int status, String reason) {
    refusals.computeIfAbsent(status + "/" + reason, key -> Counter.builder("parley_refusals")
        .description("Upgrades refused before the WebSocket opened")
        .tag("status", String.valueOf(status)).tag("reason", reason).register(registry))
        .increment();
  }

  /** A WebSocket ended with this close code (1006: no close frame). */
  public void closed(int code) {
    String label = KNOWN_CLOSE_CODES.contains(code) ? String.valueOf(code) : "other";
    closes.computeIfAbsent(label, l -> Counter.builder("parley_closes")
        .description("WebSockets closed, by close code").tag("code", l).register(registry))
        .increment();
  }

  /**
   * A server API call answered: counted by {@code endpoint} (a call's name, or "unknown") and HTTP
   * status, and timed from its arrival to its answer.
   */
  public void apiCall(String endpoint, int status, long nanos) {
    apiCalls.computeIfAbsent(endpoint + "/" + status, key -> Counter.builder("parley_api_calls")
        .description("Server API calls, by endpoint and HTTP status")
        .tag("endpoint", endpoint).tag("status", String.valueOf(status)).register(registry))
        .increment();
    apiLatency.computeIfAbsent(endpoint, key -> Timer.builder("parley_api_latency")
        .description("Server API calls: from arrival to answer")
        .tag("endpoint", endpoint)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Current cluster members by status; polled by {@link ClusterGauges}. */
  public void clusterMembers(Map<String, Integer> byStatus) {
    byStatus.forEach((status, count) -> memberGauge(status).set(count));
    memberGauges.keySet().forEach(status -> {
      if (!byStatus.containsKey(status)) memberGauges.get(status).set(0);
    });
  }

  private AtomicInteger memberGauge(String status) {
    return memberGauges.computeIfAbsent(status, s -> {
      AtomicInteger value = new AtomicInteger();
      Gauge.builder("parley_cluster_members", value, AtomicInteger::get)
          .description("Cluster members by status").tag("status", s).register(registry);
      return value;
    });
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }
}
