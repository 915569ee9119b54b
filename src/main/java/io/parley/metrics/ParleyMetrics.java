package io.parley.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The node's meters, one registry per actor system (so several nodes in one JVM count apart).
 * Hot paths add per frame or per broadcast, never per recipient.
 */
public final class ParleyMetrics implements Extension {

  private static final ExtensionId<ParleyMetrics> ID = new ExtensionId<>() {
    @Override
    public ParleyMetrics createExtension(ActorSystem<?> system) {
      return new ParleyMetrics();
    }
  };

  public static ParleyMetrics get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  /** Room frames rendered for more than one connection (messages, presence, typing). */
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

  private ParleyMetrics() {}

  private Counter fanout(String target) {
    return Counter.builder("parley_fanout_messages")
        .description("Room broadcasts sent to a node's fan-out, by whether that node is this one")
        .tag("target", target)
        .register(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }
}
