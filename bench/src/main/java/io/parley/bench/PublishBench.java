package io.parley.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * The server API's publish (issue 12): backends calling {@code POST /api/publish} over keep-alive
 * HTTP/1.1, on one node (its embedded store) and on a 3-node cluster (a shared PostgreSQL, the
 * calls arriving at a node that does not host the room, so each one crosses to the room's node
 * and back). Per setup: one client calling as fast as it can, {@code clients} clients at once,
 * the same with an idempotency key on every call, and an open loop at {@code rate} calls per
 * second whose latency counts from each call's planned start (no coordinated omission). One room,
 * without members: the figures are the API's and the store's, not a fan-out's. Writes
 * {@code publish.md} and {@code publish.tsv}.
 */
final class PublishBench {
  static final String KEY = "parley-bench-api-key-0123456789";
  private static final Pattern ROOMS = Pattern.compile("(?m)^parley_rooms (\\d+)");
  private static final String CONTENT = "a message from a backend, about a hundred bytes of text to store and deliver";

  private final Path out;
  private final Path parleyJar;
  private final Path benchJar;
  private final double warmup;
  private final double duration;
  private final double rate;
  private final int clients;
  private final String singleIp;
  private final List<String> clusterIps;
  private final int dbPort;
  private final boolean cluster;
  private final List<String> serverJvm;
  private final List<String> clusterJvm;
  private final List<Step> steps = new ArrayList<>();

  /** One measurement: calls answered 200, calls answered otherwise, and each call's latency. */
  record Step(String setup, String load, long calls, long errors, double seconds, Histogram micros,
      double serverCpuSeconds) {}

  PublishBench(String[] args) {
    out = Path.of(Main.option(args, "--out", "bench/results/latest"));
    parleyJar = Path.of(Main.option(args, "--parley-jar", "target/parley.jar"));
    benchJar = Path.of(Main.option(args, "--bench-jar", "bench/target/parley-bench.jar"));
    warmup = Double.parseDouble(Main.option(args, "--warmup", "30"));
    duration = Double.parseDouble(Main.option(args, "--duration", "20"));
    rate = Double.parseDouble(Main.option(args, "--rate", "1000"));
    clients = Integer.parseInt(Main.option(args, "--clients", "16"));
    singleIp = Main.option(args, "--single-ip", Runner.SINGLE_IP);
    clusterIps = List.of(Main.option(args, "--cluster-ips", String.join(",", Runner.CLUSTER_IPS)).split(","));
    dbPort = Integer.parseInt(Main.option(args, "--db-port", "55492"));
    cluster = !Boolean.parseBoolean(Main.option(args, "--skip-cluster", "false"));
    serverJvm = List.of(Main.option(args, "--server-jvm", "-Xmx1g").split(" "));
    clusterJvm = List.of(Main.option(args, "--cluster-jvm", "-Xmx512m").split(" "));
  }

  boolean run() throws IOException {
    Servers servers = new Servers(out, benchJar, Runner.SECRET);
    Map<String, String> env = new HashMap<>(Map.of("PARLEY_JWT_SECRET", Runner.SECRET, "PARLEY_DEV_MODE", "off",
        "PARLEY_API_KEY", KEY));

    // the one node's embedded store: a directory of its own, deleted when it stops (Servers)
    Servers.Server one = servers.startParley("parley", parleyJar, List.of(singleIp), Runner.HTTP_PORT,
        Runner.CLUSTER_PORT, serverJvm, "publish-node", env);
    try {
      measure("1 node", one, one.http.get(0), "bench-publish");
    } finally {
      servers.stop(one);
    }

    if (cluster) {
      try (Postgres pg = Postgres.start(Path.of("/tmp/parley-bench-pg-" + dbPort), Runner.PG_HOST, dbPort,
          out.resolve("pids"))) {
        env.put("PARLEY_DB_URL", pg.createDatabase("publish"));
        env.put("PARLEY_DB_USER", "postgres");
        Servers.Server three = servers.startParley("parley-cluster", parleyJar, clusterIps, Runner.HTTP_PORT,
            Runner.CLUSTER_PORT, clusterJvm, "publish-cluster", env);
        try {
          InetSocketAddress caller = three.http.get(0);
          measure("3 nodes, called at a node without the room", three, caller, roomNotOn(servers, three, 0));
        } finally {
          servers.stop(three);
        }
      }
    }
    report();
    return steps.stream().allMatch(step -> step.errors() == 0);
  }

