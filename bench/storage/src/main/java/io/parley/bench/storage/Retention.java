package io.parley.bench.storage;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Background trimming: the newest {@code keep} messages of each room and none older than the
 * cut-off. Both rules become one cut per room ("delete seq ≤ cut"), deleted through the primary
 * key in batches of rooms per transaction, so no statement holds many locks for long and writers
 * keep going. rooms.last_seq is never touched: the seq outlives trimming. Rooms already trimmed
 * up to their cut are skipped (the floor is remembered between passes).
 */
final class Retention {
    record Pass(long deleted, int rooms, long millis) {}

    private final DataSource ds;
    private final Map<String, Long> trimmedUpTo = new HashMap<>();

    Retention(DataSource ds) {
        this.ds = ds;
    }

    Pass trim(int keep, Instant olderThan, int roomsPerTransaction) throws SQLException {
        long start = System.nanoTime();
        Map<String, Long> cuts = new HashMap<>();
        try (Connection c = ds.getConnection()) {
            // the count rule, from each room's newest seq (no scan of messages)
            try (PreparedStatement ps = c.prepareStatement("SELECT room_id, last_seq - ? FROM rooms WHERE last_seq > ?")) {
                ps.setLong(1, keep);
                ps.setLong(2, keep);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        cuts.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            // the age rule, through the created_at index: only old rows are read
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT room_id, MAX(seq) FROM messages WHERE created_at < ? GROUP BY room_id")) {
                ps.setTimestamp(1, Timestamp.from(olderThan));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        cuts.merge(rs.getString(1), rs.getLong(2), Math::max);
                    }
                }
            }
            cuts.entrySet().removeIf(e -> e.getValue() <= trimmedUpTo.getOrDefault(e.getKey(), 0L));

            c.setAutoCommit(false);
            long deleted = 0;
            int inTx = 0;
            try (PreparedStatement del = c.prepareStatement("DELETE FROM messages WHERE room_id = ? AND seq <= ?")) {
                for (Map.Entry<String, Long> e : cuts.entrySet()) {
                    del.setString(1, e.getKey());
                    del.setLong(2, e.getValue());
                    del.addBatch();
                    if (++inTx == roomsPerTransaction) {
                        deleted += flush(c, del);
                        inTx = 0;
                    }
                }
                if (inTx > 0) {
                    deleted += flush(c, del);
                }
            }
            c.setAutoCommit(true);
            trimmedUpTo.putAll(cuts);
            return new Pass(deleted, cuts.size(), (System.nanoTime() - start) / 1_000_000);
        }
    }

    private static long flush(Connection c, PreparedStatement del) throws SQLException {
        long n = 0;
        for (int count : del.executeBatch()) {
            n += Math.max(count, 0);
        }
        c.commit();
        return n;
    }
}
