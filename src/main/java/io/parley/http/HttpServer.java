package io.parley.http;

import io.parley.common.Addresses;
import io.parley.ws.HttpIdleTimeout;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.javadsl.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds the routes and unbinds them through CoordinatedShutdown. A failed bind fails the returned
 * stage; the node's start ({@code ParleyNode}) then stops the node and says why. Each connection
 * idle for {@link HttpSettings#idleTimeout()} before its upgrade is closed ({@link HttpIdleTimeout};
 * pekko-http's own idle timeout is off).
 */
public final class HttpServer {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);
  /** After unbinding, how long open requests may take before connections are cut. */
  private static final Duration HARD_TERMINATION = Duration.ofSeconds(10);

  private HttpServer() {}

  public static CompletionStage<ServerBinding> start(
      ActorSystem<?> system, Route route, HttpSettings settings) {
    ServerSettings server = ServerSettings.create(system.classicSystem());
    // what pekko-http's bind(route) runs for each connection
    Flow<HttpRequest, HttpResponse, NotUsed> requests =
        Flow.of(HttpRequest.class).mapAsync(server.getPipeliningLimit(), route.handler(system));
    CompletionStage<ServerBinding> binding = Http.get(system)
        .newServerAt(settings.host(), settings.port())
        .bindFlow(HttpIdleTimeout.around(requests, settings.idleTimeout()));
    return binding.thenApply(bound -> {
      bound.addToCoordinatedShutdown(HARD_TERMINATION, system);
      log.info("listening on {}", Addresses.openableUrl(bound.localAddress()));
      return bound;
    });
  }
}
