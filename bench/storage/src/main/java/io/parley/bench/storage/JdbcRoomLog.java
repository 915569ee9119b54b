package io.parley.bench.storage;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The plain JDBC room log with group commit. Each room is written by one writer (its hash picks
 * it), so a room's messages commit in seq order; a writer is a thread with a bounded queue and
 * one connection. It takes whatever has queued up (at most {@code maxBatch}) and writes it, from
 * every room, in one transaction: one round trip and one commit for the lot. A caller's stage
 * completes after the commit, on the writer's thread (an actor would pipe it to itself).
 *
 * <p>A full queue refuses at once (the room answers UNAVAILABLE), nothing blocks the caller. A
 * failed commit fails every message of the batch and nothing of it is stored. A primary-key
 * conflict (a stale writer of a room that moved, or an idempotency key written by another node)
 * rolls back and the batch is written again one message at a time under savepoints, so that only
 * the conflicting messages fail.
 */
final class JdbcRoomLog implements AutoCloseable {

    static final class Conflict extends RuntimeException {
        Conflict(String m) { super(m, null, false, false); }
    }

    static final class Overloaded extends RuntimeException {
        Overloaded() { super("room log queue full", null, false, false); }
    }

    record Options(int writers, int maxBatch, int queueCapacity, boolean updateRoomsPerBatch) {}

    private record Pending(Msg msg, CompletableFuture<Void> done) {}

    private static final String INSERT_MESSAGE =
            "INSERT INTO messages (room_id, seq, message_id, sender_id, sender_name, payload, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?)";
    private static final String INSERT_KEY =
            "INSERT INTO idempotency_keys (room_id, idempotency_key, seq, message_id, created_at)"
                    + " VALUES (?, ?, ?, ?, ?)";
    private static final String ADVANCE_ROOM =
            "UPDATE rooms SET last_seq = ? WHERE room_id = ? AND last_seq < ?";

    private final DataSource ds;
    private final Options options;
    private final Writer[] writers;
    final AtomicLong batches = new AtomicLong();
    final AtomicLong messages = new AtomicLong();

    JdbcRoomLog(DataSource ds, Options options) {
        this.ds = ds;
        this.options = options;
        this.writers = new Writer[options.writers()];
        for (int i = 0; i < writers.length; i++) {
            writers[i] = new Writer(i);
            writers[i].start();
        }
    }

    /** Stores one message; the stage completes once it is committed. Never blocks. */
    CompletionStage<Void> append(Msg m) {
        Writer w = writers[Math.floorMod(m.roomId().hashCode(), writers.length)];
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (!w.queue.offer(new Pending(m, done))) {
            done.completeExceptionally(new Overloaded());
        }
        return done;
    }

    record RoomState(String epoch, long lastSeq) {}

