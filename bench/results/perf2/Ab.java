package io.parley.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Same-run A/B of Parley builds (and go-hub) on the perf helpers' loopback range
 * (servers on 127.0.0.41, ports 18441+i; generator sources .42-.49), with the bench's own
 * generator classes. Not part of the bench tool: compiled against parley-bench.jar (same package).
 *
 * <p>Paired: every server runs at once, each with its own sockets, and the measured steps
 * alternate between them (A B, then B A, ...), so that a noisy neighbour hits all alike.
 *
 * <pre>
 * javac -cp bench/target/parley-bench.jar -d /tmp/wsperf/ab bench/results/perf2/Ab.java
 * java -cp bench/target/parley-bench.jar:/tmp/wsperf/ab io.parley.bench.Ab --out DIR \
 *   --servers "A=/tmp/wsperf/a.jar;B=/tmp/wsperf/b.jar;go-hub=/tmp/wsperf/go-hub" \
 *   --scenarios fanout,idle --rates 1000,10000,40000,70000 --rounds 3
 * </pre>
 *
 * Medians of the rounds.
 */
final class Ab {
  static final String SERVER_IP = "127.0.0.41";
  static final int HTTP_PORT = 18441;
  static final int CLUSTER_PORT = 12641;
  static final String SECRET = "perf2-ab-secret-0123456789abcdef0123456789abcdef";
  static final List<String> FANOUT_SOURCES = List.of("127.0.0.42", "127.0.0.43");
  static final List<String> IDLE_SOURCES =
      List.of("127.0.0.44", "127.0.0.45", "127.0.0.46", "127.0.0.47", "127.0.0.48", "127.0.0.49");
  private static final Pattern OPENED = Pattern.compile("opened ok=(\\d+) failed=(\\d+) ms=(\\d+)");

  /**
   * A server: a parley jar (with extra JVM options after it), the go-hub binary, or {@code bare}
   * (the bench's bare pekko-http WebSocket server: no token, no protocol; the library's floor).
   */
  record Target(String name, Path path, List<String> jvmOptions) {
    boolean go() {
      return !path.toString().endsWith(".jar") && !bare();
    }

    boolean bare() {
      return path.toString().equals("bare");
    }
  }

  private final Path out;
  private final List<Target> targets = new ArrayList<>();
  private final int rounds;
  private final int idleWindow;
  private final boolean jfr;
  private final String asprof;
  private final int idleSettle;
  private final int idleWindows;
  private final boolean histogram;
  private final int connectBatch;
  private final int connectWarmup;
  private final int members;
  private final List<Double> rates;
  private final List<String> scenarios;
  private final List<Integer> idleCounts;
  private final List<String> jvm;
  private final double warmupSeconds;
  private final double windowSeconds;
  private final Servers servers;
  // scenario|server|key -> values over repetitions
  private final Map<String, List<Double>> values = new TreeMap<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  Ab(String[] args) throws Exception {
    out = Path.of(Main.option(args, "--out", "/tmp/wsperf/ab-out"));
    for (String s : Main.option(args, "--servers", "").split(";")) {
      String[] kv = s.split("=", 2);
      List<String> words = List.of(kv[1].trim().split(" +"));
      targets.add(new Target(kv[0], Path.of(words.get(0)), words.subList(1, words.size())));
    }
    rounds = Integer.parseInt(Main.option(args, "--rounds", "3"));
    rates = Arrays.stream(Main.option(args, "--rates", "1000,10000,40000,70000").split(","))
        .map(Double::parseDouble).toList();
    scenarios = List.of(Main.option(args, "--scenarios", "fanout,idle").split(","));
    idleCounts = Arrays.stream(Main.option(args, "--idle", "5000,10000").split(","))
        .map(Integer::parseInt).toList();
    idleWindow = Integer.parseInt(Main.option(args, "--idle-window", "60"));
    jfr = Boolean.parseBoolean(Main.option(args, "--jfr", "false"));
    asprof = Main.option(args, "--asprof", "");
    idleSettle = Integer.parseInt(Main.option(args, "--idle-settle", "60"));
    idleWindows = Integer.parseInt(Main.option(args, "--idle-windows", "1"));
    histogram = Boolean.parseBoolean(Main.option(args, "--histogram", "false"));
    connectBatch = Integer.parseInt(Main.option(args, "--connect-batch", "2000"));
    connectWarmup = Integer.parseInt(Main.option(args, "--connect-warmup", "3"));
    members = Integer.parseInt(Main.option(args, "--members", "200"));
    jvm = List.of(Main.option(args, "--server-jvm", "-Xmx1g").split(" "));
    warmupSeconds = Double.parseDouble(Main.option(args, "--warmup", "2"));
    windowSeconds = Double.parseDouble(Main.option(args, "--duration", "5"));
    Files.createDirectories(out);
    servers = new Servers(out, Path.of("bench/target/parley-bench.jar"), SECRET);
  }

