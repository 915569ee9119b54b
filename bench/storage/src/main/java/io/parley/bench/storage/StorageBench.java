package io.parley.bench.storage;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The storage benchmark: every candidate through the same scenarios, repeated, candidates
 * interleaved within each repetition; medians printed as Markdown tables. See README.md here.
 *
 * <pre>
 *   java -jar parley-bench-storage.jar run   [--pg JDBC_URL] [--reps 3] [--seconds 8] [--warmup 2]
 *                                            [--candidates a,b] [--data DIR] [--out FILE]
 *                                            [--ablation true]   (only 1,000/s latency and maximum)
 *   java -jar parley-bench-storage.jar check [--pg JDBC_URL]     dialect and migration checks
 *   java -jar parley-bench-storage.jar crash [--pg JDBC_URL]     kill -9 while writing; acked all there?
 * </pre>
 */
public final class StorageBench {

    /** One candidate: how to open it on a store (again, for the restart scenario). */
    record Spec(String name, boolean jdbc, boolean full, StoreFactory factory) {}

    interface StoreFactory {
        Candidate open(String store) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = options(args);
        String mode = args.length > 0 ? args[0] : "run";
        switch (mode) {
            case "run" -> new StorageBench(opt).run();
            case "check" -> Checks.run(opt.get("pg"), dataDir(opt));
            case "crash" -> Crash.run(opt.get("pg"), dataDir(opt));
            case "crash-child" -> Crash.child(opt.get("url"), Integer.parseInt(opt.getOrDefault("writers", "1")));
            default -> {
                System.err.println("usage: run|check|crash [--pg URL] ... (see README.md)");
                System.exit(2);
            }
        }
        System.exit(0);
    }

    private final Map<String, String> opt;
    private final String pg;
    private final Path data;
    private final int reps;
    private final double seconds;
    private final double warmup;
    private final List<Spec> specs = new ArrayList<>();
    /** scenario → candidate → metric → one value per repetition */
    private final Map<String, Map<String, Map<String, List<Double>>>> results = new LinkedHashMap<>();
    private final Cpu cpu;
    private int stores;

    private StorageBench(Map<String, String> opt) {
        this.opt = opt;
        this.pg = opt.get("pg");
        this.data = dataDir(opt);
        this.reps = Integer.parseInt(opt.getOrDefault("reps", "3"));
        this.seconds = Double.parseDouble(opt.getOrDefault("seconds", "8"));
        this.warmup = Double.parseDouble(opt.getOrDefault("warmup", "2"));
        this.cpu = new Cpu(Long.parseLong(opt.getOrDefault("pg-pid", "0")));
        JdbcRoomLog.Options grouped = new JdbcRoomLog.Options(1, 1000, 20_000, true);
        JdbcRoomLog.Options oneByOne = new JdbcRoomLog.Options(1, 1, 20_000, true);
        specs.add(new Spec("h2-jdbc", true, true, s -> new JdbcCandidate("h2-jdbc", h2(s, true), grouped)));
        specs.add(new Spec("pg-jdbc", true, true, s -> new JdbcCandidate("pg-jdbc", pgDb(s, true), grouped)));
        specs.add(new Spec("sqlite-jdbc", true, true, s -> new JdbcCandidate("sqlite-jdbc", Db.sqliteUrl(data.resolve(s)), grouped)));
        specs.add(new Spec("h2-pekko", false, true, s -> new PekkoCandidate("h2-pekko", h2(s, false),
                "org.h2.Driver", "slick.jdbc.H2Profile$", "h2")));
        specs.add(new Spec("pg-pekko", false, true, s -> new PekkoCandidate("pg-pekko", pgDb(s, false),
                "org.postgresql.Driver", "slick.jdbc.PostgresProfile$", "postgres")));
        // ablations: no group commit (a transaction per message), four writers (rooms partitioned),
        // rooms.last_seq not advanced by every batch, PostgreSQL without rewritten inserts
        specs.add(new Spec("h2-jdbc-nobatch", true, false, s -> new JdbcCandidate("h2-jdbc-nobatch", h2(s, true), oneByOne)));
        specs.add(new Spec("pg-jdbc-nobatch", true, false, s -> new JdbcCandidate("pg-jdbc-nobatch", pgDb(s, true), oneByOne)));
        specs.add(new Spec("pg-jdbc-4writers", true, false, s -> new JdbcCandidate("pg-jdbc-4writers", pgDb(s, true),
                new JdbcRoomLog.Options(4, 1000, 5_000, true))));
        JdbcRoomLog.Options lazyRooms = new JdbcRoomLog.Options(1, 1000, 20_000, false);
        specs.add(new Spec("pg-jdbc-lazyrooms", true, false, s -> new JdbcCandidate("pg-jdbc-lazyrooms", pgDb(s, true), lazyRooms)));
        specs.add(new Spec("h2-jdbc-lazyrooms", true, false, s -> new JdbcCandidate("h2-jdbc-lazyrooms", h2(s, true), lazyRooms)));
        specs.add(new Spec("sqlite-jdbc-lazyrooms", true, false, s -> new JdbcCandidate("sqlite-jdbc-lazyrooms",
                Db.sqliteUrl(data.resolve(s)), lazyRooms)));
        specs.add(new Spec("pg-jdbc-norewrite", true, false, s -> new JdbcCandidate("pg-jdbc-norewrite", pgDb(s, false), grouped)));
        if (Boolean.parseBoolean(opt.getOrDefault("ablation", "false"))) {
            // only the two scenarios that the ablations run: 1,000/s latency and the maximum
            specs.replaceAll(sp -> new Spec(sp.name, sp.jdbc, false, sp.factory));
        }
        String only = opt.get("candidates");
        specs.removeIf(s -> (pg == null && s.name.startsWith("pg-"))
                || (only != null && !Arrays.asList(only.split(",")).contains(s.name)));
    }

