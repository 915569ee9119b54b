package io.parley.bench.storage;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;

import java.nio.file.Path;

/** The two stores: H2 in file mode and PostgreSQL, each a Hikari pool with the migrations applied. */
final class Db {
    private Db() {}

    /**
     * H2 in file mode. MODE=PostgreSQL lets the same SQL (ON CONFLICT DO NOTHING, LIMIT) run on
     * both; WRITE_DELAY=0 writes every commit to the file before it returns (the default, 500 ms,
     * keeps commits in memory: a kill -9 loses acknowledged messages, see the crash check).
     */
    static String h2Url(Path dir, boolean writeDelayZero) {
        return "jdbc:h2:file:" + dir.toAbsolutePath().resolve("parley")
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH"
                + (writeDelayZero ? ";WRITE_DELAY=0" : "");
    }

    /**
     * SQLite in WAL mode: a commit appends to the write-ahead log (written to the OS before the
     * commit returns: safe from kill -9; synchronous=NORMAL does not fsync each commit, as H2's
     * WRITE_DELAY=0 does not either; FULL would). busy_timeout lets the other connections wait
     * for the one writer instead of failing.
     */
    static String sqliteUrl(Path dir) {
        try {
            java.nio.file.Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return "jdbc:sqlite:" + dir.toAbsolutePath().resolve("parley.db")
                + "?journal_mode=WAL&synchronous=NORMAL&busy_timeout=10000";
    }

    static HikariDataSource pool(String url, int size, String name) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(url);
        c.setMaximumPoolSize(size);
        c.setMinimumIdle(size);
        c.setPoolName(name);
        c.setConnectionTimeout(5_000);
        return new HikariDataSource(c);
    }

    static void migrate(javax.sql.DataSource ds) {
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
    }
}