  public static void main(String[] args) throws Exception {
    new Ab(args).run();
  }

  void run() throws Exception {
    if (scenarios.contains("connect")) connect();
    if (scenarios.contains("idle")) idle();
    if (scenarios.contains("fanout")) fanout();
    System.out.println(summary());
  }

  private int port(Target target) {
    return HTTP_PORT + targets.indexOf(target);
  }

  private Servers.Server start(Target target, String tag) throws Exception {
    int port = port(target);
    if (target.bare()) {
      List<String> options = new ArrayList<>(jvm);
      options.addAll(target.jvmOptions());
      return servers.startBare(target.name(), SERVER_IP, port, options, tag);
    }
    if (!target.go()) {
      List<String> options = new ArrayList<>(jvm);
      options.addAll(target.jvmOptions());
      // each its own embedded store: two nodes cannot share one
      Map<String, String> env = Map.of("PARLEY_JWT_SECRET", SECRET, "PARLEY_DEV_MODE", "off",
          "PARLEY_DATA_DIR", out.resolve("data-" + tag).toAbsolutePath().toString());
      return servers.startParley(target.name(), target.path(), List.of(SERVER_IP), port,
          CLUSTER_PORT + targets.indexOf(target), options, tag, env);
    }
    return servers.startGoHub(target.name(), target.path(), SERVER_IP, port, tag);
  }

