package io.parley.room;

import java.util.concurrent.ThreadLocalRandom;

/** Message ids: unique without coordination (the time, then 64 random bits), in base 36. */
final class MessageIds {
  private MessageIds() {}

  static String next() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return Long.toString(System.currentTimeMillis(), 36) + "-"
        + Long.toUnsignedString(random.nextLong(), 36);
  }
}