  private void measure(String setup, Servers.Server server, InetSocketAddress at, String room) throws IOException {
    closedLoop(setup, server, at, room, clients, false, warmup); // JIT, pools, the room's start: not recorded
    steps.add(closedLoop(setup, server, at, room, 1, false, duration));
    steps.add(closedLoop(setup, server, at, room, clients, false, duration));
    steps.add(closedLoop(setup, server, at, room, clients, true, duration));
    steps.add(openLoop(setup, server, at, room));
    System.out.println(table(steps.subList(steps.size() - 4, steps.size())));
  }

  private static String body(String room, String key) {
    return "{\"room\":\"" + room + "\",\"payload\":{\"content\":\"" + CONTENT + "\"}"
        + (key == null ? "" : ",\"idempotency_key\":\"" + key + "\"") + "}";
  }

  /** {@code n} clients, each calling again as soon as it has its answer. */
  private Step closedLoop(String setup, Servers.Server server, InetSocketAddress at, String room, int n,
      boolean keyed, double seconds) throws IOException {
    long end = System.nanoTime() + (long) (seconds * 1e9);
    String prefix = "k-" + System.nanoTime() + "-";
    return load(setup, (n == 1 ? "1 client" : n + " clients") + (keyed ? ", idempotency keys" : ""), server, at, n,
        seconds, (client, http, histogram, errors) -> {
          long count = 0;
          while (System.nanoTime() < end) {
            long start = System.nanoTime();
            int status = http.post("/api/publish", body(room, keyed ? prefix + client + "-" + count++ : null));
            histogram.recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
            if (status != 200) errors.incrementAndGet();
          }
        });
  }

  /** {@code clients} connections sharing {@code rate} calls per second, each call at its planned time. */
  private Step openLoop(String setup, Servers.Server server, InetSocketAddress at, String room) throws IOException {
    long interval = (long) (clients * 1e9 / rate);
    long begin = System.nanoTime() + 100_000_000L;
    long end = begin + (long) (duration * 1e9);
    return load(setup, String.format(Locale.ROOT, "%,.0f calls/s, %d connections", rate, clients), server, at, clients,
        duration, (client, http, histogram, errors) -> {
          for (long planned = begin + client * interval / clients; planned < end; planned += interval) {
            long wait = planned - System.nanoTime();
            if (wait > 0) LockSupport.parkNanos(wait);
            int status = http.post("/api/publish", body(room, null));
            histogram.recordValue(Math.max(1, (System.nanoTime() - planned) / 1000));
            if (status != 200) errors.incrementAndGet();
          }
        });
  }

  private interface Client {
    void run(int client, KeepAliveHttp http, Histogram micros, AtomicLong errors) throws IOException;
  }

