package io.parley.app;

import io.parley.client.Connections;
import io.parley.ws.CloseCodes;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.pattern.Patterns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Graceful shutdown (SIGTERM runs CoordinatedShutdown): refuse new upgrades with 503 and report
 * not ready, wait {@code drainDelay} for load balancers to notice, close every socket with 1001,
 * and only then let the HTTP server unbind and the node leave the cluster.
 */
final class Drain {
  private static final Logger log = LoggerFactory.getLogger(Drain.class);
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(3);

  private Drain() {}

  static void register(
      ActorSystem<?> system,
      ActorRef<Connections.Command> connections,
      Duration drainDelay,
      Duration closeTimeout) {
    CoordinatedShutdown.get(system).addTask(
        CoordinatedShutdown.PhaseBeforeServiceUnbind(), "parley-drain", () -> {
          log.info("draining: refusing upgrades, closing sockets in {}", drainDelay);
          return AskPattern.<Connections.Command, Done>ask(
                  connections, Connections.StopAdmitting::new, ASK_TIMEOUT, system.scheduler())
              .thenCompose(done -> Patterns.after(
                  drainDelay, system.classicSystem().scheduler(), system.executionContext(),
                  () -> closeAll(system, connections, closeTimeout)));
        });
  }

  private static CompletionStage<Done> closeAll(
      ActorSystem<?> system, ActorRef<Connections.Command> connections, Duration closeTimeout) {
    return AskPattern.<Connections.Command, Done>ask(
            connections,
            replyTo -> new Connections.CloseAll(CloseCodes.GOING_AWAY, "server shutting down", replyTo),
            closeTimeout,
            system.scheduler())
        .exceptionally(timeout -> {
          log.warn("not every socket closed within {}", closeTimeout);
          return Done.getInstance();
        })
        .thenApply(done -> {
          log.info("drained");
          return done;
        });
  }
}
