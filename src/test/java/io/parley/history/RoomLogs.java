package io.parley.history;

import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/** Room log settings for tests. */
public final class RoomLogs {
  private RoomLogs() {}

  /** A fresh in-memory store of this JVM, with the shipped retention and limits. */
  public static LogSettings inMemory() {
    return withUrl("jdbc:h2:mem:log-" + UUID.randomUUID()
        + ";DB_CLOSE_DELAY=-1;MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH");
  }

  public static LogSettings withUrl(String url) {
    return new LogSettings(url, "", "", Path.of("target", "unused"), 1000, Duration.ofDays(30), 1000,
        Duration.ofHours(24), Duration.ofSeconds(2));
  }
}
