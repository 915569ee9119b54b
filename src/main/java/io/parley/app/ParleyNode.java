package io.parley.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.auth.TokenVerifier;
import io.parley.common.Addresses;
import io.parley.history.RoomLog;
import io.parley.history.StoreException;
import java.io.IOException;
import java.security.GeneralSecurityException;
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

  /**
   * Starts a node and waits until its HTTP port is bound. Settings are checked, and the ports
   * tried, before anything starts.
   *
   * @throws StartFailure when a setting is not allowed, a port cannot be bound, or the token keys
   *     cannot be loaded; the node is then stopped
   */
  public static ParleyNode start(Config configured) throws Exception {
    ParleySettings settings = ParleySettings.load(configured);
    Config config = withSeedNodes(configured);
    Listeners.Listener http = Listeners.http(settings);
    Listeners.Listener cluster = Listeners.cluster(config);
    Listeners.checkFree(List.of(cluster, http));
    TokenVerifier verifier = tokenVerifier(settings);
    refuseEmbeddedStoreInACluster(config, settings);
    RoomLog log = openLog(settings);
    CompletableFuture<ServerBinding> bound = new CompletableFuture<>();
    ActorSystem<Void> system;
    try {
      system = ActorSystem.create(Guardian.create(settings, verifier, log, bound), SYSTEM_NAME, config);
    } catch (RuntimeException e) {
      log.close();
      throw Listeners.explain(e, cluster).orElseThrow(() -> e);
    }
    system.getWhenTerminated().thenRun(() -> {
      log.close();
      bound.completeExceptionally(new IllegalStateException("the node stopped while starting"));
    });
    try {
      return new ParleyNode(
          system, bound.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), settings);
    } catch (Exception e) {
      CoordinatedShutdown.get(system).runAll(NotStarted.INSTANCE)
          .toCompletableFuture().get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      throw Listeners.explain(e, http).orElseThrow(() -> e);
    }
  }

  /**
   * The shutdown of a node that did not start: it stops the actor system but not the JVM
   * ({@code conf/application.conf} overrides {@code exit-jvm} for it), so that Main can say why.
   */
  enum NotStarted implements CoordinatedShutdown.Reason { INSTANCE }

  private static RoomLog openLog(ParleySettings settings) {
    try {
      return RoomLog.open(settings.log());
    } catch (StoreException e) {
      throw new StartFailure(e.getMessage() + (settings.log().embedded()
          ? "; set PARLEY_DATA_DIR to a directory this node alone may write"
          : "; check PARLEY_DB_URL, PARLEY_DB_USER and PARLEY_DB_PASSWORD"), e);
    }
  }

  private static TokenVerifier tokenVerifier(ParleySettings settings) {
    try {
      return TokenVerifier.create(settings.jwt());
    } catch (IOException | GeneralSecurityException e) {
      throw new StartFailure("cannot load the token keys: " + e.getMessage()
          + "; check PARLEY_JWT_PUBLIC_KEY and PARLEY_JWT_JWKS_URL", e);
    }
  }

  /**
   * Each node's embedded store would keep its own history of the same rooms: a node configured
   * to join other nodes must use a shared store (PostgreSQL).
   */
  private static void refuseEmbeddedStoreInACluster(Config config, ParleySettings settings) {
    if (!settings.log().embedded()) return;
    String self = config.getString("pekko.remote.artery.canonical.hostname") + ":"
        + config.getInt("pekko.remote.artery.canonical.port");
    for (String seed : config.getStringList("pekko.cluster.seed-nodes")) {
      if (!seed.endsWith("@" + self)) {
        throw new StartFailure("this node joins a cluster (PARLEY_SEED_NODES names " + seed
            + ") but keeps history in an embedded store, which would fork it: set PARLEY_DB_URL to the "
            + "cluster's PostgreSQL", null);
      }
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

  /** The node's base URL as a user can open it (http://localhost:8080 when bound to all addresses). */
  public String url() {
    return Addresses.openableUrl(binding.localAddress());
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
