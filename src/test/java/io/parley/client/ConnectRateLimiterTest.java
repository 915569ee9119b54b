package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The connect rate's token bucket and the return slots it hands out, on a clock the test moves. */
class ConnectRateLimiterTest {
  private long now = 1_000_000_000L;

  private ConnectRateLimiter limiter(double perSecond, int burst) {
    return new ConnectRateLimiter(new ConnectRate(perSecond, burst), () -> now);
  }

  private void advance(Duration duration) {
    now += duration.toNanos();
  }

  @Test
  void admitsTheBurstAtOnceThenOnePerToken() {
    ConnectRateLimiter limiter = limiter(10, 3);
    for (int i = 0; i < 3; i++) assertThat(limiter.acquire()).isZero();
    assertThat(limiter.acquire()).isEqualTo(Duration.ofMillis(100));

    advance(Duration.ofMillis(100));
    assertThat(limiter.acquire()).isZero();
    assertThat(limiter.acquire()).isPositive();
  }

  @Test
  void refusedCallersAreGivenSuccessiveSlotsOnePerToken() {
    ConnectRateLimiter limiter = limiter(10, 1);
    assertThat(limiter.acquire()).isZero();
    List<Duration> waits = new ArrayList<>();
    for (int i = 0; i < 5; i++) waits.add(limiter.acquire());
    assertThat(waits).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200),
        Duration.ofMillis(300), Duration.ofMillis(400), Duration.ofMillis(500));

    advance(Duration.ofMillis(250));
    assertThat(limiter.acquire()).as("a token came meanwhile").isZero();
    assertThat(limiter.acquire()).as("after the slots already handed out").isEqualTo(Duration.ofMillis(350));
  }

  @Test
  void noCallerIsToldToWaitLongerThanTheMaximum() {
    ConnectRateLimiter limiter = limiter(1, 1);
    Duration last = Duration.ZERO;
    for (int i = 0; i < 200; i++) last = limiter.acquire();
    assertThat(last).isEqualTo(ConnectRateLimiter.MAX_WAIT);
  }

  @Test
  void aQuietSpellFillsTheBucketOnlyUpToTheBurst() {
    ConnectRateLimiter limiter = limiter(5, 2);
    advance(Duration.ofHours(1));
    assertThat(limiter.acquire()).isZero();
    assertThat(limiter.acquire()).isZero();
    assertThat(limiter.acquire()).isPositive();
  }
}
