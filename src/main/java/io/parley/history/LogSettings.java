package io.parley.history;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where the room log lives and what it keeps ({@code parley.storage}, {@code parley.history}).
 *
 * @param url a JDBC URL (PostgreSQL); empty: the embedded store under {@code dataDir}
 * @param keepMessages the newest messages kept per room
 * @param keepFor no message is kept longer
 * @param recoveryLimit most messages a reconnecting client recovers ({@code since})
 * @param idempotencyFor how long a publish's idempotency key holds
 * @param timeout how long a connection to the store may take before the store counts as down
 */
public record LogSettings(
    String url,
    String user,
    String password,
    Path dataDir,
    int keepMessages,
    Duration keepFor,
    int recoveryLimit,
    Duration idempotencyFor,
    Duration timeout) {

  /** The embedded store: one node only, nothing to install. */
  public boolean embedded() {
    return url.isBlank();
  }

  String jdbcUrl() {
    if (!embedded()) return url;
    // one process at a time (H2's file lock); PostgreSQL's dialect so that both stores share SQL;
    // WRITE_DELAY=0: a commit is written out before it is acknowledged (H2's default waits up to
    // half a second, and a kill -9 then loses acknowledged messages: bench/storage)
    return "jdbc:h2:file:" + dataDir.toAbsolutePath().normalize().resolve("parley")
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;WRITE_DELAY=0";
  }

  /** For messages and logs: where the store is, never its password. */
  public String describe() {
    return embedded() ? "the embedded store in " + dataDir.toAbsolutePath().normalize() : url.replaceAll("password=[^&;]*", "password=…");
  }
}
