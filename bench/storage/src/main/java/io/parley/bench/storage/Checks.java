package io.parley.bench.storage;

import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.api.FlywayException;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Which SQL works on both stores, and does the log behave: each check runs on H2 (file,
 * MODE=PostgreSQL) and on PostgreSQL and prints what it saw, as a Markdown table.
 */
final class Checks {
    private Checks() {}

    static void run(String pg, Path data) throws Exception {
        Map<String, String> urls = new LinkedHashMap<>();
        Path h2dir = data.resolve("checks-h2");
        StorageBench.deleteTree(h2dir);
        urls.put("H2 " + org.h2.engine.Constants.VERSION, Db.h2Url(h2dir, true));
        urls.put("SQLite", Db.sqliteUrl(h2dir.resolve("sqlite")));
        if (pg != null) {
            try (Connection c = DriverManager.getConnection(pg); Statement st = c.createStatement()) {
                st.execute("DROP DATABASE IF EXISTS parley_checks WITH (FORCE)");
                st.execute("CREATE DATABASE parley_checks");
                st.execute("DROP DATABASE IF EXISTS parley_checks2 WITH (FORCE)");
                st.execute("CREATE DATABASE parley_checks2");
            }
            urls.put("PostgreSQL", pg.replaceFirst("/[^/?]*(\\?|$)", "/parley_checks$1"));
            urls.put("PostgreSQL, reWriteBatchedInserts", pg.replaceFirst("/[^/?]*(\\?|$)", "/parley_checks2$1")
                    + (pg.contains("?") ? "&" : "?") + "reWriteBatchedInserts=true");
        }
        Map<String, Map<String, String>> table = new LinkedHashMap<>();
        for (var store : urls.entrySet()) {
            try (HikariDataSource ds = Db.pool(store.getValue(), 4, "checks")) {
                checksOn(ds, (check, result) -> table.computeIfAbsent(check, k -> new LinkedHashMap<>()).put(store.getKey(), result));
            }
        }
        System.out.print("| check |");
        urls.keySet().forEach(s -> System.out.print(" " + s + " |"));
        System.out.print("\n|---|");
        urls.keySet().forEach(s -> System.out.print("---|"));
        System.out.println();
        table.forEach((check, byStore) -> {
            System.out.print("| " + check + " |");
            urls.keySet().forEach(s -> System.out.print(" " + byStore.getOrDefault(s, "") + " |"));
            System.out.println();
        });
        StorageBench.deleteTree(h2dir);
        if (pg != null) {
            try (Connection c = DriverManager.getConnection(pg); Statement st = c.createStatement()) {
                st.execute("DROP DATABASE IF EXISTS parley_checks WITH (FORCE)");
                st.execute("DROP DATABASE IF EXISTS parley_checks2 WITH (FORCE)");
            }
        }
    }

    interface Out {
        void put(String check, String result);
    }

    private static void checksOn(HikariDataSource ds, Out out) throws Exception {
        try {
            long t0 = System.nanoTime();
            Db.migrate(ds);
            out.put("Flyway " + org.flywaydb.core.internal.license.VersionPrinter.getVersion() + " migrate V1",
                    "ok (" + (System.nanoTime() - t0) / 1_000_000 + " ms)");
        } catch (FlywayException e) {
            out.put("Flyway migrate V1", "FAILS: " + e.getMessage().lines().findFirst().orElse(""));
            return;
        }
        try (Connection c = ds.getConnection()) {
            out.put("`INSERT … ON CONFLICT DO NOTHING`, a new row / the same again",
                    sql(c, "INSERT INTO rooms VALUES ('r1', 'e1', 0, CURRENT_TIMESTAMP) ON CONFLICT DO NOTHING") + " / "
                            + sql(c, "INSERT INTO rooms VALUES ('r1', 'e2', 0, CURRENT_TIMESTAMP) ON CONFLICT DO NOTHING"));
            out.put("`ON CONFLICT (room_id) DO UPDATE SET … GREATEST(…, EXCLUDED.…)`",
                    sql(c, "INSERT INTO rooms VALUES ('r1', 'e1', 5, CURRENT_TIMESTAMP) ON CONFLICT (room_id)"
                            + " DO UPDATE SET last_seq = GREATEST(rooms.last_seq, EXCLUDED.last_seq)"));
            out.put("`MERGE INTO rooms KEY (room_id) VALUES …` (H2's upsert)",
                    sql(c, "MERGE INTO rooms KEY (room_id) VALUES ('r2', 'e1', 0, CURRENT_TIMESTAMP)"));
            out.put("batch of 3 with `ON CONFLICT DO NOTHING`, the 2nd a duplicate: update counts",
                    batchCounts(c, "INSERT INTO messages VALUES (?, ?, 'm', 's', 'n', '{}', CURRENT_TIMESTAMP) ON CONFLICT DO NOTHING",
                            new long[] {1, 1, 2}));
            out.put("batch of 3 without it, the 3rd a duplicate: error, then rows of the batch kept",
                    batchError(c, new long[] {3, 4, 4}));
            out.put("`ORDER BY seq DESC LIMIT ?` with a parameter", limitParameter(c));
            out.put("`DELETE … WHERE (room_id, seq) IN (SELECT … LIMIT n)`",
                    sql(c, "DELETE FROM messages WHERE (room_id, seq) IN (SELECT room_id, seq FROM messages WHERE created_at < CURRENT_TIMESTAMP ORDER BY created_at LIMIT 1)"));
            out.put("TIMESTAMP WITH TIME ZONE through setTimestamp / getTimestamp", timestampRoundTrip(c));
            out.put("`SELECT … FOR UPDATE SKIP LOCKED`", sql(c, "SELECT room_id FROM rooms FOR UPDATE SKIP LOCKED"));
        }
        logBehaviour(ds, out);
    }