    private String h2(String store, boolean postgresMode) {
        Path dir = data.resolve(store);
        // the pekko plugin's own H2 schema is H2 SQL (quoted identifiers): no PostgreSQL mode there
        return postgresMode ? Db.h2Url(dir, true) : "jdbc:h2:file:" + dir.toAbsolutePath().resolve("parley") + ";WRITE_DELAY=0";
    }

    private String pgDb(String store, boolean rewriteBatchedInserts) {
        String url = pg.replaceFirst("/[^/?]*(\\?|$)", "/" + store + "$1");
        return url + (url.contains("?") ? "&" : "?") + "reWriteBatchedInserts=" + rewriteBatchedInserts;
    }

    private void run() throws Exception {
        System.out.printf("storage bench: %d reps, %.0f s measured after %.0f s warm-up, candidates %s%n",
                reps, seconds, warmup, specs.stream().map(Spec::name).toList());
        for (int rep = 1; rep <= reps; rep++) {
            for (Spec spec : specs) {
                String store = "parley_bench_" + (++stores);
                createStore(spec, store);
                try {
                    runCandidate(spec, store, rep);
                } finally {
                    dropStore(spec, store);
                }
            }
        }
        report();
    }

    private void runCandidate(Spec spec, String store, int rep) throws Exception {
        System.out.printf("%n== rep %d: %s%n", rep, spec.name);
        Load.Rooms h = null;
        try (Candidate c = spec.factory.open(store)) {
            if (spec.full) {
                // the rooms the restart and read scenarios use: 500 messages each, no gaps
                h = new Load.Rooms(c, "h", 100);
                new Load(c, cpu, h, 0, null).fill(500, 2000);
            }
            Load.Rooms a = new Load.Rooms(c, "a", 100);
            Load.Rooms b = new Load.Rooms(c, "b", 1000);
            Load.Rooms r100 = new Load.Rooms(c, "c", 100);
            if (spec.full) {
                load(spec, "stored/s at 5,000/s offered, 100 rooms", new Load(c, cpu, a, 0, null).open(5000, warmup, seconds), c);
                load(spec, "stored/s at 5,000/s offered, 1,000 rooms", new Load(c, cpu, b, 0, null).open(5000, warmup, seconds), c);
            }
            load(spec, "ack latency at 1,000/s, 100 rooms", new Load(c, cpu, r100, 0, null).open(1000, warmup, seconds), c);
            load(spec, "maximum: 2,000 in flight over 1,000 rooms", new Load(c, cpu, b, 0, null).closed(2000, warmup, seconds), c);
            if (spec.jdbc && spec.full) {
                load(spec, "idempotency key on every message: ack latency at 1,000/s, 100 rooms",
                        new Load(c, cpu, r100, 1.0, null).open(1000, warmup, seconds), c);
                load(spec, "idempotency key on every message: maximum over 1,000 rooms",
                        new Load(c, cpu, b, 1.0, null).closed(2000, warmup, seconds), c);
            }
        }
        if (!spec.full) {
            return;
        }
        // a restart: the store is opened again and 100 rooms of 500 messages start
        try (Candidate c = spec.factory.open(store)) {
            long t0 = System.nanoTime();
            for (String room : h.names) {
                c.openRoom(room);
            }
            record(spec, "restart: start a room of 500 messages (100 rooms, ms per room)", "ms", (System.nanoTime() - t0) / 1e6 / h.names.length);
            reads(spec, c, h);
            if (c instanceof JdbcCandidate j) {
                retention(spec, j);
            }
        }
    }