  private Step load(String setup, String name, Servers.Server server, InetSocketAddress at, int n, double seconds,
      Client client) throws IOException {
    List<Histogram> histograms = new ArrayList<>();
    List<KeepAliveHttp> connections = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      histograms.add(new Histogram(60_000_000L, 3));
      connections.add(new KeepAliveHttp(at, "X-API-Key: " + KEY + "\r\n"));
    }
    AtomicLong errors = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    double cpuBefore = Proc.cpuSeconds(server.pids());
    long started = System.nanoTime();
    for (int i = 0; i < n; i++) {
      int index = i;
      Thread thread = new Thread(() -> {
        try {
          client.run(index, connections.get(index), histograms.get(index), errors);
        } catch (IOException e) {
          errors.incrementAndGet();
          System.err.println(name + ": client " + index + ": " + e);
        }
      }, "publish-client-" + i);
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      try {
        thread.join((long) (seconds * 1000) + 60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    double elapsed = (System.nanoTime() - started) / 1e9;
    double cpu = Proc.cpuSeconds(server.pids()) - cpuBefore;
    for (KeepAliveHttp connection : connections) connection.close();
    Histogram all = new Histogram(60_000_000L, 3);
    histograms.forEach(all::add);
    return new Step(setup, name, all.getTotalCount() - errors.get(), errors.get(), elapsed, all, cpu);
  }

  /**
   * A room whose entity lives on another node than {@code callerIndex}: each candidate is started
   * by one publish through the caller, and the node whose {@code parley_rooms} grew hosts it.
   */
  private String roomNotOn(Servers servers, Servers.Server three, int callerIndex) throws IOException {
    InetSocketAddress caller = three.http.get(callerIndex);
    for (int i = 0; i < 100; i++) {
      String room = "bench-publish-" + i;
      List<Long> before = roomCounts(servers, three);
      try (KeepAliveHttp http = new KeepAliveHttp(caller, "X-API-Key: " + KEY + "\r\n")) {
        if (http.post("/api/publish", body(room, null)) != 200) throw new IOException("publish to " + room + " failed");
      }
      List<Long> after = roomCounts(servers, three);
      for (int node = 0; node < after.size(); node++) {
        if (after.get(node) > before.get(node) && node != callerIndex) {
          System.out.println("room " + room + " lives on " + three.http.get(node) + "; calls go to " + caller);
          return room;
        }
      }
    }
    throw new IOException("no room placed away from " + caller);
  }

  private static List<Long> roomCounts(Servers servers, Servers.Server three) {
    List<Long> counts = new ArrayList<>();
    for (InetSocketAddress node : three.http) {
      Matcher rooms = ROOMS.matcher(servers.get(node, "/metrics"));
      counts.add(rooms.find() ? Long.parseLong(rooms.group(1)) : -1);
    }
    return counts;
  }

  private static String table(List<Step> steps) {
    StringBuilder table = new StringBuilder(
        "| setup | load | calls/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | server CPU ms per call |\n"
            + "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Step step : steps) {
      Histogram h = step.micros();
      table.append(String.format(Locale.ROOT, "| %s | %s | %,.0f | %.2f | %.2f | %.2f | %.1f | %d | %.3f |%n",
          step.setup(), step.load(), step.calls() / step.seconds(), h.getValueAtPercentile(50) / 1000.0,
          h.getValueAtPercentile(99) / 1000.0, h.getValueAtPercentile(99.9) / 1000.0, h.getMaxValue() / 1000.0,
          step.errors(), step.calls() == 0 ? 0 : step.serverCpuSeconds() * 1000 / step.calls()));
    }
    return table.toString();
  }

  private void report() throws IOException {
    String markdown = "# Server API: publish\n\n" + String.format(Locale.ROOT,
        "%.0f s per step after a %.0f s warm-up; one room without members; keep-alive HTTP/1.1; latency of the open "
            + "loop from each call's planned start.%n%n", duration, warmup) + table(steps);
    Files.writeString(out.resolve("publish.md"), markdown);
    StringBuilder tsv = new StringBuilder("setup\tload\tcalls\terrors\tseconds\tp50_us\tp99_us\tp999_us\tmax_us\tserver_cpu_s\n");
    for (Step step : steps) {
      Histogram h = step.micros();
      tsv.append(String.join("\t", step.setup(), step.load(), Long.toString(step.calls()), Long.toString(step.errors()),
          String.format(Locale.ROOT, "%.2f", step.seconds()), Long.toString(h.getValueAtPercentile(50)),
          Long.toString(h.getValueAtPercentile(99)), Long.toString(h.getValueAtPercentile(99.9)),
          Long.toString(h.getMaxValue()), String.format(Locale.ROOT, "%.2f", step.serverCpuSeconds()))).append('\n');
    }
    Files.writeString(out.resolve("publish.tsv"), tsv);
    System.out.println("results: " + out.resolve("publish.md"));
  }
}
