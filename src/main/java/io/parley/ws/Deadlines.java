package io.parley.ws;

import java.util.function.LongConsumer;

/**
 * One connection's deadlines (System.nanoTime, or {@link ConnectionClock#NONE}): set by its stage,
 * read by the node's {@link ConnectionClock}, which calls {@code wake} (on the clock's thread)
 * when one of them is due.
 */
final class Deadlines extends ConnectionClock.Watched {
  static final long NONE = ConnectionClock.NONE;

  volatile long ping = NONE;
  volatile long idle = NONE;
  volatile long write = NONE;
  volatile long close = NONE;
  private final LongConsumer wake;

  Deadlines(LongConsumer wake) {
    this.wake = wake;
  }

  static boolean due(long deadline, long now) {
    return deadline != NONE && now - deadline >= 0;
  }

  @Override
  long check(long now) {
    if (due(ping, now) || due(idle, now) || due(write, now) || due(close, now)) wake.accept(now);
    return next();
  }

  /** The earliest deadline set, or NONE. */
  long next() {
    return earliest(earliest(ping, idle), earliest(write, close));
  }

  private static long earliest(long a, long b) {
    if (a == NONE) return b;
    if (b == NONE) return a;
    return a - b < 0 ? a : b;
  }
}