    private void load(Spec spec, String scenario, Load.Result r, Candidate c) {
        System.out.printf("  %-75s stored %8.0f/s  p50 %7.2f ms  p99 %8.2f ms  max %8.1f ms  failed %d lost %d  batch %.1f  CPU %.0f us/msg%n",
                scenario, r.storedPerSec(), r.p50Ms(), r.p99Ms(), r.maxMs(), r.failed(), r.lost(), c.meanBatch(), r.cpuMicrosPerMessage());
        record(spec, scenario, "stored/s", r.storedPerSec());
        record(spec, scenario, "p50 ms", r.p50Ms());
        record(spec, scenario, "p99 ms", r.p99Ms());
        record(spec, scenario, "CPU µs/msg", r.cpuMicrosPerMessage());
        if (!Double.isNaN(c.meanBatch())) {
            record(spec, scenario, "msgs/commit", c.meanBatch());
        }
        record(spec, scenario, "failed+lost", r.failed() + r.lost());
    }

    private void reads(Spec spec, Candidate c, Load.Rooms rooms) throws Exception {
        SplittableRandom random = new SplittableRandom(7);
        org.HdrHistogram.Histogram newest = new org.HdrHistogram.Histogram(3);
        org.HdrHistogram.Histogram after = new org.HdrHistogram.Histogram(3);
        for (int i = 0; i < 1000; i++) {
            String room = rooms.names[random.nextInt(rooms.names.length)];
            long t0 = System.nanoTime();
            List<Msg> got = c.newest(room, 100);
            newest.recordValue((System.nanoTime() - t0) / 1000);
            long last = got.get(got.size() - 1).seq();
            check(got.size() == 100 && got.get(0).seq() == last - 99, spec.name + ": newest 100 of " + room);
            long s = random.nextLong(Math.max(1, last - 100));
            t0 = System.nanoTime();
            List<Msg> range = c.after(room, s, 100);
            after.recordValue((System.nanoTime() - t0) / 1000);
            check(range.size() == 100 && range.get(0).seq() == s + 1, spec.name + ": after " + s + " in " + room);
        }
        String n = "read: newest 100 of a room (500 kept)";
        String r = "read: after seq S, limit 100";
        record(spec, n, "p50 ms", newest.getValueAtPercentile(50) / 1000.0);
        record(spec, n, "p99 ms", newest.getValueAtPercentile(99) / 1000.0);
        record(spec, r, "p50 ms", after.getValueAtPercentile(50) / 1000.0);
        record(spec, r, "p99 ms", after.getValueAtPercentile(99) / 1000.0);
        System.out.printf("  reads: newest100 p50 %.2f p99 %.2f ms; after p50 %.2f p99 %.2f ms%n",
                newest.getValueAtPercentile(50) / 1000.0, newest.getValueAtPercentile(99) / 1000.0,
                after.getValueAtPercentile(50) / 1000.0, after.getValueAtPercentile(99) / 1000.0);
    }

