package io.parley.bench.storage;

import com.zaxxer.hikari.HikariDataSource;

import java.util.List;
import java.util.concurrent.CompletionStage;

/** The plain JDBC room log: group-committing writers plus a small read pool. */
final class JdbcCandidate implements Candidate {
    private final String name;
    final HikariDataSource pool;
    private final JdbcRoomLog log;
    private final History history;

    JdbcCandidate(String name, String url, JdbcRoomLog.Options options) {
        this.name = name;
        // a connection per writer, held for good, and 4 for reads, room starts and retention
        this.pool = Db.pool(url, options.writers() + 4, name);
        Db.migrate(pool);
        this.log = new JdbcRoomLog(pool, options);
        this.history = new History(pool);
    }

    @Override public String name() { return name; }

    @Override
    public long openRoom(String room) throws Exception {
        return JdbcRoomLog.openRoom(pool, room, "e1").lastSeq();
    }

    @Override public CompletionStage<Void> append(Msg m) { return log.append(m); }

    @Override public List<Msg> newest(String room, int limit) throws Exception { return history.newest(room, limit); }

    @Override public List<Msg> after(String room, long seq, int limit) throws Exception { return history.after(room, seq, limit); }

    @Override
    public double meanBatch() {
        long b = log.batches.get();
        return b == 0 ? Double.NaN : (double) log.messages.get() / b;
    }

    @Override
    public void resetStats() {
        log.batches.set(0);
        log.messages.set(0);
    }

    @Override
    public void close() throws Exception {
        log.close();
        pool.close();
    }
}
