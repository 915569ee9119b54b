package io.parley.http;

import io.parley.common.Addresses;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds the routes and unbinds them through CoordinatedShutdown. A failed bind fails the returned
 * stage; the node's start ({@code ParleyNode}) then stops the node and says why.
 */
public final class HttpServer {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);
  /** After unbinding, how long open requests may take before connections are cut. */
  private static final Duration HARD_TERMINATION = Duration.ofSeconds(10);

  private HttpServer() {}

  public static CompletionStage<ServerBinding> start(
      ActorSystem<?> system, Route route, HttpSettings settings) {
    CompletionStage<ServerBinding> binding =
        Http.get(system).newServerAt(settings.host(), settings.port()).bind(route);
    return binding.thenApply(bound -> {
      bound.addToCoordinatedShutdown(HARD_TERMINATION, system);
      log.info("listening on {}", Addresses.openableUrl(bound.localAddress()));
      return bound;
    });
  }
}
