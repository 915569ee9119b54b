package io.parley.bench.storage;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * kill -9 while writing: a child JVM writes through the group-committing room log and prints
 * every acknowledgement; the parent kills it without warning after a few seconds, opens the store
 * again and counts acknowledged messages that are missing. The acknowledgement is printed after
 * the commit, so every line the parent read is a message that must be there.
 */
final class Crash {
    private static final int ROOMS = 20;

    private Crash() {}

    static void run(String pg, Path data) throws Exception {
        List<String[]> stores = new ArrayList<>();
        stores.add(new String[] {"H2 file, default WRITE_DELAY (500 ms)", Db.h2Url(data.resolve("crash-h2-default"), false)});
        stores.add(new String[] {"H2 file, WRITE_DELAY=0", Db.h2Url(data.resolve("crash-h2-wd0"), true)});
        stores.add(new String[] {"SQLite, WAL, synchronous=NORMAL", Db.sqliteUrl(data.resolve("crash-sqlite"))});
        if (pg != null) {
            try (Connection c = DriverManager.getConnection(pg); Statement st = c.createStatement()) {
                st.execute("DROP DATABASE IF EXISTS parley_crash WITH (FORCE)");
                st.execute("CREATE DATABASE parley_crash");
            }
            stores.add(new String[] {"PostgreSQL (fsync on, synchronous_commit on)",
                    pg.replaceFirst("/[^/?]*(\\?|$)", "/parley_crash$1")});
        }
        System.out.println("| store | kill -9 rounds | acknowledged (highest seq per room, summed) | acknowledged but missing after restart |");
        System.out.println("|---|---:|---:|---:|");
        for (String[] store : stores) {
            long acked = 0;
            long missing = 0;
            int rounds = 3;
            for (int round = 0; round < rounds; round++) {
                long[] max = killWhileWriting(store[1]);
                for (long m : max) {
                    acked += m;
                }
                missing += countMissing(store[1], max);
            }
            System.out.printf("| %s | %d | %,d | %,d |%n", store[0], rounds, acked, missing);
        }
        StorageBench.deleteTree(data.resolve("crash-h2-default"));
        StorageBench.deleteTree(data.resolve("crash-h2-wd0"));
        StorageBench.deleteTree(data.resolve("crash-sqlite"));
        if (pg != null) {
            try (Connection c = DriverManager.getConnection(pg); Statement st = c.createStatement()) {
                st.execute("DROP DATABASE IF EXISTS parley_crash WITH (FORCE)");
            }
        }
    }

    /** Returns, per room, the highest seq acknowledged in this round (rooms restart from the store). */
    private static long[] killWhileWriting(String url) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                StorageBench.class.getName(), "crash-child", "--url", url)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long[] max = new long[ROOMS];
        // the kill comes 3 s after the first acknowledgement, or after 120 s whatever happens
        // (a child that never acknowledges is reported, with its threads, instead of waiting forever)
        ScheduledExecutorService killer = Executors.newSingleThreadScheduledExecutor();
        killer.schedule(() -> {
            System.err.println("crash child acknowledged nothing in 120 s; its threads:");
            dumpThreads(child.pid());
            child.toHandle().destroyForcibly();
        }, 120, TimeUnit.SECONDS);
        boolean first = true;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (first) {
                    first = false;
                    killer.shutdownNow();
                    killer = Executors.newSingleThreadScheduledExecutor();
                    // SIGKILL; the lines already in the pipe are still read
                    killer.schedule(() -> child.toHandle().destroyForcibly(), 3, TimeUnit.SECONDS);
                }
                int space = line.indexOf(' ');
                int room = Integer.parseInt(line.substring(0, space));
                max[room] = Math.max(max[room], Long.parseLong(line.substring(space + 1)));
            }
        } finally {
            killer.shutdownNow();
        }
        child.waitFor();
        // seqs of earlier rounds are acknowledged too: count from 1
        return max;
    }

    private static void dumpThreads(long pid) {
        try {
            new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), String.valueOf(pid), "Thread.print")
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start().waitFor(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("jcmd failed: " + e);
        }
    }

    private static long countMissing(String url, long[] max) throws Exception {
        long missing = 0;
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM messages WHERE room_id = ? AND seq <= ?")) {
            for (int r = 0; r < ROOMS; r++) {
                ps.setString(1, "r-" + r);
                ps.setLong(2, max[r]);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    missing += max[r] - rs.getLong(1);
                }
            }
        }
        return missing;
    }

    /** The child: writes into 20 rooms, 500 in flight, printing "room seq" after each commit. */
    static void child(String url, int writers) throws Exception {
        try (JdbcCandidate c = new JdbcCandidate("crash", url, new JdbcRoomLog.Options(writers, 1000, 20_000, true))) {
            long[] seq = new long[ROOMS];
            for (int r = 0; r < ROOMS; r++) {
                seq[r] = c.openRoom("r-" + r);
            }
            Semaphore permits = new Semaphore(500);
            for (long i = 0; ; i++) {
                int r = (int) (i % ROOMS);
                long s = ++seq[r];
                permits.acquire();
                c.append(Msg.sample("r-" + r, s, null)).whenComplete((v, e) -> {
                    if (e == null) {
                        System.out.println(r + " " + s);
                    }
                    permits.release();
                });
            }
        }
    }
}
