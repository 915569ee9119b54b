package io.parley.app;

import static io.parley.app.Setting.apiKeys;
import static io.parley.app.Setting.decimal;
import static io.parley.app.Setting.directory;
import static io.parley.app.Setting.duration;
import static io.parley.app.Setting.flag;
import static io.parley.app.Setting.host;
import static io.parley.app.Setting.hostOrEmpty;
import static io.parley.app.Setting.hostPorts;
import static io.parley.app.Setting.jdbcUrlOrEmpty;
import static io.parley.app.Setting.oneOf;
import static io.parley.app.Setting.oneOfAnyCase;
import static io.parley.app.Setting.origins;
import static io.parley.app.Setting.port;
import static io.parley.app.Setting.portOrEmpty;
import static io.parley.app.Setting.readableFileOrEmpty;
import static io.parley.app.Setting.secret;
import static io.parley.app.Setting.text;
import static io.parley.app.Setting.urlOrEmpty;
import static io.parley.app.Setting.whole;
import static java.time.Duration.ZERO;
import static java.time.Duration.ofDays;
import static java.time.Duration.ofHours;
import static java.time.Duration.ofMillis;
import static java.time.Duration.ofMinutes;
import static java.time.Duration.ofSeconds;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every setting with an environment variable, one line each: its key, its variable, and the values
 * it takes. The node checks them all before it binds anything ({@link ParleySettings#load}), and
 * a bad value stops it with one line per problem. A new setting joins with one line here (and
 * its {@code key = default} / {@code key = ${?VAR}} pair in {@code conf/}).
 */
final class SettingsTable {
  private SettingsTable() {}

  static final List<Setting> SETTINGS = List.of(
      // conf/parley.conf
      new Setting("parley.node-name", "PARLEY_NODE_NAME", text()),
      new Setting("parley.http.host", "PARLEY_HTTP_HOST", host()),
      new Setting("parley.http.port", "PARLEY_HTTP_PORT", port()),
      new Setting("parley.http.allowed-origins", "PARLEY_ALLOWED_ORIGINS", origins()),
      new Setting("parley.http.public-url", "PARLEY_PUBLIC_URL", urlOrEmpty()),
      new Setting("parley.http.idle-timeout", "PARLEY_HTTP_IDLE_TIMEOUT", duration(ofSeconds(1), ofDays(1))),
      new Setting("parley.jwt.secret", "PARLEY_JWT_SECRET", secret()),
      new Setting("parley.jwt.public-key", "PARLEY_JWT_PUBLIC_KEY", readableFileOrEmpty()),
      new Setting("parley.jwt.jwks-url", "PARLEY_JWT_JWKS_URL", urlOrEmpty()),
      new Setting("parley.jwt.jwks-cache-ttl", "PARLEY_JWT_JWKS_CACHE_TTL", duration(ofSeconds(1), ofDays(1))),
      new Setting("parley.jwt.jwks-refetch-interval", "PARLEY_JWT_JWKS_REFETCH_INTERVAL", duration(ofSeconds(1), ofHours(1))),
      new Setting("parley.jwt.jwks-timeout", "PARLEY_JWT_JWKS_TIMEOUT", duration(ofMillis(100), ofMinutes(1))),
      new Setting("parley.jwt.issuer", "PARLEY_JWT_ISSUER", text()),
      new Setting("parley.jwt.audience", "PARLEY_JWT_AUDIENCE", text()),
      new Setting("parley.jwt.require-exp", "PARLEY_JWT_REQUIRE_EXP", flag()),
      new Setting("parley.jwt.leeway", "PARLEY_JWT_LEEWAY", duration(ZERO, ofMinutes(10))),
      new Setting("parley.limits.max-frame-bytes", "PARLEY_MAX_FRAME_BYTES", whole(128, 1 << 20)),
      new Setting("parley.limits.ping-interval", "PARLEY_PING_INTERVAL", duration(ofMillis(100), ofHours(1))),
      new Setting("parley.limits.idle-timeout", "PARLEY_IDLE_TIMEOUT", duration(ofMillis(100), ofHours(1))),
      new Setting("parley.limits.write-timeout", "PARLEY_WRITE_TIMEOUT", duration(ofSeconds(1), ofMinutes(10))),
      new Setting("parley.limits.outgoing-buffer", "PARLEY_OUTGOING_BUFFER", whole(1, 65_536)),
      new Setting("parley.limits.rate-per-second", "PARLEY_RATE_PER_SECOND", decimal(0.1, 1_000_000)),
      new Setting("parley.limits.rate-burst", "PARLEY_RATE_BURST", whole(1, 1_000_000)),
      new Setting("parley.limits.abuse-discards", "PARLEY_ABUSE_DISCARDS", whole(1, 1_000_000)),
      new Setting("parley.limits.abuse-window", "PARLEY_ABUSE_WINDOW", duration(ofSeconds(1), ofHours(1))),
      new Setting("parley.limits.rooms-per-connection", "PARLEY_MAX_ROOMS_PER_CONNECTION", whole(1, 10_000)),
      new Setting("parley.limits.max-connections", "PARLEY_MAX_CONNECTIONS", whole(1, 1_000_000)),
      new Setting("parley.limits.max-connections-per-user", "PARLEY_MAX_CONNECTIONS_PER_USER", whole(1, 1_000_000)),
      new Setting("parley.limits.max-connect-rate", "PARLEY_MAX_CONNECT_RATE", decimal(0.01, 1_000_000)),
      new Setting("parley.limits.connect-burst", "PARLEY_CONNECT_BURST", whole(1, 1_000_000)),
      new Setting("parley.limits.max-rooms-per-node", "PARLEY_MAX_ROOMS_PER_NODE", whole(1, 100_000_000)),
      // drain + close must fit in the 60 s that application.conf gives their shutdown phase
      new Setting("parley.shutdown.drain-delay", "PARLEY_DRAIN_DELAY", duration(ZERO, ofSeconds(30))),
      new Setting("parley.shutdown.close-timeout", "PARLEY_CLOSE_TIMEOUT", duration(ofSeconds(1), ofSeconds(30))),
      new Setting("parley.dev-mode", "PARLEY_DEV_MODE", oneOfAnyCase("auto", "on", "off")),
      new Setting("parley.storage.data-dir", "PARLEY_DATA_DIR", directory()),
      new Setting("parley.storage.url", "PARLEY_DB_URL", jdbcUrlOrEmpty()),
      new Setting("parley.storage.user", "PARLEY_DB_USER", text()),
      new Setting("parley.storage.password", "PARLEY_DB_PASSWORD", secret()),
      new Setting("parley.storage.timeout", "PARLEY_DB_TIMEOUT", duration(ofMillis(100), ofMinutes(1))),
      new Setting("parley.history.keep-messages", "PARLEY_HISTORY_KEEP_MESSAGES", whole(1, 10_000_000)),
      new Setting("parley.history.keep-for", "PARLEY_HISTORY_KEEP_FOR", duration(ofMinutes(1), ofDays(36_500))),
      new Setting("parley.history.recovery-limit", "PARLEY_RECOVERY_LIMIT", whole(1, 100_000)),
      new Setting("parley.api.keys", "PARLEY_API_KEY", apiKeys()),
      // conf/cluster.conf
      new Setting("parley.cluster.seed-nodes", "PARLEY_SEED_NODES", hostPorts()),
      new Setting("pekko.remote.artery.canonical.hostname", "PARLEY_CLUSTER_HOST", host()),
      new Setting("pekko.remote.artery.canonical.port", "PARLEY_CLUSTER_PORT", port()),
      new Setting("pekko.remote.artery.bind.hostname", "PARLEY_CLUSTER_BIND_HOST", hostOrEmpty()),
      new Setting("pekko.remote.artery.bind.port", "PARLEY_CLUSTER_BIND_PORT", portOrEmpty()),
      new Setting("pekko.cluster.failure-detector.acceptable-heartbeat-pause", "PARLEY_FAILURE_DETECTOR_PAUSE", duration(ofSeconds(1), ofMinutes(1))),
      new Setting("pekko.cluster.split-brain-resolver.stable-after", "PARLEY_SBR_STABLE_AFTER", duration(ofSeconds(1), ofMinutes(5))),
      // conf/http.conf, conf/application.conf
      new Setting("pekko.loglevel", "PARLEY_PEKKO_LOG_LEVEL", oneOfAnyCase("OFF", "ERROR", "WARNING", "INFO", "DEBUG")),
      // conf/logback.xml reads these from the environment itself
      new Setting(null, "PARLEY_LOG_FORMAT", oneOf("text", "json")),
      new Setting(null, "PARLEY_LOG_LEVEL", oneOfAnyCase("OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE")));

  /** Two durations that must keep their order; checked once both are valid. */
  record Shorter(String shorter, String longer, String why) {}

  static final List<Shorter> ORDER = List.of(
      new Shorter("PARLEY_PING_INTERVAL", "PARLEY_IDLE_TIMEOUT",
          "a client must get a ping before it counts as idle"));

  /** One line per problem, in table order; empty when every value is allowed. */
  static List<String> problems(Config config, Map<String, String> environment) {
    List<String> problems = new ArrayList<>();
    for (Setting setting : SETTINGS) setting.problem(config, environment).ifPresent(problems::add);
    for (Shorter order : ORDER) {
      Setting shorter = byEnv(order.shorter());
      Setting longer = byEnv(order.longer());
      if (shorter.problem(config, environment).isPresent() || longer.problem(config, environment).isPresent()) continue;
      Duration first = config.getDuration(shorter.key());
      Duration second = config.getDuration(longer.key());
      if (first.compareTo(second) >= 0) {
        problems.add(order.shorter() + "=" + Setting.human(first) + " must be shorter than "
            + order.longer() + "=" + Setting.human(second) + ": " + order.why());
      }
    }
    return problems;
  }

  private static Setting byEnv(String env) {
    return SETTINGS.stream().filter(setting -> setting.env().equals(env)).findFirst()
        .orElseThrow(() -> new IllegalStateException(env + " is not in the table"));
  }
}
