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
import java.util.function.Function;
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
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parley's HTTP surface: the WebSocket upgrade at {@code /ws} with every check before it
 * (docs/protocol.md's refusal table, in its order: 503, 400, 403, 401), {@code /ws/check} (the
 * same checks, answered as JSON), {@code /ws/online}, liveness and readiness, the dev token
 * endpoint, and the demo page.
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
        path(PathMatchers.segment("ws").slash("check"), () -> post(this::check)),
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

  // ---- /ws and /ws/check ------------------------------------------------------------------------

  /** What a connection attempt showed once it passed every check before the upgrade. */
  private record Passed(
      Optional<WebSocketUpgrade> upgrade, TokenExtractor.Found token, TokenVerifier.Accepted accepted, String remote) {}

  /**
   * The checks before an upgrade, in the contract's order: 503 (draining or full), 400 (not an
   * upgrade; only where one is required), 403 (origin), 401 (token). {@code /ws} and
   * {@code /ws/check} both run them, so the check always answers what the upgrade would.
   */
  private Route checked(boolean upgradeRequired, Function<Passed, Route> passed, Function<Refusal, Route> refused) {
    return extractRequest(request -> extractClientIP(ip -> {
      String remote = ip.getAddress().map(InetAddress::getHostAddress).orElse("unknown");
      return onSuccess(admission(), admission -> {
        if (!admission.admits()) {
          return refused.apply(Refusal.unavailable(admission.refusal().label(), "", remote, admission.retryAfter()));
        }
        Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
        if (upgradeRequired && upgrade.isEmpty()) return refused.apply(Refusal.noUpgrade(remote));
        Optional<String> origin = request.getHeader("Origin").map(HttpHeader::value);
        if (origin.isPresent() && !originAllowed(origin.get())) {
          return refused.apply(Refusal.origin(origin.get(), remote));
        }
        TokenExtractor.Found found = TokenExtractor.extract(
            request.getUri().query().get("token"),
            request.getHeader("Authorization").map(HttpHeader::value),
            upgrade.map(ChatRoutes::offeredProtocols).orElse(List.of()));
        return onSuccess(verify(found.token()), result -> result instanceof TokenVerifier.Accepted accepted
            ? passed.apply(new Passed(upgrade, found, accepted, remote))
            : refused.apply(Refusal.token(((TokenVerifier.Refused) result).reason(), remote)));
      });
    }));
  }

  private Route webSocket() {
    return checked(true, passed -> onSuccess(open(passed.accepted(), passed.remote()), opened -> {
      if (opened.refusal() != null) {
        return refuse(Refusal.unavailable(opened.refusal().label(),
            "user " + passed.accepted().user().id(), passed.remote(), null));
      }
      return complete(StreamBridge.accept(passed.upgrade().orElseThrow(), passed.token().subprotocol(),
          opened.client(), config.websocket(), config.outgoingBuffer(), metrics.dropped));
    }), this::refuse);
  }

  /**
   * {@code POST /ws/check}: whether an upgrade with this origin and token would be accepted now.
   * Browsers hide the status of a refused upgrade; a page asks here (same origin, so the browser
   * sends its {@code Origin}) to tell its user why it cannot connect.
   */
  private Route check() {
    return checked(false, passed -> {
      ObjectNode ok = JSON.createObjectNode().put("ok", true);
      ok.putObject("user").put("id", passed.accepted().user().id()).put("name", passed.accepted().user().name());
      return json(StatusCodes.OK, ok.toString());
    }, refusal -> {
      logRefused("check refused", refusal);
      ObjectNode body = JSON.createObjectNode().put("error", refusal.error()).put("reason", refusal.reason());
      if (refusal.reason().equals(Refusal.TOKEN_REJECTED)) body.put("detail", refusal.detail());
      return respond(refusal, body.toString());
    });
  }

  /** An upgrade refused before it opened: one log line, counted, and the contract's answer. */
  private Route refuse(Refusal refusal) {
    logRefused("refused", refusal);
    metrics.refused(refusal.status().intValue(), refusal.label());
    return respond(refusal, JSON.createObjectNode().put("error", refusal.error()).toString());
  }

  private static void logRefused(String what, Refusal refusal) {
    log.info("{} status={} reason={} detail={} remote={}",
        what, refusal.status().intValue(), refusal.label(), refusal.detail(), refusal.remote());
  }

  private Route respond(Refusal refusal, String body) {
    return respondWithHeaders(refusal.headers(), () -> json(refusal.status(), body));
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
        || config.http().allowedOrigins().contains(HttpSettings.normalizeOrigin(origin));
  }

  private static List<String> offeredProtocols(WebSocketUpgrade upgrade) {
    List<String> offered = new ArrayList<>();
    upgrade.getRequestedProtocols().forEach(offered::add);
    return offered;
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
