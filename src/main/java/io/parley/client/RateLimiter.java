package io.parley.client;

import java.util.ArrayDeque;
import java.util.function.LongSupplier;

/**
 * A connection's frame rate limit: a token bucket ({@code ratePerSecond}, {@code burst}), and a
 * sliding window of the frames it discarded, so that sustained abuse can be told from a burst.
 */
final class RateLimiter {
  private final double tokensPerNano;
  private final int burst;
  private final int abuseDiscards;
  private final long abuseWindowNanos;
  private final LongSupplier nanoClock;
  private double tokens;
  private long refilledAt;
  /** Times of recent discards; allocated on the first one, at most abuseDiscards + 1 long. */
  private ArrayDeque<Long> discards;

  RateLimiter(ClientSettings settings, LongSupplier nanoClock) {
    this.tokensPerNano = settings.ratePerSecond() / 1e9;
    this.burst = settings.rateBurst();
    this.abuseDiscards = settings.abuseDiscards();
    this.abuseWindowNanos = settings.abuseWindow().toNanos();
    this.nanoClock = nanoClock;
    this.tokens = burst;
    this.refilledAt = nanoClock.getAsLong();
  }

  /** Takes a token for one frame; false when the frame must be discarded. */
  boolean tryAcquire() {
    long now = nanoClock.getAsLong();
    tokens = Math.min(burst, tokens + (now - refilledAt) * tokensPerNano);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  /** Records a discarded frame; true when more than abuseDiscards fell within the window. */
  boolean discardIsAbuse() {
    long now = nanoClock.getAsLong();
    if (discards == null) discards = new ArrayDeque<>();
    discards.addLast(now);
    while (now - discards.peekFirst() > abuseWindowNanos) discards.removeFirst();
    return discards.size() > abuseDiscards;
  }
}
