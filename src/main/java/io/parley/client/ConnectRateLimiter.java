package io.parley.client;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The node's connect rate: a token bucket. A refused caller is told when to come back: the next
 * free slot, one per token the bucket will have, so that the clients of a reconnect storm come
 * back spread out at the rate the node admits instead of all again at once.
 */
final class ConnectRateLimiter {
  /** The longest wait handed out; later callers of a long storm all get this. */
  static final Duration MAX_WAIT = Duration.ofSeconds(60);

  private final double tokensPerNano;
  private final long nanosPerToken;
  private final int burst;
  private final LongSupplier nanoClock;
  private double tokens;
  private long refilledAt;
  /** The time handed to the next refused caller, unless a token comes sooner. */
  private long nextSlot;

  ConnectRateLimiter(ConnectRate rate, LongSupplier nanoClock) {
    this.tokensPerNano = rate.perSecond() / 1e9;
    this.nanosPerToken = (long) Math.ceil(1e9 / rate.perSecond());
    this.burst = rate.burst();
    this.nanoClock = nanoClock;
    this.tokens = burst;
    this.refilledAt = nanoClock.getAsLong();
    this.nextSlot = refilledAt;
  }

  /** Takes a token and answers zero, or answers how long this caller should wait. */
  Duration acquire() {
    long now = nanoClock.getAsLong();
    tokens = Math.min(burst, tokens + (now - refilledAt) * tokensPerNano);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return Duration.ZERO;
    }
    long nextToken = now + (long) Math.ceil((1 - tokens) / tokensPerNano);
    long slot = Math.min(Math.max(nextSlot, nextToken), now + MAX_WAIT.toNanos());
    nextSlot = slot + nanosPerToken;
    return Duration.ofNanos(slot - now);
  }
}
