package io.parley.bench.storage;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.stream.javadsl.Sink;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * pekko-persistence-typed with pekko-persistence-jdbc: an EventSourcedBehavior per room, the
 * journal batching the writes of all rooms (batchSize, parallelism). The room's seq is the
 * journal's sequence number; the reply comes after the event is persisted.
 */
final class PekkoCandidate implements Candidate {

    sealed interface Cmd {}

    record Append(Msg msg, CompletableFuture<Void> done) implements Cmd {}

    record GetSeq(CompletableFuture<Long> reply) implements Cmd {}

    /** The event: the message as stored (serialized by {@link MsgSerializer}). */
    record Stored(Msg msg) {}

    static final class Room extends EventSourcedBehavior<Cmd, Stored, Long> {
        Room(String room) {
            super(PersistenceId.of("room", room));
        }

        @Override public Long emptyState() { return 0L; }

        @Override
        public CommandHandler<Cmd, Stored, Long> commandHandler() {
            return newCommandHandlerBuilder().forAnyState()
                    .onCommand(Append.class, (seq, c) -> Effect()
                            .persist(new Stored(withSeq(c.msg(), seq + 1)))
                            .thenRun(s -> c.done().complete(null)))
                    .onCommand(GetSeq.class, (seq, c) -> {
                        c.reply().complete(seq);
                        return Effect().none();
                    })
                    .build();
        }

        @Override
        public EventHandler<Long, Stored> eventHandler() {
            return newEventHandlerBuilder().forAnyState().onEvent(Stored.class, (seq, e) -> e.msg().seq()).build();
        }

        private static Msg withSeq(Msg m, long seq) {
            return new Msg(m.roomId(), seq, m.messageId(), m.senderId(), m.senderName(), m.payload(), m.createdAt(), null);
        }
    }

    private final String name;
    private final ActorSystem<Void> system;
    private final JdbcReadJournal journal;
    private final Map<String, ActorRef<Cmd>> rooms = new ConcurrentHashMap<>();

    /** {@code profile}: slick.jdbc.H2Profile$ or slick.jdbc.PostgresProfile$; {@code schema}: h2 or postgres. */
    PekkoCandidate(String name, String url, String driver, String profile, String schema) throws Exception {
        this.name = name;
        createSchema(url, schema);
        Config config = ConfigFactory.parseString("""
                pekko.loglevel = WARNING
                pekko.actor.serializers.bench-msg = "io.parley.bench.storage.MsgSerializer"
                pekko.actor.serialization-bindings { "io.parley.bench.storage.PekkoCandidate$Stored" = bench-msg }
                pekko.persistence.journal.plugin = "jdbc-journal"
                pekko.persistence.snapshot-store.plugin = "jdbc-snapshot-store"
                jdbc-journal.use-shared-db = "slick"
                jdbc-snapshot-store.use-shared-db = "slick"
                jdbc-read-journal.use-shared-db = "slick"
                # more rooms than the default 1000 persist at once
                jdbc-journal.bufferSize = 20000
                pekko-persistence-jdbc.shared-databases.slick {
                  profile = "%s"
                  db {
                    url = "%s"
                    driver = "%s"
                    user = ""
                    password = ""
                    numThreads = 8
                    maxConnections = 8
                    minConnections = 8
                  }
                }
                """.formatted(profile, url, driver)).withFallback(ConfigFactory.load());
        this.system = ActorSystem.create(Behaviors.empty(), "bench-" + name.replaceAll("[^a-zA-Z0-9]", "-"), config);
        this.journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    }

    private static void createSchema(String url, String schema) throws Exception {
        String sql;
        try (InputStream in = JdbcReadJournal.class.getClassLoader()
                .getResourceAsStream("schema/" + schema + "/" + schema + "-create-schema.sql")) {
            sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            if (c.getMetaData().getTables(null, null, "event_journal", null).next()) {
                return; // opened again (the restart scenario)
            }
            for (String stmt : sql.split(";")) {
                if (!stmt.isBlank()) {
                    st.execute(stmt);
                }
            }
        }
    }

    @Override public String name() { return name; }

    @Override
    public long openRoom(String room) throws Exception {
        ActorRef<Cmd> ref = rooms.computeIfAbsent(room,
                r -> system.systemActorOf(new Room(r), "room-" + r, Props.empty()));
        CompletableFuture<Long> seq = new CompletableFuture<>();
        ref.tell(new GetSeq(seq));
        return seq.get(60, TimeUnit.SECONDS);
    }

    @Override
    public CompletionStage<Void> append(Msg m) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        rooms.get(m.roomId()).tell(new Append(m, done));
        return done;
    }

    @Override
    public List<Msg> newest(String room, int limit) throws Exception {
        long last = openRoom(room);
        return read(room, Math.max(1, last - limit + 1), last);
    }

    @Override
    public List<Msg> after(String room, long seq, int limit) throws Exception {
        return read(room, seq + 1, seq + limit);
    }

    private List<Msg> read(String room, long from, long to) throws Exception {
        return journal.currentEventsByPersistenceId("room|" + room, from, to)
                .map(EventEnvelope::event)
                .map(e -> ((Stored) e).msg())
                .runWith(Sink.seq(), system)
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Override public double meanBatch() { return Double.NaN; }

    @Override
    public void close() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
