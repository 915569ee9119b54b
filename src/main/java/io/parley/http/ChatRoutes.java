package io.parley.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.auth.JwtSettings;
import io.parley.auth.TokenExtractor;
import io.parley.auth.TokenVerifier;
import io.parley.auth.Tokens;
import io.parley.client.Connections;
import io.parley.client.StreamBridge;
import io.parley.metrics.ParleyMetrics;
import io.parley.online.OnlineTracker;
import io.parley.protocol.User;
import io.parley.ws.WebSocketSettings;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parley's HTTP surface: the WebSocket upgrade at {@code /ws} with every check before it
 * (PROTOCOL.md's refusal table, in its order: 503, 400, 403, 401), {@code /ws/online}, liveness
 * and readiness, the dev token endpoint, and the demo page.
 */
public final class ChatRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(ChatRoutes.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration DEV_TOKEN_TTL = Duration.ofHours(1);
  private static final int MAX_DEV_NAME = 40;

  /**
   * @param devTokens the settings to mint demo tokens with, or null when dev mode is off
   */
  public record Config(
      HttpSettings http,
      WebSocketSettings websocket,
      int outgoingBuffer,
      JwtSettings devTokens) {}

  private final ActorSystem<?> system;
  private final ActorRef<Connections.Command> connections;
  private final ActorRef<OnlineTracker.Command> online;
  private final TokenVerifier verifier;
  private final Executor blocking;
  private final Config config;
  private final ParleyMetrics metrics;
  private final Supplier<CompletionStage<Boolean>> clusterReady;

  public ChatRoutes(
      ActorSystem<?> system,
      ActorRef<Connections.Command> connections,
      ActorRef<OnlineTracker.Command> online,
      TokenVerifier verifier,
      Config config,
      Supplier<CompletionStage<Boolean>> clusterReady) {
    this.system = system;
    this.connections = connections;
    this.online = online;
    this.verifier = verifier;
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    this.config = config;
    this.metrics = ParleyMetrics.get(system);
    this.clusterReady = clusterReady;
  }

  public Route routes() {
    return concat(
        path(PathMatchers.segment("ws").slash("online"), () -> get(this::online)),
        path("ws", () -> get(this::webSocket)),
        path("alive", () -> get(() -> json(StatusCodes.OK, "{\"status\":\"alive\"}"))),
        path("ready", () -> get(this::ready)),
        path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(
            ContentTypes.TEXT_PLAIN_UTF8, metrics.scrape())))),
        path(PathMatchers.segment("dev").slash("token"), () -> post(this::devToken)),
        config.devTokens() == null ? reject() : new AdminRoutes(system, online).routes(),
        get(() -> concat(
            pathSingleSlash(() -> getFromResource("web/index.html")),
            getFromResourceDirectory("web"))));
  }

  // ---- /ws --------------------------------------------------------------------------------------

  private Route webSocket() {
    return extractRequest(request -> extractClientIP(ip -> {
      String remote = ip.getAddress().map(InetAddress::getHostAddress).orElse("unknown");
      return onSuccess(admission(), admission -> {
        if (!admission.admits()) return refuseAdmission(admission, remote);
        Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
        if (upgrade.isEmpty()) {
          return refuse(StatusCodes.BAD_REQUEST, "websocket upgrade required", "no_upgrade", "", remote);
        }
        Optional<String> origin = request.getHeader("Origin").map(HttpHeader::value);
        if (origin.isPresent() && !originAllowed(origin.get())) {
          return refuse(StatusCodes.FORBIDDEN, "origin not allowed", "origin", origin.get(), remote);
        }
        TokenExtractor.Found found = TokenExtractor.extract(
            request.getUri().query().get("token"),
            request.getHeader("Authorization").map(HttpHeader::value),
            offeredProtocols(upgrade.get()));
        return onSuccess(verify(found.token()), result -> {
          if (result instanceof TokenVerifier.Refused refused) {
            return respondWithHeader(RawHeader.create("WWW-Authenticate", "Bearer"), () -> refuse(
                StatusCodes.UNAUTHORIZED, "authentication required", "token", refused.reason(), remote));
          }
          TokenVerifier.Accepted accepted = (TokenVerifier.Accepted) result;
          return onSuccess(open(accepted, remote), opened -> {
            String user = "user " + accepted.user().id();
            if (opened.refusal() != null) {
              return refuse(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", opened.refusal().label(), user, remote);
            }
            return complete(StreamBridge.accept(upgrade.get(), found.subprotocol(), opened.client(),
                config.websocket(), config.outgoingBuffer(), metrics.dropped));
          });
        });
      });
    }));
  }

  /**
   * The token check. With a JWKS URL it may wait for the key set (up to its timeout), so it runs
   * on Pekko's blocking dispatcher, never on the threads that run the actors.
   */
  private CompletionStage<TokenVerifier.Result> verify(String token) {
    return verifier.mayBlock()
        ? CompletableFuture.supplyAsync(() -> verifier.verify(token), blocking)
        : CompletableFuture.completedFuture(verifier.verify(token));
  }

  private boolean originAllowed(String origin) {
    return config.http().allowedOrigins().isEmpty()
        || config.http().allowedOrigins().contains(normalizeOrigin(origin));
  }

  /** Origins compare case-insensitively and without a trailing slash. */
  public static String normalizeOrigin(String origin) {
    String trimmed = origin.trim().toLowerCase(Locale.ROOT);
    return trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed;
  }

  private static List<String> offeredProtocols(WebSocketUpgrade upgrade) {
    List<String> offered = new ArrayList<>();
    upgrade.getRequestedProtocols().forEach(offered::add);
    return offered;
  }

  /**
   * A refusal before the upgrade, logged as one line. {@code reason} is a metrics label from a
   * fixed vocabulary; {@code detail} says more for the log (never a token).
   */
  private Route refuse(StatusCode status, String error, String reason, String detail, String remote) {
    log.info("refused status={} reason={} detail={} remote={}", status.intValue(), reason, detail, remote);
    metrics.refused(status.intValue(), reason);
    return json(status, "{\"error\":\"" + error + "\"}");
  }

  /** 503; beyond the connect rate with {@code Retry-After}, in whole seconds, at least one. */
  private Route refuseAdmission(Connections.Admission admission, String remote) {
    Route refusal = refuse(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", admission.refusal().label(), "", remote);
    if (admission.retryAfter() == null) return refusal;
    long seconds = Math.max(1, (admission.retryAfter().toMillis() + 999) / 1000);
    return respondWithHeader(RetryAfter.create(seconds), () -> refusal);
  }

  private CompletionStage<Connections.Admission> admission() {
    return AskPattern.ask(connections, Connections.CheckAdmission::new, ASK_TIMEOUT, system.scheduler());
  }

  private CompletionStage<Connections.Opened> open(TokenVerifier.Accepted accepted, String remote) {
    return AskPattern.ask(
        connections,
        replyTo -> new Connections.Open(accepted.user(), accepted.expiresAt(), remote, replyTo),
        ASK_TIMEOUT,
        system.scheduler());
  }

  // ---- status endpoints -------------------------------------------------------------------------

  /** The cluster's counts; 503 if the tracker does not answer (never a 500). */
  private Route online() {
    return onComplete(
        AskPattern.ask(online, OnlineTracker.Get::new, ASK_TIMEOUT, system.scheduler()),
        counts -> counts.isSuccess()
            ? json(StatusCodes.OK, "{\"online\":" + counts.get().users()
                + ",\"connections\":" + counts.get().connections() + "}")
            : json(StatusCodes.SERVICE_UNAVAILABLE, "{\"error\":\"unavailable\"}"));
  }

  /** Ready: a cluster member that hosts rooms, and not draining. */
  private Route ready() {
    CompletionStage<Boolean> ready = clusterReady.get().thenCombine(
        AskPattern.ask(connections, Connections.IsDraining::new, ASK_TIMEOUT, system.scheduler()),
        (member, draining) -> member && !draining);
    return onSuccess(ready, isReady -> isReady
        ? json(StatusCodes.OK, "{\"status\":\"ready\"}")
        : json(StatusCodes.SERVICE_UNAVAILABLE, "{\"status\":\"not ready\"}"));
  }

  // ---- dev mode ---------------------------------------------------------------------------------

  private Route devToken() {
    if (config.devTokens() == null) return json(StatusCodes.NOT_FOUND, "{\"error\":\"not found\"}");
    return entity(Unmarshaller.entityToString(), body -> {
      String name = devName(body);
      if (name == null) {
        return json(StatusCodes.BAD_REQUEST,
            "{\"error\":\"name must be 1-" + MAX_DEV_NAME + " characters\"}");
      }
      User user = new User(devUserId(name), name);
      ObjectNode reply = JSON.createObjectNode();
      reply.put("token", Tokens.mint(config.devTokens(), user.id(), user.name(), DEV_TOKEN_TTL));
      reply.putObject("user").put("id", user.id()).put("name", user.name());
      reply.put("expires_in", DEV_TOKEN_TTL.toSeconds());
      return json(StatusCodes.OK, reply.toString());
    });
  }

  private static String devName(String body) {
    try {
      JsonNode name = JSON.readTree(body).get("name");
      if (name == null || !name.isTextual()) return null;
      String trimmed = name.textValue().strip();
      return trimmed.isEmpty() || trimmed.length() > MAX_DEV_NAME ? null : trimmed;
    } catch (Exception e) {
      return null;
    }
  }

  /** The same display name always gets the same user id, so a refreshed token is the same user. */
  static String devUserId(String name) {
    String slug = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
    return slug.isEmpty() ? "u-" + Integer.toHexString(name.hashCode()) : slug;
  }

  private Route json(StatusCode status, String body) {
    return complete(HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, body));
  }
}
