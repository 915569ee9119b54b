package io.parley.app;

import com.typesafe.config.Config;
import io.parley.api.ApiKeys;
import io.parley.auth.JwtSettings;
import io.parley.client.ClientSettings;
import io.parley.client.ConnectRate;
import io.parley.history.LogSettings;
import io.parley.http.HttpSettings;
import io.parley.ws.WebSocketSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** The {@code parley} configuration namespace, read once at start. */
public record ParleySettings(
    String nodeName,
    HttpSettings http,
    JwtSettings jwt,
    WebSocketSettings websocket,
    ClientSettings client,
    ConnectRate connectRate,
    int maxRoomsPerNode,
    LogSettings log,
    Duration drainDelay,
    Duration closeTimeout,
    boolean devMode,
    ApiKeys apiKeys) {

  /** How long a publish's idempotency key holds (docs/protocol.md, "Server API"). */
  static final Duration IDEMPOTENCY_WINDOW = Duration.ofHours(24);

  /** How long a closing socket waits for the peer's close frame. */
  static final Duration CLOSE_HANDSHAKE_TIMEOUT = Duration.ofSeconds(3);

  /**
   * Reads the settings after checking every value against {@link SettingsTable}.
   *
   * @throws StartFailure with one line per setting whose value is not allowed
   */
  public static ParleySettings load(Config root) {
    List<String> problems = SettingsTable.problems(root, System.getenv());
    if (!problems.isEmpty()) throw new StartFailure(problems);
    Config config = root.getConfig("parley");
    Config limits = config.getConfig("limits");
    Config jwt = config.getConfig("jwt");

    JwtSettings jwtSettings = new JwtSettings(
        jwt.getString("secret"),
        jwt.getString("public-key"),
        new JwtSettings.Jwks(
            jwt.getString("jwks-url").trim(),
            jwt.getDuration("jwks-cache-ttl"),
            jwt.getDuration("jwks-refetch-interval"),
            jwt.getDuration("jwks-timeout")),
        jwt.getString("issuer"),
        jwt.getString("audience"),
        jwt.getBoolean("require-exp"),
        jwt.getDuration("leeway"),
        false).withDevSecretIfUnset();

    Set<String> origins = Arrays.stream(config.getString("http.allowed-origins").split(","))
        .map(String::trim)
        .filter(origin -> !origin.isEmpty())
        .map(HttpSettings::normalizeOrigin)
        .collect(Collectors.toUnmodifiableSet());

    String devMode = config.getString("dev-mode").trim().toLowerCase();
    return new ParleySettings(
        config.getString("node-name"),
        new HttpSettings(config.getString("http.host"), config.getInt("http.port"), origins,
            config.getString("http.public-url").trim().replaceAll("/+$", ""),
            config.getDuration("http.idle-timeout")),
        jwtSettings,
        new WebSocketSettings(
            limits.getInt("max-frame-bytes"),
            limits.getDuration("ping-interval"),
            limits.getDuration("idle-timeout"),
            limits.getDuration("write-timeout"),
            CLOSE_HANDSHAKE_TIMEOUT),
        new ClientSettings(
            limits.getInt("rooms-per-connection"),
            limits.getDouble("rate-per-second"),
            limits.getInt("rate-burst"),
            limits.getInt("abuse-discards"),
            limits.getDuration("abuse-window"),
            limits.getInt("outgoing-buffer"),
            limits.getInt("max-connections"),
            limits.getInt("max-connections-per-user")),
        new ConnectRate(limits.getDouble("max-connect-rate"), limits.getInt("connect-burst")),
        limits.getInt("max-rooms-per-node"),
        new LogSettings(
            config.getString("storage.url").trim(),
            config.getString("storage.user"),
            config.getString("storage.password"),
            Path.of(config.getString("storage.data-dir")),
            config.getInt("history.keep-messages"),
            config.getDuration("history.keep-for"),
            config.getInt("history.recovery-limit"),
            IDEMPOTENCY_WINDOW,
            config.getDuration("storage.timeout")),
        config.getDuration("shutdown.drain-delay"),
        config.getDuration("shutdown.close-timeout"),
        switch (devMode) {
          case "on" -> true;
          case "off" -> false;
          default -> jwtSettings.devSecret(); // auto
        },
        ApiKeys.parse(config.getString("api.keys")));
  }
}
