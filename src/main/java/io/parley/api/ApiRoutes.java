package io.parley.api;

import io.parley.client.Connections;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ErrorCode;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server API under {@code /api/} (docs/protocol.md, "Server API"; docs/api.yaml): every call
 * is {@code POST /api/<call>} with a JSON body and an API key. Checks, in order: the API is on
 * (404), the key (401), a known call (404), the node is not draining (503), the body's size
 * (413, without reading more than 64 KiB), its JSON (400); then the call runs ({@link
 * ServerApi}). Each call is one log line (endpoint, status, room; never the key) and counts in
 * {@code parley_api_calls_total} and {@code parley_api_latency_seconds}.
 */
public final class ApiRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(ApiRoutes.class);
  /** The largest body a call may have; larger ones get 413. */
  static final int MAX_BODY = 64 * 1024;
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(3);
  /** The label of calls to paths that are no call. */
  private static final String UNKNOWN = "unknown";
  /** Rooms of a broadcast named in its log line; the rest are counted. */
  private static final int LOGGED_ROOMS = 5;

  /** A call's answer, and the call when its body was decoded (for the log line). */
  private record Outcome(ApiAnswer answer, ApiCall call) {}

  private final ActorSystem<?> system;
  private final ApiKeys keys;
  private final ActorRef<Connections.Command> connections;
  private final ServerApi api;
  private final ParleyMetrics metrics;

  /**
   * @param connections this node's, asked whether it drains
   * @param storeTimeout the room log's: how long a store may take before it counts as down
   */
  public ApiRoutes(ActorSystem<?> system, ApiKeys keys, ActorRef<Connections.Command> connections,
      Duration storeTimeout) {
    this.system = system;
    this.keys = keys;
    this.connections = connections;
    this.api = new ServerApi(system, storeTimeout);
    this.metrics = ParleyMetrics.get(system);
  }

  public Route routes() {
    return pathPrefix("api", () -> extractRequest(request -> {
      long started = System.nanoTime();
      Optional<Endpoint> endpoint = Endpoint.at(request.getUri().path());
      CompletionStage<HttpResponse> response = answer(request, endpoint)
          .exceptionally(failure -> {
            log.error("api call failed", failure);
            return new Outcome(ApiAnswer.error(500, ErrorCode.INTERNAL, "internal error"), null);
          })
          .thenApply(outcome -> {
            ApiAnswer answer = outcome.answer();
            String label = endpoint.map(known -> known.call).orElse(UNKNOWN);
            metrics.apiCall(label, answer.status(), System.nanoTime() - started);
            log.info("api {} status={}{}{}", label, answer.status(),
                answer.code() == null ? "" : " code=" + answer.code(), subject(outcome.call()));
            return HttpResponse.create().withStatus(answer.status())
                .withEntity(ContentTypes.APPLICATION_JSON, answer.body());
          });
      return completeWithFuture(response);
    }));
  }

  private CompletionStage<Outcome> answer(HttpRequest request, Optional<Endpoint> endpoint) {
    if (!keys.enabled()) {
      return done(ApiAnswer.error(404, ApiAnswer.NOT_FOUND, "the server API is off: the node has no PARLEY_API_KEY"));
    }
    if (!keys.accept(request.getHeader("X-API-Key").map(HttpHeader::value),
        request.getHeader("Authorization").map(HttpHeader::value))) {
      return done(ApiAnswer.error(401, ApiAnswer.UNAUTHORIZED,
          "an API key is required, in X-API-Key or as Authorization: apikey KEY"));
    }
    if (endpoint.isEmpty() || !request.method().equals(HttpMethods.POST)) {
      return done(ApiAnswer.error(404, ApiAnswer.NOT_FOUND, "no such call: " + request.method().name() + " "
          + request.getUri().path() + "; the calls are POST /api/publish, broadcast, history, presence, disconnect"));
    }
    OptionalLong length = request.entity().getContentLengthOption();
    if (length.isPresent() && length.getAsLong() > MAX_BODY) return done(tooLarge());
    return draining().thenCompose(draining -> draining
        ? done(ApiAnswer.error(503, ErrorCode.UNAVAILABLE, "the node is shutting down; call another node"))
        : body(request).thenCompose(body -> {
          if (body == null) return done(tooLarge());
          ApiCall call = ApiCallDecoder.decode(endpoint.get(), body);
          return api.call(call).thenApply(answer -> new Outcome(answer, call));
        }));
  }

  /** What the log line names: the room(s) (valid room ids) or the user (no control characters). */
  private static String subject(ApiCall call) {
    if (call instanceof ApiCall.Publish publish) return " room=" + publish.room();
    if (call instanceof ApiCall.History history) return " room=" + history.room();
    if (call instanceof ApiCall.Presence presence) return " room=" + presence.room();
    if (call instanceof ApiCall.Disconnect disconnect) return " user=" + disconnect.user().replaceAll("\\p{Cntrl}", "?");
    if (call instanceof ApiCall.Broadcast broadcast) {
      int more = broadcast.rooms().size() - LOGGED_ROOMS;
      return " rooms=" + String.join(",", broadcast.rooms().subList(0, Math.min(LOGGED_ROOMS, broadcast.rooms().size())))
          + (more > 0 ? " (+" + more + " more)" : "");
    }
    return "";
  }

  /** The body, or null when it is over {@link #MAX_BODY} (it is not read further then). */
  private CompletionStage<byte[]> body(HttpRequest request) {
    return Stages.plain(request.entity().withSizeLimit(MAX_BODY).toStrict(BODY_TIMEOUT.toMillis(), MAX_BODY, system))
        .thenApply(strict -> strict.getData().toArray())
        .exceptionally(failure -> {
          if (causedBy(failure, EntityStreamSizeException.class)) return null;
          throw new CompletionException(failure);
        });
  }

  private CompletionStage<Boolean> draining() {
    return Stages.plain(AskPattern.ask(connections, Connections.IsDraining::new, ASK_TIMEOUT, system.scheduler()));
  }

  private static ApiAnswer tooLarge() {
    return ApiAnswer.error(413, ApiAnswer.TOO_LARGE, "the body is over " + MAX_BODY / 1024 + " KiB");
  }

  private static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (type.isInstance(cause)) return true;
    }
    return false;
  }

  private static CompletionStage<Outcome> done(ApiAnswer answer) {
    return CompletableFuture.completedFuture(new Outcome(answer, null));
  }
}