  private void record(String scenario, String server, String key, double value) throws Exception {
    values.computeIfAbsent(scenario + "|" + server + "|" + key, k -> new ArrayList<>()).add(value);
    Files.writeString(out.resolve("results.tsv"), scenario + "\t" + server + "\t" + key + "\t" + value + "\n",
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    Files.writeString(out.resolve("summary.md"), summary());
  }

  private List<Target> order(int round) {
    List<Target> order = new ArrayList<>(targets);
    Collections.rotate(order, -(round - 1));
    return order;
  }

  private void fanout() throws Exception {
    Map<Target, Servers.Server> running = new LinkedHashMap<>();
    Map<Target, Fanout> fanouts = new LinkedHashMap<>();
    try {
      for (Target target : targets) {
        Servers.Server server = start(target, "fanout-" + target.name());
        running.put(target, server);
        Fanout fanout = new Fanout(new Fanout.Settings(server.http, true, SECRET, 10, members, FANOUT_SOURCES, 2, 10,
            warmupSeconds, windowSeconds, 3, "ab-r"));
        fanouts.put(target, fanout);
        fanout.connect(new Jwt(SECRET));
      }
      for (Target target : targets) {
        Fanout.Step w = fanouts.get(target).step(15000, 0, 10, running.get(target).pids(), List.of());
        System.out.printf(Locale.ROOT, "  %s warm-up: %.0f deliveries/CPU-s, not counted%n", target.name(),
            w.deliveriesPerCpuSecond());
      }
      for (double rate : rates) {
        for (int round = 1; round <= rounds; round++) {
          for (Target target : order(round)) {
            Servers.Server server = running.get(target);
            Fanout.Step step = fanouts.get(target).step(rate, server.pids(), List.of());
            double us = step.received() > 0 ? step.serverCpu() / step.received() * 1e6 : 0;
            System.out.printf(Locale.ROOT, "  %-8s %6.0f/s round %d: got %6.0f/s, %.2f us/delivery, p50 %.1f p99 %.1f ms, missing %d, gaps %d, errors %d%n",
                target.name(), rate, round, step.deliveriesPerSecond(), us, step.p50(), step.p99(), step.missing(),
                step.seqGaps(), step.errors());
            String k = String.format(Locale.ROOT, "%07.0f", rate);
            record("fanout", target.name(), k + " us/delivery", us);
            record("fanout", target.name(), k + " p50 ms", step.p50());
            record("fanout", target.name(), k + " p99 ms", step.p99());
            record("fanout", target.name(), k + " missing", step.missing());
            Proc.sleep(500);
          }
        }
      }
    } finally {
      for (Fanout fanout : fanouts.values()) fanout.close();
      for (Servers.Server server : running.values()) servers.stop(server);
    }
  }

  /** Two generator workers per server, each from its own source address. */
  private final class Idle {
    final Target target;
    final Servers.Server server;
    final String hostPort;
    final List<Process> workers = new ArrayList<>();
    final List<PrintWriter> to = new ArrayList<>();
    final List<BufferedReader> from = new ArrayList<>();
    final List<String> sources;
    final long[] heap = new long[idleCounts.size()];
    final long[] rss = new long[idleCounts.size()];
    int open;
    int user;

    Idle(Target target) throws Exception {
      this.target = target;
      this.server = start(target, "idle-" + target.name());
      this.hostPort = SERVER_IP + ":" + port(target);
      int i = targets.indexOf(target);
      sources = List.of(IDLE_SOURCES.get(2 * i % IDLE_SOURCES.size()), IDLE_SOURCES.get((2 * i + 1) % IDLE_SOURCES.size()));
      for (int w = 0; w < 2; w++) {
        Process p = servers.startWorker("idle-" + target.name() + "-w" + w);
        workers.add(p);
        to.add(new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8));
        from.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
      }
    }

    long pid() {
      return server.pids().get(0);
    }

    /** Opens {@code n} more sockets; returns [upgrades/s, upgrades per server CPU-s]. */
    double[] open(int n, int firstUser, boolean keep) throws Exception {
      double cpu0 = Proc.cpuSeconds(pid());
      long t0 = System.nanoTime();
      List<CompletableFuture<String>> replies = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int count = w == 0 ? n / 2 : n - n / 2;
        String path = target.bare() ? "/ws?room=idle -" : "/ws?token={token} " + SECRET;
        to.get(w).println("open " + count + " 100 " + hostPort + " " + sources.get(w) + " " + path + " "
            + (firstUser + w * count) + " 0 0 180000 120000"); // no retries
        BufferedReader in = from.get(w);
        replies.add(CompletableFuture.supplyAsync(() -> {
          try {
            return in.readLine();
          } catch (Exception e) {
            return "failed " + e;
          }
        }));
      }
      int ok = 0;
      int failed = 0;
      for (CompletableFuture<String> reply : replies) {
        String line = reply.get(300, TimeUnit.SECONDS);
        Matcher m = OPENED.matcher(line);
        if (!m.find()) throw new IllegalStateException("worker said: " + line);
        ok += Integer.parseInt(m.group(1));
        failed += Integer.parseInt(m.group(2));
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      double cpu = Proc.cpuSeconds(pid()) - cpu0;
      if (keep) open += ok;
      if (failed > 0) record("idle", target.name(), "failed upgrades", failed);
      System.out.printf(Locale.ROOT, "  %s: +%d (%d failed) %.0f upgrades/s, %.0f per CPU-s, %d open%n",
          target.name(), ok, failed, ok / seconds, ok / cpu, open);
      return new double[] {ok / seconds, ok / cpu};
    }

    void closeAll() throws Exception {
      for (int w = 0; w < 2; w++) {
        to.get(w).println("close");
        from.get(w).readLine();
      }
    }

    void stop() {
      for (int w = 0; w < workers.size(); w++) {
        try {
          to.get(w).println("close");
          from.get(w).readLine();
          to.get(w).println("quit");
          if (!workers.get(w).waitFor(10, TimeUnit.SECONDS)) workers.get(w).destroyForcibly();
        } catch (Exception e) {
          workers.get(w).destroyForcibly();
        }
        servers.workerStopped("idle-" + target.name() + "-w" + w);
      }
      servers.stop(server);
    }
  }