    private static String sql(Connection c, String sql) {
        try (Statement st = c.createStatement()) {
            if (st.execute(sql)) {
                return "ok";
            }
            return "ok, " + st.getUpdateCount() + " row(s)";
        } catch (SQLException e) {
            return "FAILS (" + e.getSQLState() + ": " + e.getMessage().lines().findFirst().orElse("").replace('|', '/') + ")";
        }
    }

    private static String batchCounts(Connection c, String sql, long[] seqs) {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (long s : seqs) {
                ps.setString(1, "b");
                ps.setLong(2, s);
                ps.addBatch();
            }
            return "ok, counts " + java.util.Arrays.toString(ps.executeBatch());
        } catch (SQLException e) {
            return "FAILS (" + e.getSQLState() + ")";
        }
    }

    private static String batchError(Connection c, long[] seqs) throws SQLException {
        c.setAutoCommit(false);
        String result;
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO messages VALUES (?, ?, 'm', 's', 'n', '{}', CURRENT_TIMESTAMP)")) {
            for (long s : seqs) {
                ps.setString(1, "e");
                ps.setLong(2, s);
                ps.addBatch();
            }
            ps.executeBatch();
            c.commit();
            result = "NO ERROR";
        } catch (SQLException e) {
            c.rollback();
            result = JdbcRoomLog.isUniqueViolation(e)
                    ? "unique violation (" + (e.getSQLState() != null ? e.getSQLState() : "code " + e.getErrorCode()) + ")"
                    : "other " + e.getSQLState();
        }
        c.setAutoCommit(true);
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM messages WHERE room_id = 'e'")) {
            rs.next();
            return result + ", " + rs.getLong(1) + " kept after rollback";
        }
    }

    private static String limitParameter(Connection c) {
        try (PreparedStatement ps = c.prepareStatement("SELECT seq FROM messages WHERE room_id = 'b' ORDER BY seq DESC LIMIT ?")) {
            ps.setInt(1, 1);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getLong(1) == 2 && !rs.next() ? "ok" : "WRONG ROWS";
            }
        } catch (SQLException e) {
            return "FAILS (" + e.getSQLState() + ")";
        }
    }

    private static String timestampRoundTrip(Connection c) throws SQLException {
        Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO messages VALUES ('t', 1, 'm', 's', 'n', '{}', ?)")) {
            ps.setTimestamp(1, java.sql.Timestamp.from(now));
            ps.executeUpdate();
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT created_at FROM messages WHERE room_id = 't'")) {
            rs.next();
            Instant back = rs.getTimestamp(1).toInstant();
            return back.equals(now) ? "ok, same instant" : "DIFFERS: " + now + " → " + back;
        }
    }

    /** The room log itself: a stale writer's seq and a repeated idempotency key fail alone. */
    private static void logBehaviour(HikariDataSource ds, Out out) throws Exception {
        try (JdbcRoomLog log = new JdbcRoomLog(ds, new JdbcRoomLog.Options(1, 1000, 1000, true))) {
            JdbcRoomLog.RoomState state = JdbcRoomLog.openRoom(ds, "log", "e1");
            List<CompletionStage<Void>> acks = new ArrayList<>();
            for (long s = 1; s <= 5; s++) {
                acks.add(log.append(Msg.sample("log", s, s == 2 ? "key-A" : null)));
            }
            acks.add(log.append(Msg.sample("log", 3, null)));       // stale writer: seq 3 again
            acks.add(log.append(Msg.sample("log", 6, "key-A")));    // the same key again
            acks.add(log.append(Msg.sample("log", 7, null)));
            List<String> outcome = new ArrayList<>();
            for (CompletionStage<Void> a : acks) {
                try {
                    a.toCompletableFuture().get(10, TimeUnit.SECONDS);
                    outcome.add("ok");
                } catch (java.util.concurrent.ExecutionException e) {
                    outcome.add(e.getCause() instanceof JdbcRoomLog.Conflict ? "conflict" : e.getCause().toString());
                }
            }
            JdbcRoomLog.RoomState after = JdbcRoomLog.openRoom(ds, "log", "other");
            List<Msg> kept = new History(ds).after("log", 0, 100);
            out.put("room log: seqs 1-5 (2 keyed), 3 again, 6 with 2's key, 7: acks",
                    String.join(" ", outcome) + "; stored seqs " + kept.stream().map(m -> String.valueOf(m.seq())).toList()
                            + ", epoch " + after.epoch() + ", last_seq " + after.lastSeq() + " (was " + state.lastSeq() + ")");
        } catch (CompletionException e) {
            out.put("room log", "FAILS " + e);
        }
    }
}