    /**
     * Retention on 50 rooms of 1,300 messages, the oldest 400 of each 40 days old: one pass
     * (the age rule cuts deeper than the count rule's 300), then 1,000/s into the same rooms while a pass runs every
     * 500 ms keeping 100 (the count rule deletes as many rows as arrive: retention's steady state).
     * A transaction per room: H2 deletes at half the CPU cost in small transactions.
     */
    private void retention(Spec spec, JdbcCandidate c) throws Exception {
        Load.Rooms t = new Load.Rooms(c, "t", 50);
        new Load(c, cpu, t, 0, Instant.now().minus(Duration.ofDays(40))).fill(400, 2000);
        new Load(c, cpu, t, 0, null).fill(900, 2000);
        Retention retention = new Retention(c.pool);
        long cpu0 = cpu.nanos();
        Retention.Pass pass = retention.trim(1000, Instant.now().minus(Duration.ofDays(30)), 1);
        double cpuPerRow = (cpu.nanos() - cpu0) / 1000.0 / Math.max(1, pass.deleted());
        check(pass.deleted() == 50L * 400, spec.name + ": trimmed " + pass.deleted());
        System.out.printf("  retention pass: %d rows of %d rooms in %d ms%n", pass.deleted(), pass.rooms(), pass.millis());
        record(spec, "retention: one pass deleting 20,000 rows (50 rooms)", "ms", pass.millis());
        record(spec, "retention: one pass deleting 20,000 rows (50 rooms)", "rows/s", pass.deleted() * 1000.0 / Math.max(1, pass.millis()));
        record(spec, "retention: one pass deleting 20,000 rows (50 rooms)", "CPU µs/row", cpuPerRow);

        AtomicBoolean trimming = new AtomicBoolean(true);
        AtomicLong trimmed = new AtomicLong();
        Thread trimmer = new Thread(() -> {
            while (trimming.get()) {
                try {
                    trimmed.addAndGet(retention.trim(100, Instant.now().minus(Duration.ofDays(30)), 1).deleted());
                    Thread.sleep(500);
                } catch (Exception e) {
                    e.printStackTrace();
                    return;
                }
            }
        }, "trimmer");
        trimmer.start();
        Load.Result r = new Load(c, cpu, t, 0, null).open(1000, warmup, seconds);
        trimming.set(false);
        trimmer.join();
        load(spec, "ack latency at 1,000/s, 50 rooms, trimming every 500 ms (keep 100)", r, c);
        check(trimmed.get() > 0, spec.name + ": concurrent trimming deleted nothing");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("check failed: " + what);
        }
    }

    private void record(Spec spec, String scenario, String metric, double value) {
        results.computeIfAbsent(scenario, k -> new LinkedHashMap<>())
                .computeIfAbsent(spec.name, k -> new LinkedHashMap<>())
                .computeIfAbsent(metric, k -> new ArrayList<>()).add(value);
    }

    private void createStore(Spec spec, String store) throws Exception {
        if (spec.name.startsWith("pg-")) {
            admin("CREATE DATABASE " + store);
        }
    }

    private void dropStore(Spec spec, String store) throws Exception {
        if (spec.name.startsWith("pg-")) {
            admin("DROP DATABASE IF EXISTS " + store + " WITH (FORCE)");
        } else {
            deleteTree(data.resolve(store));
        }
    }

    private void admin(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(pg); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void report() throws IOException {
        StringBuilder md = new StringBuilder();
        md.append(String.format("Medians of %d repetitions (%.0f s measured after %.0f s warm-up each; %d cores, %s).%n",
                reps, seconds, warmup, Runtime.getRuntime().availableProcessors(), Instant.now()));
        for (var scenario : results.entrySet()) {
            List<String> metrics = scenario.getValue().values().stream()
                    .flatMap(m -> m.keySet().stream()).distinct().toList();
            md.append("\n**").append(scenario.getKey()).append("**\n\n| candidate |");
            metrics.forEach(m -> md.append(' ').append(m).append(" |"));
            md.append("\n|---|");
            metrics.forEach(m -> md.append("---:|"));
            md.append('\n');
            for (var cand : scenario.getValue().entrySet()) {
                md.append("| ").append(cand.getKey()).append(" |");
                for (String m : metrics) {
                    List<Double> v = cand.getValue().get(m);
                    md.append(' ').append(v == null ? "" : format(median(v), m)).append(" |");
                }
                md.append('\n');
            }
        }
        System.out.println();
        System.out.println(md);
        String out = opt.get("out");
        if (out != null) {
            Path p = Path.of(out);
            Files.createDirectories(p.toAbsolutePath().getParent());
            Files.writeString(p, md.toString());
            try (PrintStream raw = new PrintStream(Files.newOutputStream(Path.of(out + ".raw.txt")))) {
                results.forEach((s, byCand) -> byCand.forEach((cand, byMetric) -> byMetric.forEach(
                        (m, v) -> raw.printf("%s\t%s\t%s\t%s%n", s, cand, m, v))));
            }
        }
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static String format(double v, String metric) {
        if (metric.endsWith("/s") || metric.equals("failed+lost")) {
            return String.format("%,.0f", v);
        }
        return v < 10 ? String.format("%.2f", v) : String.format("%,.1f", v);
    }

    static Path dataDir(Map<String, String> opt) {
        return Path.of(opt.getOrDefault("data", "target/storage-data"));
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].startsWith("--") && i + 1 < args.length) {
                m.put(args[i].substring(2), args[++i]);
            } else {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
        }
        return m;
    }

}