  private void idle() throws Exception {
    List<Idle> idles = new ArrayList<>();
    try {
      for (Target target : targets) idles.add(new Idle(target));
      // JIT warm-up: 2,000 opened and closed by each, in turn
      for (Idle idle : idles) {
        idle.open(2000, 900_000, false);
        idle.closeAll();
      }
      Proc.sleep(3000);
      for (int i = 0; i < idleCounts.size(); i++) {
        for (Idle idle : (i % 2 == 0 ? idles : reversed(idles))) {
          int n = idleCounts.get(i) - idle.open;
          double[] rate = idle.open(n, idle.open, true);
          if (i == 0) {
            record("idle", idle.target.name(), "upgrades/s", rate[0]);
            record("idle", idle.target.name(), "upgrades per CPU-s", rate[1]);
          }
        }
        Proc.sleep(3000);
        for (Idle idle : idles) {
          idle.heap[i] = idle.target.go() ? 0 : Proc.heapAfterGcKiB(idle.pid());
          idle.rss[i] = Proc.rssKiB(idle.pid());
          if (histogram && !idle.target.go()) {
            Files.writeString(out.resolve("histo-" + idle.target.name() + "-" + idle.open + ".txt"),
                Proc.jcmd(idle.pid(), "GC.class_histogram"));
          }
        }
      }
      int last = idleCounts.size() - 1;
      double sockets = idleCounts.get(last) - idleCounts.get(0);
      for (Idle idle : idles) {
        record("idle", idle.target.name(), "heap KiB/socket", (idle.heap[last] - idle.heap[0]) / sockets);
        record("idle", idle.target.name(), "rss KiB/socket", (idle.rss[last] - idle.rss[0]) / sockets);
      }
      // every server idles over the same window: 60 s holds a ping to every socket; first the JIT
      // and the garbage of the connects settle
      Proc.sleep(idleSettle * 1000L);
      for (int w = 1; w <= idleWindows; w++) {
        double[] c0 = new double[idles.size()];
        for (int i = 0; i < idles.size(); i++) c0[i] = Proc.cpuSeconds(idles.get(i).pid());
        long t0 = System.nanoTime();
        boolean record = (jfr || !asprof.isEmpty()) && w == idleWindows;
        if (record) {
          for (Idle idle : idles) {
            if (!idle.target.go()) profileStart(idle.pid(), "idle");
          }
        }
        Proc.sleep(idleWindow * 1000L);
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (record) {
          for (Idle idle : idles) {
            if (!idle.target.go()) profileStop(idle.pid(), "idle", "idle-" + idle.target.name());
          }
        }
        for (int i = 0; i < idles.size(); i++) {
          Idle idle = idles.get(i);
          double percent = 100 * (Proc.cpuSeconds(idle.pid()) - c0[i]) / seconds;
          System.out.printf(Locale.ROOT, "  %s idle window %d: %.2f %% of a core%n", idle.target.name(), w, percent);
          record("idle", idle.target.name(), "idle CPU % (" + idle.open + " sockets, " + idleWindow + " s)", percent);
        }
      }
    } finally {
      for (Idle idle : idles) idle.stop();
    }
  }

