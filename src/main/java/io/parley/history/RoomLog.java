package io.parley.history;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable log of every room's messages: one per node, over the node's store (an embedded H2
 * database on disk, or PostgreSQL shared by a cluster). Appends are group-committed: one writer
 * thread takes whatever appends are waiting, from any number of rooms, and stores them in one
 * transaction, so a busy room never waits one database round trip per message. Reads run on their
 * own small pool. Nothing here runs on an actor's thread; every call answers with a
 * CompletionStage.
 *
 * <p>A room appends in seq order and learns each outcome in that order. When a batch fails, every
 * later append of its rooms fails too, until the room {@link #load}s again: so a room never
 * stores seq k+1 after k was lost. The primary key (room, seq) makes sure that no seq is ever
 * stored twice, whoever writes.
 */
public final class RoomLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RoomLog.class);
  private static final int MAX_BATCH = 512;
  /**
   * Writers per node: one for an embedded store (a single file takes one writer at a time); a
   * few for PostgreSQL, where one writer waits on round trips rather than CPU.
   */
  private static int writersFor(LogSettings settings) {
    return settings.embedded() ? 1 : 3;
  }
  private static final int QUEUE_CAPACITY = 65_536;
  private static final Duration TRIM_INTERVAL = Duration.ofMinutes(1);
  /** How often the store is asked whether it answers, so that readiness follows it when idle. */
  private static final Duration PROBE_INTERVAL = Duration.ofSeconds(2);

  /** A stored message: its seq, its id, and the {@code new_message} frame it was delivered as. */
  public record Message(long seq, String id, byte[] frame) {}

  /** A room's log as it starts: its epoch, the last seq it gave, and its newest messages. */
  public record Room(String epoch, long lastSeq, List<Message> newest) {}

  /** The first publish with an idempotency key: its message id and seq. */
  public record Published(String messageId, long seq) {}

  private record Append(String room, Message message, String idempotencyKey, Instant at,
      CompletableFuture<Void> done) {}

  private final LogSettings settings;
  private final HikariDataSource pool;
  /** A room's appends always go to the same writer, so that they are stored in order. */
  private final Writer[] writers;
  /** Rooms appended to since the last trim, with their last seq. */
  private final Map<String, Long> appended = new ConcurrentHashMap<>();
  private final ExecutorService reads;
  private final ScheduledExecutorService trimmer;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicBoolean reachable = new AtomicBoolean(true);

  /** A room's appends before this marker have been decided; it may load. */
  private record Reset(String room, CompletableFuture<Void> done) {}

  private RoomLog(LogSettings settings, HikariDataSource pool) {
    this.settings = settings;
    this.pool = pool;
    this.reads = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS,
        new LinkedBlockingQueue<>(QUEUE_CAPACITY), runnable -> daemon(runnable, "room-log-read"));
    this.trimmer = Executors.newSingleThreadScheduledExecutor(
        runnable -> daemon(runnable, "room-log-trim"));
    this.writers = new Writer[writersFor(settings)];
    for (int i = 0; i < writers.length; i++) writers[i] = new Writer("room-log-write-" + i);
    trimmer.scheduleWithFixedDelay(this::trim, TRIM_INTERVAL.toMillis(), TRIM_INTERVAL.toMillis(),
        TimeUnit.MILLISECONDS);
    trimmer.scheduleWithFixedDelay(this::probe, PROBE_INTERVAL.toMillis(), PROBE_INTERVAL.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /**
   * Opens the store and brings its schema up to date.
   *
   * @throws StoreException when the store cannot be opened (unreachable, wrong credentials, or an
   *     embedded store that another process holds)
   */
  public static RoomLog open(LogSettings settings) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(settings.jdbcUrl());
    if (!settings.user().isEmpty()) config.setUsername(settings.user());
    if (!settings.password().isEmpty()) config.setPassword(settings.password());
    config.setMaximumPoolSize(writersFor(settings) + 3);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(settings.timeout().toMillis());
    config.setValidationTimeout(Math.max(250, settings.timeout().toMillis() / 2));
    config.setInitializationFailTimeout(settings.timeout().toMillis());
    config.setPoolName("room-log");
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(config);
    } catch (RuntimeException e) {
      throw new StoreException("cannot open the room log at " + settings.describe() + ": " + rootMessage(e), e);
    }
    try {
      migrate(pool);
    } catch (RuntimeException e) {
      pool.close();
      throw new StoreException("cannot prepare the room log at " + settings.describe() + ": " + rootMessage(e), e);
    }
    log.info("room log: {}", settings.describe());
    return new RoomLog(settings, pool);
  }

  private static void migrate(DataSource dataSource) {
    Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").load().migrate();
  }

  /** Whether the store answered the last time it was used. */
  public boolean reachable() {
    return reachable.get();
  }

  public LogSettings settings() {
    return settings;
  }

  // ---- rooms ------------------------------------------------------------------------------------

  /**
   * A room's log: its epoch (a new one for a room never seen, or a store that was wiped), the
   * last seq it gave, and its newest {@code newest} messages, oldest first. Waits until the
   * room's earlier appends are decided, and lets it append again after a failure.
   */
  public CompletionStage<Room> load(String room, int newest) {
    CompletableFuture<Void> reset = new CompletableFuture<>();
    if (!writerOf(room).offer(new Reset(room, reset))) return CompletableFuture.failedFuture(full());
    return reset.thenCompose(ready -> read(connection -> {
      insertRoomIfAbsent(connection, room);
      String epoch;
      long lastSeq;
      // the last seq stored: the newest message's, or (trimmed away) the room's record of it
      try (PreparedStatement select = connection.prepareStatement(
          "select epoch, (select coalesce(max(seq), 0) from messages where room_id = ?), last_seq "
              + "from rooms where room_id = ?")) {
        select.setString(1, room);
        select.setString(2, room);
        try (ResultSet row = select.executeQuery()) {
          row.next();
          epoch = row.getString(1);
          lastSeq = Math.max(row.getLong(2), row.getLong(3));
        }
      }
      return new Room(epoch, lastSeq, newest(connection, room, newest));
    }));
  }

  private static void insertRoomIfAbsent(Connection connection, String room) throws SQLException {
    try (PreparedStatement insert = connection.prepareStatement(
        "insert into rooms (room_id, epoch, last_seq) values (?, ?, 0) on conflict do nothing")) {
      insert.setString(1, room);
      insert.setString(2, UUID.randomUUID().toString());
      insert.executeUpdate();
    }
  }

  /**
   * Stores a message (and its idempotency key, if any) in the next batch. Completes once it is
   * committed; fails when the store cannot take it, when the seq was taken, or when an earlier
   * append of the room failed since it last loaded.
   */
  public CompletionStage<Void> append(String room, Message message, String idempotencyKey, Instant at) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!writerOf(room).offer(new Append(room, message, idempotencyKey, at, done))) done.completeExceptionally(full());
    return done;
  }

  /** The first publish to {@code room} with this key within the idempotency window, if any. */
  public CompletionStage<Optional<Published>> published(String room, String key) {
    return read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(
          "select message_id, seq from idempotency_keys where room_id = ? and idem_key = ? and created_at > ?")) {
        select.setString(1, room);
        select.setString(2, key);
        select.setObject(3, utc(Instant.now().minus(settings.idempotencyFor())));
        try (ResultSet row = select.executeQuery()) {
          return row.next() ? Optional.of(new Published(row.getString(1), row.getLong(2))) : Optional.empty();
        }
      }
    });
  }

  /** At most {@code limit} kept messages with seq below {@code seq}, oldest first. */
  public CompletionStage<List<Message>> before(String room, long seq, int limit) {
    return read(connection -> query(connection,
        "select seq, message_id, frame from messages where room_id = ? and seq < ? order by seq desc limit ?",
        room, seq, limit, true));
  }

  /** At most {@code limit} kept messages with seq above {@code seq}, oldest first. */
  public CompletionStage<List<Message>> after(String room, long seq, int limit) {
    return read(connection -> query(connection,
        "select seq, message_id, frame from messages where room_id = ? and seq > ? order by seq asc limit ?",
        room, seq, limit, false));
  }

  /** The newest {@code limit} kept messages, oldest first. */
  public CompletionStage<List<Message>> newest(String room, int limit) {
    return read(connection -> newest(connection, room, limit));
  }

  private static List<Message> newest(Connection connection, String room, int limit) throws SQLException {
    return query(connection,
        "select seq, message_id, frame from messages where room_id = ? and seq < ? order by seq desc limit ?",
        room, Long.MAX_VALUE, limit, true);
  }

  private static List<Message> query(Connection connection, String sql, String room, long seq, int limit,
      boolean newestFirst) throws SQLException {
    List<Message> messages = new ArrayList<>();
    if (limit <= 0) return messages;
    try (PreparedStatement select = connection.prepareStatement(sql)) {
      select.setString(1, room);
      select.setLong(2, seq);
      select.setInt(3, limit);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          messages.add(new Message(rows.getLong(1), rows.getString(2),
              rows.getString(3).getBytes(StandardCharsets.UTF_8)));
        }
      }
    }
    if (newestFirst) Collections.reverse(messages);
    return messages;
  }

  // ---- the writers ------------------------------------------------------------------------------

  private Writer writerOf(String room) {
    return writers[Math.floorMod(room.hashCode(), writers.length)];
  }

  /**
   * One thread that takes whatever appends wait for it (from any of its rooms) and stores them in
   * one transaction. It remembers the rooms whose appends failed, and fails their later ones until
   * the room loads again.
   */
  private final class Writer {
    private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final Set<String> failed = ConcurrentHashMap.newKeySet();
    private final Thread thread;

    Writer(String name) {
      thread = daemon(this::run, name);
      thread.start();
    }

    boolean offer(Object item) {
      return queue.offer(item);
    }

    private void run() {
      List<Object> batch = new ArrayList<>(MAX_BATCH);
      while (running.get()) {
        try {
          Object first = queue.poll(500, TimeUnit.MILLISECONDS);
          if (first == null) continue;
          batch.add(first);
          queue.drainTo(batch, MAX_BATCH - 1);
          commit(batch);
        } catch (InterruptedException stopping) {
          Thread.currentThread().interrupt();
          break;
        } catch (RuntimeException e) {
          log.error("room log writer: unexpected failure", e);
        } finally {
          batch.clear();
        }
      }
      StoreException closed = new StoreException("the room log is closed", null);
      for (Object pending : queue) {
        if (pending instanceof Append append) append.done().completeExceptionally(closed);
        else if (pending instanceof Reset reset) reset.done().completeExceptionally(closed);
      }
    }

    /** Stores a batch in one transaction; a room with a taken seq fails alone, the rest are retried. */
    private void commit(List<Object> batch) {
      List<Append> appends = new ArrayList<>(batch.size());
      for (Object item : batch) {
        if (item instanceof Reset reset) {
          // everything of this room before the marker is decided
          failed.remove(reset.room());
          reset.done().complete(null);
        } else {
          Append append = (Append) item;
          if (failed.contains(append.room())) {
            append.done().completeExceptionally(new StoreException("an earlier message of the room was not stored", null));
          } else {
            appends.add(append);
          }
        }
      }
      while (!appends.isEmpty()) {
        try (Connection connection = pool.getConnection()) {
          List<Append> conflicting = store(connection, appends, settings.idempotencyFor());
          if (conflicting.isEmpty()) {
            reachable.set(true);
            for (Append append : appends) {
              appended.merge(append.room(), append.message().seq(), Math::max);
              append.done().complete(null);
            }
            return;
          }
          // someone else holds these seqs (a room that moved while its last appends were in flight)
          for (Append append : conflicting) failRoom(appends, append.room(),
              new StoreException("seq " + append.message().seq() + " of room " + append.room() + " is taken", null));
        } catch (SQLException | RuntimeException e) {
          reachable.set(false);
          log.warn("room log: cannot store {} message(s): {}", appends.size(), rootMessage(e));
          StoreException failure = new StoreException("the store cannot be reached: " + rootMessage(e), e);
          for (Append append : List.copyOf(appends)) failRoom(appends, append.room(), failure);
        }
      }
    }

    /** Fails every append of {@code room} in {@code appends}, and the room's later ones. */
    private void failRoom(List<Append> appends, String room, StoreException failure) {
      failed.add(room);
      appends.removeIf(append -> {
        if (!append.room().equals(room)) return false;
        append.done().completeExceptionally(failure);
        return true;
      });
    }
  }

  /** Writes the batch; commits and returns no conflicts, or rolls back and returns them. */
  private static List<Append> store(Connection connection, List<Append> appends, Duration idempotencyFor)
      throws SQLException {
    connection.setAutoCommit(false);
    try {
      List<Append> conflicting = new ArrayList<>();
      try (PreparedStatement insert = connection.prepareStatement(
          "insert into messages (room_id, seq, message_id, created_at, frame) values (?, ?, ?, ?, ?) "
              + "on conflict do nothing")) {
        for (Append append : appends) {
          insert.setString(1, append.room());
          insert.setLong(2, append.message().seq());
          insert.setString(3, append.message().id());
          insert.setObject(4, utc(append.at()));
          insert.setString(5, new String(append.message().frame(), StandardCharsets.UTF_8));
          insert.addBatch();
        }
        int[] counts = insert.executeBatch();
        for (int i = 0; i < counts.length; i++) if (counts[i] == 0) conflicting.add(appends.get(i));
      }
      List<Append> keyed = appends.stream().filter(append -> append.idempotencyKey() != null).toList();
      if (!keyed.isEmpty()) {
        // a key past its window is new again, though trimming may not have removed it yet
        try (PreparedStatement expired = connection.prepareStatement(
            "delete from idempotency_keys where room_id = ? and idem_key = ? and created_at <= ?")) {
          for (Append append : keyed) {
            expired.setString(1, append.room());
            expired.setString(2, append.idempotencyKey());
            expired.setObject(3, utc(append.at().minus(idempotencyFor)));
            expired.addBatch();
          }
          expired.executeBatch();
        }
        try (PreparedStatement insert = connection.prepareStatement(
            "insert into idempotency_keys (room_id, idem_key, message_id, seq, created_at) values (?, ?, ?, ?, ?) "
                + "on conflict do nothing")) {
          for (Append append : keyed) {
            insert.setString(1, append.room());
            insert.setString(2, append.idempotencyKey());
            insert.setString(3, append.message().id());
            insert.setLong(4, append.message().seq());
            insert.setObject(5, utc(append.at()));
            insert.addBatch();
          }
          int[] counts = insert.executeBatch();
          for (int i = 0; i < counts.length; i++) if (counts[i] == 0) conflicting.add(keyed.get(i));
        }
      }
      if (!conflicting.isEmpty()) {
        connection.rollback();
        return conflicting;
      }
      // rooms.last_seq is brought up to date when trimming, not here: the newest message is it
      connection.commit();
      return List.of();
    } catch (SQLException | RuntimeException e) {
      try {
        connection.rollback();
      } catch (SQLException ignored) {
        // the connection is broken; the pool replaces it
      }
      throw e;
    }
  }

  // ---- retention --------------------------------------------------------------------------------

  /**
   * Keeps the newest {@code keepMessages} of every room appended to since the last trim, and no
   * message older than {@code keepFor}; forgets idempotency keys after their window. The rooms'
   * last seq stays.
   */
  void trim() {
    Map<String, Long> rooms = new HashMap<>();
    appended.keySet().forEach(room -> {
      Long seq = appended.remove(room);
      if (seq != null) rooms.put(room, seq);
    });
    Instant now = Instant.now();
    try (Connection connection = pool.getConnection()) {
      connection.setAutoCommit(true);
      // first the rooms' record of their last seq, which outlives their messages
      try (PreparedStatement lastSeq = connection.prepareStatement(
              "update rooms set last_seq = ? where room_id = ? and last_seq < ?");
          PreparedStatement byCount = connection.prepareStatement(
              "delete from messages where room_id = ? and seq <= ?")) {
        for (Map.Entry<String, Long> room : rooms.entrySet()) {
          lastSeq.setLong(1, room.getValue());
          lastSeq.setString(2, room.getKey());
          lastSeq.setLong(3, room.getValue());
          lastSeq.executeUpdate();
          if (room.getValue() <= settings.keepMessages()) continue;
          byCount.setString(1, room.getKey());
          byCount.setLong(2, room.getValue() - settings.keepMessages());
          byCount.executeUpdate();
        }
      }
      OffsetDateTime oldest = utc(now.minus(settings.keepFor()));
      try (PreparedStatement lastSeq = connection.prepareStatement(
              "update rooms set last_seq = (select max(m.seq) from messages m where m.room_id = rooms.room_id) "
                  + "where room_id in (select m.room_id from messages m where m.created_at < ?)");
          PreparedStatement byAge = connection.prepareStatement("delete from messages where created_at < ?")) {
        lastSeq.setObject(1, oldest);
        lastSeq.executeUpdate();
        byAge.setObject(1, oldest);
        byAge.executeUpdate();
      }
      try (PreparedStatement keys = connection.prepareStatement("delete from idempotency_keys where created_at < ?")) {
        keys.setObject(1, utc(now.minus(settings.idempotencyFor())));
        keys.executeUpdate();
      }
      reachable.set(true);
    } catch (SQLException | RuntimeException e) {
      reachable.set(false);
      rooms.forEach((room, seq) -> appended.merge(room, seq, Math::max)); // next time
      log.warn("room log: trimming failed: {}", rootMessage(e));
    }
  }

  private void probe() {
    try (Connection connection = pool.getConnection()) {
      reachable.set(connection.isValid((int) Math.max(1, settings.timeout().toSeconds())));
    } catch (SQLException | RuntimeException e) {
      reachable.set(false);
    }
  }

  // ---- plumbing ---------------------------------------------------------------------------------

  @FunctionalInterface
  private interface Query<T> {
    T run(Connection connection) throws SQLException;
  }

  private <T> CompletionStage<T> read(Query<T> query) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      reads.execute(() -> {
        try (Connection connection = pool.getConnection()) {
          connection.setAutoCommit(true);
          result.complete(query.run(connection));
          reachable.set(true);
        } catch (SQLException | RuntimeException e) {
          reachable.set(false);
          result.completeExceptionally(new StoreException("the store cannot be reached: " + rootMessage(e), e));
        }
      });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(full());
    }
    return result;
  }

  private static StoreException full() {
    return new StoreException("the room log is overloaded", null);
  }

  private static OffsetDateTime utc(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }

  private static Thread daemon(Runnable runnable, String name) {
    Thread thread = new Thread(runnable, name);
    thread.setDaemon(true);
    return thread;
  }

  static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    return String.valueOf(root.getMessage());
  }

  /** Stops writing (appends still queued fail), and closes the store. */
  @Override
  public void close() {
    running.set(false); // each writer finishes its batch, then fails what is left
    try {
      for (Writer writer : writers) writer.thread.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    trimmer.shutdownNow();
    reads.shutdownNow();
    pool.close();
  }
}
