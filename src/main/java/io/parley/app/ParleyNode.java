package io.parley.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.auth.TokenVerifier;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.ServerBinding;

/** A running node: its actor system and HTTP binding. Main runs one; tests run several. */
public final class ParleyNode implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final ParleySettings settings;

  private ParleyNode(ActorSystem<Void> system, ServerBinding binding, ParleySettings settings) {
    this.system = system;
    this.binding = binding;
    this.settings = settings;
  }

  /** The actor system name: nodes of one cluster must share it. */
  public static final String SYSTEM_NAME = "parley";

  /** Starts a node and waits until its HTTP port is bound. */
  public static ParleyNode start(Config configured) throws Exception {
    Config config = withSeedNodes(configured);
    ParleySettings settings = ParleySettings.load(config);
    TokenVerifier verifier = TokenVerifier.create(settings.jwt());
    CompletableFuture<ServerBinding> bound = new CompletableFuture<>();
    ActorSystem<Void> system =
        ActorSystem.create(Guardian.create(settings, verifier, bound), SYSTEM_NAME, config);
    try {
      return new ParleyNode(
          system, bound.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), settings);
    } catch (Exception e) {
      system.terminate();
      throw e;
    }
  }

  /** {@code parley.cluster.seed-nodes} ("host:port,host:port") as Pekko's seed node list. */
  static Config withSeedNodes(Config config) {
    List<String> seeds = Arrays.stream(config.getString("parley.cluster.seed-nodes").split(","))
        .map(String::trim)
        .filter(seed -> !seed.isEmpty())
        .map(seed -> "pekko://" + SYSTEM_NAME + "@" + seed)
        .toList();
    if (seeds.isEmpty()) return config;
    return ConfigFactory.parseMap(Map.of("pekko.cluster.seed-nodes", seeds)).withFallback(config);
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public ParleySettings settings() {
    return settings;
  }

  /** Graceful shutdown, as on SIGTERM; returns once the node has stopped. */
  @Override
  public void close() throws Exception {
    CoordinatedShutdown.get(system)
        .runAll(CoordinatedShutdown.unknownReason())
        .toCompletableFuture()
        .get(2, TimeUnit.MINUTES);
  }
}