  /**
   * Upgrades per server CPU-second, warmed up: each server opens and closes {@code connectBatch}
   * sockets {@code connectWarmup} times (not counted), then in each round (rotated order) opens a
   * batch (counted: the CPU of the opening only) and closes it.
   */
  private void connect() throws Exception {
    List<Idle> idles = new ArrayList<>();
    try {
      for (Target target : targets) idles.add(new Idle(target));
      for (int w = 0; w < connectWarmup; w++) {
        for (Idle idle : idles) {
          idle.open(connectBatch, 900_000 + w * connectBatch, false);
          idle.closeAll();
        }
      }
      Proc.sleep(3000);
      for (int round = 1; round <= rounds; round++) {
        for (Target target : order(round)) {
          Idle idle = idles.get(targets.indexOf(target));
          boolean record = (jfr || !asprof.isEmpty()) && round == rounds && !target.go();
          if (record) profileStart(idle.pid(), "connect");
          double[] rate = idle.open(connectBatch, round * connectBatch, false);
          if (record) profileStop(idle.pid(), "connect", "connect-" + target.name());
          record("connect", target.name(), "upgrades per CPU-s", rate[1]);
          record("connect", target.name(), "CPU us per upgrade", 1e6 / rate[1]);
          idle.closeAll();
          Proc.sleep(1000);
        }
      }
    } finally {
      for (Idle idle : idles) idle.stop();
    }
  }

  /** JFR ({@code --jfr true}) or async-profiler's CPU sampling ({@code --asprof PATH-TO-asprof}). */
  private void profileStart(long pid, String name) throws Exception {
    if (jfr) Proc.jcmd(pid, "JFR.start", "name=" + name, "settings=profile");
    else exec(asprof, "start", "-e", "cpu", "-i", "1ms", Long.toString(pid));
  }

  private void profileStop(long pid, String name, String file) throws Exception {
    if (jfr) {
      Proc.jcmd(pid, "JFR.stop", "name=" + name, "filename=" + out.resolve(file + ".jfr").toAbsolutePath());
    } else {
      exec(asprof, "stop", "-o", "collapsed", "-f", out.resolve(file + ".collapsed").toAbsolutePath().toString(),
          Long.toString(pid));
    }
  }

  private static void exec(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + ": " + said);
    }
  }

  private static <T> List<T> reversed(List<T> list) {
    List<T> copy = new ArrayList<>(list);
    Collections.reverse(copy);
    return copy;
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    int n = s.size();
    return n == 0 ? Double.NaN : n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  private String summary() {
    StringBuilder md = new StringBuilder("# A/B (paired); medians, [all values]\n\n");
    Map<String, Map<String, String>> rows = new LinkedHashMap<>();
    for (Map.Entry<String, List<Double>> e : values.entrySet()) {
      String[] k = e.getKey().split("\\|");
      String row = k[0] + " " + k[2];
      String cell = String.format(Locale.ROOT, "%.2f %s", median(e.getValue()),
          e.getValue().stream().map(v -> String.format(Locale.ROOT, "%.1f", v)).toList());
      rows.computeIfAbsent(row, r -> new LinkedHashMap<>()).put(k[1], cell);
    }
    md.append("| measure |");
    for (Target t : targets) md.append(" ").append(t.name()).append(" |");
    md.append("\n|---|");
    for (Target ignored : targets) md.append("---|");
    md.append("\n");
    rows.forEach((row, cells) -> {
      md.append("| ").append(row).append(" |");
      for (Target t : targets) md.append(" ").append(cells.getOrDefault(t.name(), "")).append(" |");
      md.append("\n");
    });
    return md.toString();
  }
}
