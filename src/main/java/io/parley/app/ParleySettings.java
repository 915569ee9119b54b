package io.parley.app;

import com.typesafe.config.Config;
import io.parley.auth.JwtSettings;
import io.parley.client.ClientSettings;
import io.parley.client.ConnectRate;
import io.parley.http.ChatRoutes;
import io.parley.http.HttpSettings;
import io.parley.ws.WebSocketSettings;
import java.time.Duration;
import java.util.Arrays;
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
    Duration drainDelay,
    Duration closeTimeout,
    boolean devMode) {

  /** How long a closing socket waits for the peer's close frame. */
  static final Duration CLOSE_HANDSHAKE_TIMEOUT = Duration.ofSeconds(3);

  public static ParleySettings load(Config root) {
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
        .map(ChatRoutes::normalizeOrigin)
        .collect(Collectors.toUnmodifiableSet());

    String devMode = config.getString("dev-mode").trim().toLowerCase();
    return new ParleySettings(
        config.getString("node-name"),
        new HttpSettings(config.getString("http.host"), config.getInt("http.port"), origins),
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
        config.getDuration("shutdown.drain-delay"),
        config.getDuration("shutdown.close-timeout"),
        switch (devMode) {
          case "on", "true", "yes" -> true;
          case "off", "false", "no" -> false;
          case "auto" -> jwtSettings.devSecret();
          default -> throw new IllegalArgumentException(
              "parley.dev-mode must be auto, on or off, not " + devMode);
        });
  }
}
