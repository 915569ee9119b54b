package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The node's timing wheel looks at a connection at its deadlines, and only then. */
@ExtendWith(LogCapturingExtension.class)
class ConnectionClockTest {
  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Duration TICK = Duration.ofMillis(20);
  private static final ConnectionClock clock = ConnectionClock.get(Adapter.toClassic(testKit.system()));

  static {
    clock.ensureTick(TICK);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /** Records when it was looked at; asks to be looked at again {@code every} later. */
  private static final class Recorder extends ConnectionClock.Watched {
    final List<Long> checks = new CopyOnWriteArrayList<>();
    final long every;

    Recorder(Duration every) {
      this.every = every.toNanos();
    }

    @Override
    long check(long now) {
      checks.add(now);
      return every == 0 ? ConnectionClock.NONE : now + every;
    }
  }

  @Test
  void theTickKeepsATenthOfTheShortestTimeoutWithinBounds() {
    assertThat(ConnectionClock.tickFor(Duration.ofSeconds(54))).isEqualTo(Duration.ofMillis(500));
    assertThat(ConnectionClock.tickFor(Duration.ofMillis(400))).isEqualTo(Duration.ofMillis(40));
    assertThat(ConnectionClock.tickFor(Duration.ofMillis(20))).isEqualTo(Duration.ofMillis(10));
  }

  @Test
  void aConnectionIsLookedAtAtEachOfItsDeadlinesNotAtEveryTick() {
    Recorder connection = new Recorder(Duration.ofMillis(300));
    long start = System.nanoTime();
    clock.wakeAt(connection, start + Duration.ofMillis(300).toNanos());
    TestProbe<Void> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertThat(connection.checks).hasSizeGreaterThanOrEqualTo(3);
      return null;
    });
    long third = connection.checks.get(2);
    clock.forget(connection);
    // three deadlines 300 ms apart took at least 900 ms: not one look per 20 ms tick
    assertThat(Duration.ofNanos(third - start)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
    for (int i = 1; i < 3; i++) {
      assertThat(Duration.ofNanos(connection.checks.get(i) - connection.checks.get(i - 1)))
          .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }
  }

  @Test
  void anEarlierDeadlineIsKeptAndTheLaterOneDropped() {
    Recorder connection = new Recorder(Duration.ZERO);
    long now = System.nanoTime();
    clock.wakeAt(connection, now + Duration.ofSeconds(3600).toNanos());
    clock.wakeAt(connection, now + Duration.ofMillis(100).toNanos());
    TestProbe<Void> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertThat(connection.checks).hasSize(1);
      return null;
    });
    assertThat(connection.checks.get(0) - now).isGreaterThanOrEqualTo(Duration.ofMillis(100).toNanos());
  }

  @Test
  void aForgottenConnectionIsNotLookedAtAgain() {
    Recorder forgotten = new Recorder(Duration.ofMillis(50));
    Recorder witness = new Recorder(Duration.ZERO);
    long now = System.nanoTime();
    clock.wakeAt(forgotten, now + Duration.ofMillis(100).toNanos());
    clock.forget(forgotten);
    clock.wakeAt(witness, now + Duration.ofMillis(300).toNanos());
    TestProbe<Void> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertThat(witness.checks).hasSize(1);
      return null;
    });
    assertThat(forgotten.checks).isEmpty();
  }
}
