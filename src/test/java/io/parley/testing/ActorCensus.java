package io.parley.testing;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.AbstractActor;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.ActorIdentity;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Identify;
import org.apache.pekko.actor.Props;
import org.apache.pekko.actor.ReceiveTimeout;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Counts the live actors whose paths match a pattern ({@code /user/connections/*}: a node's
 * ClientActors; {@code /system/Materializers/*}{@code /*}: its running streams, one per HTTP or
 * WebSocket connection), by asking each to identify itself. The answers are local, so the count
 * is complete once none has come for a short while.
 */
public final class ActorCensus {
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final AtomicInteger CENSUSES = new AtomicInteger();

  private ActorCensus() {}

  public static int count(ActorSystem<?> system, String pathPattern) {
    CompletableFuture<Integer> result = new CompletableFuture<>();
    ActorRef counter = ((ExtendedActorSystem) system.classicSystem()).systemActorOf(
        Props.create(Counter.class, () -> new Counter(result)), "census-" + CENSUSES.incrementAndGet());
    system.classicSystem().actorSelection(pathPattern).tell(new Identify(pathPattern), counter);
    try {
      return result.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("no census of " + pathPattern, e);
    }
  }

  private static final class Counter extends AbstractActor {
    private final CompletableFuture<Integer> result;
    private int alive;

    Counter(CompletableFuture<Integer> result) {
      this.result = result;
    }

    @Override
    public void preStart() {
      getContext().setReceiveTimeout(QUIET);
    }

    @Override
    public Receive createReceive() {
      return receiveBuilder()
          .match(ActorIdentity.class, identity -> {
            if (identity.getActorRef().isPresent()) alive++;
          })
          .match(ReceiveTimeout.class, timeout -> {
            result.complete(alive);
            getContext().stop(getSelf());
          })
          .build();
    }
  }
}