    /**
     * What a RoomActor reads before it takes its first message: the room's epoch and newest seq
     * (the row is made, with {@code newEpoch} and seq 0, on the room's very first start). The
     * newest seq is the larger of rooms.last_seq and the newest stored message, so it is right
     * whether or not last_seq is advanced with every batch.
     */
    static RoomState openRoom(DataSource ds, String roomId, String newEpoch) throws SQLException {
        try (Connection c = ds.getConnection()) {
            try (PreparedStatement ins = c.prepareStatement(
                    "INSERT INTO rooms (room_id, epoch, last_seq, created_at) VALUES (?, ?, 0, ?)"
                            + " ON CONFLICT DO NOTHING")) {
                ins.setString(1, roomId);
                ins.setString(2, newEpoch);
                ins.setTimestamp(3, new Timestamp(System.currentTimeMillis()));
                ins.executeUpdate();
            }
            try (PreparedStatement q = c.prepareStatement(
                    "SELECT r.epoch, r.last_seq, (SELECT MAX(seq) FROM messages m WHERE m.room_id = r.room_id)"
                            + " FROM rooms r WHERE r.room_id = ?")) {
                q.setString(1, roomId);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    return new RoomState(rs.getString(1), Math.max(rs.getLong(2), rs.getLong(3)));
                }
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (Writer w : writers) {
            w.running = false;
        }
        for (Writer w : writers) {
            w.join(10_000);
        }
    }

    private final class Writer extends Thread {
        final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(options.queueCapacity());
        volatile boolean running = true;
        private Connection conn;

        Writer(int i) {
            super("room-log-writer-" + i);
            setDaemon(true);
        }

        @Override
        public void run() {
            List<Pending> batch = new ArrayList<>(options.maxBatch());
            while (running || !queue.isEmpty()) {
                try {
                    Pending first = queue.poll(50, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                    queue.drainTo(batch, options.maxBatch() - 1);
                    write(batch);
                } catch (InterruptedException e) {
                    return;
                } finally {
                    batch.clear();
                }
            }
            closeConnection();
        }

        private void write(List<Pending> batch) {
            try {
                Connection c = connection();
                try {
                    insertAll(c, batch);
                    c.commit();
                } catch (SQLException e) {
                    c.rollback();
                    if (!isUniqueViolation(e)) {
                        throw e;
                    }
                    writeOneByOne(c, batch);
                    return;
                }
                batches.incrementAndGet();
                messages.addAndGet(batch.size());
                for (Pending p : batch) {
                    p.done.complete(null);
                }
            } catch (SQLException | RuntimeException e) {
                closeConnection(); // a broken connection is replaced on the next batch
                for (Pending p : batch) {
                    p.done.completeExceptionally(e);
                }
            }
        }

        /** The rare path: isolates the messages that conflict, stores the others. */
        private void writeOneByOne(Connection c, List<Pending> batch) throws SQLException {
            List<Pending> stored = new ArrayList<>();
            for (Pending p : batch) {
                Savepoint sp = c.setSavepoint();
                try {
                    insertAll(c, List.of(p));
                    c.releaseSavepoint(sp);
                    stored.add(p);
                } catch (SQLException e) {
                    c.rollback(sp);
                    if (!isUniqueViolation(e)) {
                        throw e;
                    }
                    p.done.completeExceptionally(new Conflict(p.msg.roomId() + "/" + p.msg.seq()));
                }
            }
            c.commit();
            batches.incrementAndGet();
            messages.addAndGet(stored.size());
            stored.forEach(p -> p.done.complete(null));
        }

        private void insertAll(Connection c, List<Pending> batch) throws SQLException {
            Map<String, Long> newest = new HashMap<>();
            boolean keyed = false;
            try (PreparedStatement ps = c.prepareStatement(INSERT_MESSAGE)) {
                for (Pending p : batch) {
                    Msg m = p.msg;
                    ps.setString(1, m.roomId());
                    ps.setLong(2, m.seq());
                    ps.setString(3, m.messageId());
                    ps.setString(4, m.senderId());
                    ps.setString(5, m.senderName());
                    ps.setString(6, m.payload());
                    ps.setTimestamp(7, Timestamp.from(m.createdAt()));
                    ps.addBatch();
                    newest.merge(m.roomId(), m.seq(), Math::max);
                    keyed |= m.idempotencyKey() != null;
                }
                ps.executeBatch();
            }
            if (keyed) {
                try (PreparedStatement ps = c.prepareStatement(INSERT_KEY)) {
                    for (Pending p : batch) {
                        Msg m = p.msg;
                        if (m.idempotencyKey() == null) {
                            continue;
                        }
                        ps.setString(1, m.roomId());
                        ps.setString(2, m.idempotencyKey());
                        ps.setLong(3, m.seq());
                        ps.setString(4, m.messageId());
                        ps.setTimestamp(5, Timestamp.from(m.createdAt()));
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
            if (options.updateRoomsPerBatch()) {
                try (PreparedStatement ps = c.prepareStatement(ADVANCE_ROOM)) {
                    for (Map.Entry<String, Long> e : newest.entrySet()) {
                        ps.setLong(1, e.getValue());
                        ps.setString(2, e.getKey());
                        ps.setLong(3, e.getValue());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
        }

        private Connection connection() throws SQLException {
            if (conn == null) {
                conn = ds.getConnection();
                conn.setAutoCommit(false);
            }
            return conn;
        }

        private void closeConnection() {
            if (conn != null) {
                try {
                    conn.close();
                } catch (SQLException ignored) {
                    // already broken
                }
                conn = null;
            }
        }
    }

    /**
     * SQLState 23505 on PostgreSQL and H2 alike (a batch wraps it in BatchUpdateException);
     * SQLite gives no SQLState but its error code 19, SQLITE_CONSTRAINT.
     */
    static boolean isUniqueViolation(SQLException e) {
        for (Throwable t = e; t instanceof SQLException s; t = s.getNextException() != null ? s.getNextException() : s.getCause()) {
            if ("23505".equals(s.getSQLState()) || (s.getSQLState() == null && s.getErrorCode() == 19)) {
                return true;
            }
        }
        return false;
    }
}
