package io.parley.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster-density scenario (issue "scale-out"): three Parley nodes as separate processes,
 * started like scripts/cluster.sh (docker/cluster.env's environment, then each node's addresses
 * and the seed nodes, and a PostgreSQL they share for the room log: the benchmark's own, as
 * Runner's), {@code perNode} authenticated idle sockets opened to each node at once
 * (several worker processes, {@code inflightPerNode} handshakes in flight per node, failed
 * attempts retried as the JS client would), a hold, then a reconnect storm: every socket reset at
 * once and every client back after the JS client's backoff with full jitter.
 *
 * <p>Watched throughout: each node's {@code /ws/online} every 250 ms (every non-200 answer is
 * counted), each node's cluster membership through its {@code /admin/cluster} (dev mode) every 5 s,
 * whether each node process is still running, and afterwards the nodes' logs. Everything is
 * bounded in time, and the nodes and workers are stopped at the end whatever happened.
 */
final class ClusterDensity {
  static final List<String> IPS = List.of("127.0.0.25", "127.0.0.26", "127.0.0.27");
  private static final long POLL_MS = 250;
  /** Each view asks every node's shard region: not too often, so that watching does not add load. */
  private static final long MEMBERSHIP_MS = 5000;
  /** The JS client's connectTimeout. */
  private static final long STORM_TIMEOUT_MS = 15_000;
  private static final Pattern MEMBER =
      Pattern.compile("\"address\":\"([^\"]+)\",\"status\":\"([^\"]+)\",\"reachable\":(true|false)");
  private static final Pattern ONLINE = Pattern.compile("\"online\":(\\d+),\"connections\":(\\d+)");
  /** Log lines counted per node: what issue "scale-out" saw before a node was downed. */
  private static final Map<String, String> LOG_SIGNS = new LinkedHashMap<>(Map.of(
      "heartbeat interval is growing too large", "heartbeat warnings",
      "as UNREACHABLE", "marked unreachable",
      "SBR took decision", "split-brain resolver decisions",
      "Ask timed out", "ask timeouts",
      " ERROR ", "ERROR lines"));

  private final Path out;
  private final Path jar;
  private final Path benchJar;
  private final Path clusterEnv;
  private final int perNode;
  private final int inflightPerNode;
  private final List<String> nodeJvm;
  private final double holdSeconds;
  private final double idleSettleSeconds;
  private final double idleWindowSeconds;
  private final long stormBaseMs;
  private final long stormCapMs;
  private final double stormDeadlineSeconds;
  private final double afterStormSeconds;
  private final double connectDeadlineSeconds;
  private final long connectTimeoutMs;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** One /ws/online answer: status -1 when there was no answer (timeout, refused). */
  record Online(long at, int node, String phase, int status, long online, long connections) {}

  /** What one node's /admin/cluster said about one member, when it was not plainly Up and reachable. */
  record MemberEvent(long at, int observer, String phase, String member, String status, boolean reachable) {}

  record NodeFigures(String address, boolean aliveAtEnd, double idleCpuPercent, long rssKiB, long peakRssKiB,
      Map<String, Integer> logSigns, int adminFailures) {}

  record Phase(String name, long startMs, long endMs) {}

  record Result(String started, int nodeCount, int perNode, int expected, String nodeJvm,
      int connected, int connectFailed, long connectAttempts, long connectFailedAttempts, String connectWhy,
      double connectSeconds, double connectPerSecond, double onlineConvergeSeconds, int openAtHoldEnd,
      long closedByServerDuringHold, int nodesDownedBeforeStorm, List<String> downedBeforeStorm,
      int stormBack, int stormOf, long stormAttempts, long stormFailedAttempts, String stormWhy, long stormDropMs,
      double stormP50Seconds, double stormP99Seconds, double stormAllSeconds, double stormOnlineConvergeSeconds,
      long closedByServerAfterStorm, int nodesDownedInStorm, List<String> downedInStorm,
      Map<String, Long> onlineNon200ByPhase, Map<String, Long> online5xxByPhase, List<NodeFigures> nodes,
      List<MemberEvent> memberEvents, List<Phase> phases) {}

  ClusterDensity(String[] args) {
    out = Path.of(Main.option(args, "--out", "bench/results/density"));
    jar = Path.of(Main.option(args, "--parley-jar", "target/parley.jar"));
    benchJar = Path.of(Main.option(args, "--bench-jar", "bench/target/parley-bench.jar"));
    clusterEnv = Path.of(Main.option(args, "--cluster-env", "docker/cluster.env"));
    perNode = Integer.parseInt(Main.option(args, "--per-node", "19000"));
    inflightPerNode = Integer.parseInt(Main.option(args, "--inflight-per-node", "200"));
    // scripts/cluster.sh's JAVA_OPTS default (-Xmx512m) cannot hold 19,000 sockets (BENCHMARKS.md)
    nodeJvm = List.of(Main.option(args, "--node-jvm", "-Xmx1g").split(" "));
    holdSeconds = Double.parseDouble(Main.option(args, "--hold", "120"));
    idleSettleSeconds = Double.parseDouble(Main.option(args, "--idle-settle", "10"));
    idleWindowSeconds = Double.parseDouble(Main.option(args, "--idle-window", "30"));
    stormBaseMs = Long.parseLong(Main.option(args, "--storm-base-ms", "500"));
    stormCapMs = Long.parseLong(Main.option(args, "--storm-cap-ms", "5000"));
    stormDeadlineSeconds = Double.parseDouble(Main.option(args, "--storm-deadline", "120"));
    afterStormSeconds = Double.parseDouble(Main.option(args, "--after-storm", "15"));
    connectDeadlineSeconds = Double.parseDouble(Main.option(args, "--connect-deadline", "600"));
    // building the population: a patient generator (an attempt abandoned after 15 s is work the
    // server did for nothing); the storm's clients give up after 15 s as the JS client does
    connectTimeoutMs = Long.parseLong(Main.option(args, "--connect-timeout-ms", "60000"));
  }

  /** KEY=VALUE lines, without comments and blank lines (docker/cluster.env's format). */
  static Map<String, String> readEnv(Path file) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("#") || !t.contains("=")) continue;
      env.put(t.substring(0, t.indexOf('=')).strip(), t.substring(t.indexOf('=') + 1).strip());
    }
    return env;
  }

  private volatile String phase = "start";
  private volatile boolean watching = true;
  private final List<Online> onlineSamples = new CopyOnWriteArrayList<>();
  private final List<MemberEvent> memberEvents = new CopyOnWriteArrayList<>();
  private final List<Phase> phases = new ArrayList<>();
  private final Map<Integer, Long> diedAt = new TreeMap<>();
  private final long[] peakRss = new long[IPS.size()];
  private final int[] adminFailures = new int[IPS.size()];
  private long phaseStart;

  private void phase(String next) {
    long now = System.currentTimeMillis();
    if (phaseStart > 0) phases.add(new Phase(phase, phaseStart, now));
    phase = next;
    phaseStart = now;
    System.out.println("== " + next + " (" + Instant.ofEpochMilli(now) + ")");
  }

  boolean run() throws Exception {
    Files.createDirectories(out);
    Map<String, String> env = readEnv(clusterEnv);
    String secret = env.get("PARLEY_JWT_SECRET");
    if (secret == null) throw new IllegalStateException(clusterEnv + " has no PARLEY_JWT_SECRET");
    Servers servers = new Servers(out, benchJar, secret);
    int expected = perNode * IPS.size();
    int workersPerNode = (int) Math.ceil(perNode / (double) Runner.SOCKETS_PER_WORKER);
    List<WorkerProcess> workers = new ArrayList<>();
    List<Thread> watchers = new ArrayList<>();
    Servers.Server cluster = null;
    Postgres postgres = null;
    String started = Instant.now().toString();
    try {
      phase("starting");
      postgres = Postgres.start(Path.of("/tmp/parley-bench-pg-density"), Runner.PG_HOST, Runner.PG_PORT,
          out.resolve("pids"));
      env.put("PARLEY_DB_URL", postgres.createDatabase("parley"));
      env.put("PARLEY_DB_USER", "postgres");
      cluster = servers.startParley("density", jar, IPS, Runner.HTTP_PORT, Runner.CLUSTER_PORT, nodeJvm, "density",
          env);
      for (int n = 0; n < IPS.size(); n++) {
        watchers.add(watch("online-" + n, n, this::pollOnline, POLL_MS));
        watchers.add(watch("members-" + n, n, pollMembership(cluster), MEMBERSHIP_MS));
      }
      for (int n = 0; n < IPS.size(); n++) {
        for (int w = 0; w < workersPerNode; w++) {
          workers.add(new WorkerProcess(servers, "density-node" + (n + 1) + "-worker" + (w + 1)));
        }
      }

      // connect: every node at once, the same client behaviour as in the storm for failed attempts
      phase("connect");
      long connectStart = System.currentTimeMillis();
      List<CompletableFuture<String>> replies = new ArrayList<>();
      int per = perNode / workersPerNode;
      int user = 0;
      for (int n = 0; n < IPS.size(); n++) {
        for (int w = 0; w < workersPerNode; w++) {
          int count = w == workersPerNode - 1 ? perNode - per * (workersPerNode - 1) : per;
          String source = "127.0.0." + (31 + n * workersPerNode + w);
          replies.add(workers.get(n * workersPerNode + w).ask("open " + count + " "
              + Math.max(1, inflightPerNode / workersPerNode) + " " + IPS.get(n) + ":" + Runner.HTTP_PORT + " "
              + source + " /ws?token={token} " + secret + " " + user + " " + stormBaseMs + " " + stormCapMs + " "
              + Math.round(connectDeadlineSeconds * 1000) + " " + connectTimeoutMs));
          user += count;
        }
      }
      List<String> answers = answers(replies, connectDeadlineSeconds + 60);
      int connected = sum(answers, "ok");
      long lastConnect = answers.stream().mapToLong(a -> WorkerProcess.number(a, "last")).max().orElse(0);
      if (lastConnect == 0) lastConnect = System.currentTimeMillis(); // nothing opened: the hold starts now
      double connectSeconds = (lastConnect - connectStart) / 1000.0;
      System.out.printf(Locale.ROOT, "  %d of %d open in %.1f s (%d attempts, %d failed: %s)%n", connected, expected,
          connectSeconds, sum(answers, "attempts"), sum(answers, "failed_attempts"), why(answers));

      // hold: nothing sent; idle CPU and RSS per node over a steady window
      phase("hold");
      long holdEnd = lastConnect + Math.round(Math.max(holdSeconds, idleSettleSeconds + idleWindowSeconds + 5) * 1000);
      long closedBefore = closedByServer(workers);
      Proc.sleep(Math.max(0, lastConnect + Math.round(idleSettleSeconds * 1000) - System.currentTimeMillis()));
      List<Long> pids = cluster.pids();
      double[] cpu0 = new double[pids.size()];
      for (int n = 0; n < pids.size(); n++) cpu0[n] = alive(cluster, n) ? Proc.cpuSeconds(pids.get(n)) : 0;
      long w0 = System.nanoTime();
      Proc.sleep(Math.round(idleWindowSeconds * 1000));
      double window = (System.nanoTime() - w0) / 1e9;
      double[] idleCpu = new double[pids.size()];
      long[] rss = new long[pids.size()];
      for (int n = 0; n < pids.size(); n++) {
        idleCpu[n] = alive(cluster, n) ? 100 * (Proc.cpuSeconds(pids.get(n)) - cpu0[n]) / window : Double.NaN;
        rss[n] = alive(cluster, n) ? Proc.rssKiB(pids.get(n)) : -1;
        System.out.printf(Locale.ROOT, "  node %d: idle %.1f%% of a core, RSS %d MiB%n", n + 1, idleCpu[n],
            rss[n] / 1024);
      }
      Proc.sleep(Math.max(0, holdEnd - System.currentTimeMillis()));
      List<String> counts = answers(workers.stream().map(w -> w.ask("count")).toList(), 60);
      int openAtHoldEnd = sum(counts, "open");
      long closedDuringHold = sum(counts, "closed_by_server") - closedBefore;
      System.out.printf("  at the end of the hold: %d open, %d closed by the server since the last connect%n",
          openAtHoldEnd, closedDuringHold);

      // storm: every socket reset at once; every client back after its jittered backoff
      phase("storm");
      long stormStart = System.currentTimeMillis();
      List<String> storm = answers(workers.stream().map(w -> w.ask("storm " + stormBaseMs + " " + stormCapMs + " "
          + Math.round(stormDeadlineSeconds * 1000) + " " + STORM_TIMEOUT_MS)).toList(), stormDeadlineSeconds + 60);
      List<Long> times = new ArrayList<>();
      for (String a : storm) {
        String t = WorkerProcess.field(a, "times", "-");
        if (!t.equals("-")) Arrays.stream(t.split(",")).map(Long::parseLong).forEach(times::add);
      }
      Collections.sort(times);
      int back = sum(storm, "back");
      int of = sum(storm, "of");
      long stormLast = storm.stream().mapToLong(a -> WorkerProcess.number(a, "last")).max().orElse(0);
      System.out.printf(Locale.ROOT, "  storm: %d of %d back; 99%% at %.1f s, all at %s (%d attempts, %d failed: %s)%n",
          back, of, percentile(times, of, 99) / 1000.0,
          back == of ? String.format(Locale.ROOT, "%.1f s", percentile(times, of, 100) / 1000.0) : "never",
          sum(storm, "attempts"), sum(storm, "failed_attempts"), why(storm));
      phase("after-storm");
      Proc.sleep(Math.round(afterStormSeconds * 1000));
      // the storm reset every socket from this side; any close counted from then on is the server's
      long closedAfterStorm = closedByServer(workers) - closedBefore - closedDuringHold;
      phase("done");
      watching = false;
      for (Thread t : watchers) t.join(5000);

      List<NodeFigures> nodes = new ArrayList<>();
      for (int n = 0; n < IPS.size(); n++) {
        Path log = out.resolve("logs").resolve("density-" + (n + 1) + ".log");
        nodes.add(new NodeFigures(IPS.get(n) + ":" + Runner.CLUSTER_PORT, alive(cluster, n), idleCpu[n], rss[n],
            peakRss[n], logSigns(log), adminFailures[n]));
      }
      Phase stormPhase = phases.stream().filter(p -> p.name().equals("storm")).findFirst().orElseThrow();
      Phase afterStorm = phases.stream().filter(p -> p.name().equals("after-storm")).findFirst().orElseThrow();
      List<String> downedBefore = downed(cluster, 0, stormPhase.startMs());
      List<String> downedInStorm = downed(cluster, stormPhase.startMs(), afterStorm.endMs());
      downedInStorm.removeAll(downedBefore);
      Result result = new Result(started, IPS.size(), perNode, expected, String.join(" ", nodeJvm),
          connected, sum(answers, "failed"), sum(answers, "attempts"), sum(answers, "failed_attempts"), why(answers),
          connectSeconds, connected / Math.max(0.001, connectSeconds),
          converge(lastConnect, expected), openAtHoldEnd, closedDuringHold, downedBefore.size(), downedBefore,
          back, of, sum(storm, "attempts"), sum(storm, "failed_attempts"), why(storm),
          storm.stream().mapToLong(a -> Long.parseLong(WorkerProcess.field(a, "drop_ms", "0"))).max().orElse(0),
          percentile(times, of, 50) / 1000.0, percentile(times, of, 99) / 1000.0,
          back == of ? percentile(times, of, 100) / 1000.0 : Double.NaN,
          back == of ? converge(stormLast, expected) : Double.NaN, closedAfterStorm,
          downedInStorm.size(), downedInStorm, byPhase(s -> s.status() != 200, true),
          byPhase(s -> s.status() >= 500, false),
          nodes, new ArrayList<>(memberEvents), new ArrayList<>(phases));
      Files.writeString(out.resolve("density.jsonl"), Json.of(result) + "\n", StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      String md = markdown(result);
      Files.writeString(out.resolve("density.md"), md);
      System.out.println(md);
      return true;
    } finally {
      watching = false;
      for (WorkerProcess w : workers) w.close();
      if (cluster != null) servers.stop(cluster);
      if (postgres != null) postgres.close();
    }
  }

  private boolean alive(Servers.Server cluster, int n) {
    return cluster.processes.get(n).isAlive();
  }

  /** A watcher thread: {@code poll(node)} every {@code periodMs} until the scenario ends. */
  private Thread watch(String name, int node, java.util.function.IntConsumer poll, long periodMs) {
    Thread t = new Thread(() -> {
      while (watching) {
        long t0 = System.currentTimeMillis();
        try {
          poll.accept(node);
        } catch (RuntimeException e) {
          System.err.println(name + ": " + e);
        }
        long left = t0 + periodMs - System.currentTimeMillis();
        if (left > 0) Proc.sleep(left);
      }
    }, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private HttpResponse<String> get(int node, String path, int timeoutSeconds) throws Exception {
    URI uri = URI.create("http://" + IPS.get(node) + ":" + Runner.HTTP_PORT + path);
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(timeoutSeconds)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private void pollOnline(int node) {
    long at = System.currentTimeMillis();
    String p = phase;
    try {
      // longer than the route's own 3 s ask timeout, so that a failing node's 5xx is seen as such
      HttpResponse<String> r = get(node, "/ws/online", 5);
      Matcher m = ONLINE.matcher(r.body());
      boolean counts = r.statusCode() == 200 && m.find();
      onlineSamples.add(new Online(at, node, p, r.statusCode(), counts ? Long.parseLong(m.group(1)) : -1,
          counts ? Long.parseLong(m.group(2)) : -1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      onlineSamples.add(new Online(at, node, p, -1, -1, -1));
    }
  }

  private java.util.function.IntConsumer pollMembership(Servers.Server cluster) {
    return node -> {
      long at = System.currentTimeMillis();
      String p = phase;
      if (!alive(cluster, node)) {
        synchronized (diedAt) {
          diedAt.putIfAbsent(node, at);
        }
        return;
      }
      peakRss[node] = Math.max(peakRss[node], Proc.rssKiB(cluster.pids().get(node)));
      try {
        // the view asks every node's shard region (up to 3 s): a slow answer is no evidence
        HttpResponse<String> r = get(node, "/admin/cluster", 5);
        if (r.statusCode() != 200) {
          adminFailures[node]++;
          return;
        }
        Set<String> seen = new LinkedHashSet<>();
        Matcher m = MEMBER.matcher(r.body());
        while (m.find()) {
          seen.add(m.group(1));
          if (!m.group(2).equals("Up") || !m.group(3).equals("true")) {
            memberEvents.add(new MemberEvent(at, node, p, m.group(1), m.group(2), m.group(3).equals("true")));
          }
        }
        for (String ip : IPS) {
          String member = ip + ":" + Runner.CLUSTER_PORT;
          // once the cluster has formed, a member missing from a view has been removed
          if (!p.equals("starting") && !seen.contains(member)) {
            memberEvents.add(new MemberEvent(at, node, p, member, "missing", false));
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        adminFailures[node]++;
      }
    };
  }

  /**
   * Nodes downed between two times: a node process that ended, or a member that some node saw as
   * Down, Removed, Exiting or Leaving, or missing from its view. (Unreachable alone is not downed.)
   */
  private List<String> downed(Servers.Server cluster, long from, long to) {
    Set<String> downed = new LinkedHashSet<>();
    synchronized (diedAt) {
      diedAt.forEach((n, at) -> {
        if (at >= from && at <= to) downed.add(IPS.get(n) + ":" + Runner.CLUSTER_PORT + " (process ended)");
      });
    }
    for (MemberEvent e : memberEvents) {
      if (e.at() >= from && e.at() <= to && !e.status().equals("Up") && !e.status().equals("Joining")
          && !e.status().equals("WeaklyUp")) {
        downed.add(e.member() + " (" + e.status() + " in node " + (e.observer() + 1) + "'s view)");
      }
    }
    // one line per member: the first evidence
    Map<String, String> first = new LinkedHashMap<>();
    for (String d : downed) first.putIfAbsent(d.substring(0, d.indexOf(' ')), d);
    return new ArrayList<>(first.values());
  }

  /**
   * Seconds from {@code fromMs} until every node's /ws/online said {@code expected} users and
   * connections (the first poll round at or after it), or NaN if that never happened.
   */
  private double converge(long fromMs, int expected) {
    List<Online> samples = new ArrayList<>(onlineSamples);
    samples.sort((a, b) -> Long.compare(a.at(), b.at()));
    Online[] latest = new Online[IPS.size()];
    for (Online s : samples) {
      latest[s.node()] = s;
      if (s.at() < fromMs) continue;
      boolean all = true;
      for (Online l : latest) {
        all &= l != null && l.at() >= fromMs && l.status() == 200 && l.online() == expected
            && l.connections() == expected;
      }
      if (all) return (s.at() - fromMs) / 1000.0;
    }
    return Double.NaN;
  }

  /** Counts of the samples that {@code which} picks, by phase (and by status, when asked). */
  private Map<String, Long> byPhase(java.util.function.Predicate<Online> which, boolean byStatus) {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (Online s : onlineSamples) {
      if (which.test(s)) counts.merge(byStatus ? s.phase() + " " + s.status() : s.phase(), 1L, Long::sum);
    }
    return counts;
  }

  private static Map<String, Integer> logSigns(Path log) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    LOG_SIGNS.values().forEach(v -> counts.put(v, 0));
    try (var lines = Files.lines(log)) {
      lines.forEach(line -> LOG_SIGNS.forEach((sign, name) -> {
        if (line.contains(sign)) counts.merge(name, 1, Integer::sum);
      }));
    } catch (IOException | java.io.UncheckedIOException e) {
      counts.put("log unreadable", 1);
    }
    return counts;
  }

  private static List<String> answers(List<CompletableFuture<String>> replies, double seconds) throws Exception {
    List<String> answers = new ArrayList<>();
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    for (CompletableFuture<String> r : replies) {
      answers.add(r.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
    }
    return answers;
  }

  private static int sum(List<String> answers, String field) {
    return (int) answers.stream().mapToLong(a -> WorkerProcess.number(a, field)).sum();
  }

  /** Sockets the server closed so far, over every worker. */
  private static long closedByServer(List<WorkerProcess> workers) throws Exception {
    return sum(answers(workers.stream().map(w -> w.ask("count")).toList(), 60), "closed_by_server");
  }

  /** Failed attempts by cause, summed over the workers' answers. */
  private static String why(List<String> answers) {
    Map<String, Integer> causes = new TreeMap<>();
    for (String a : answers) {
      String w = WorkerProcess.field(a, "why", "-");
      if (w.equals("-")) continue;
      for (String part : w.split(",")) {
        int x = part.lastIndexOf('x');
        causes.merge(part.substring(0, x), Integer.parseInt(part.substring(x + 1)), Integer::sum);
      }
    }
    return causes.isEmpty() ? "none" : causes.toString();
  }

  /** The p-th percentile of {@code of} clients' times, NaN if fewer than that many came back. */
  private static double percentile(List<Long> sorted, int of, double p) {
    int rank = (int) Math.ceil(of * p / 100.0);
    if (rank <= 0 || rank > sorted.size()) return Double.NaN;
    return sorted.get(rank - 1);
  }

  private static String verdict(boolean met) {
    return met ? "met" : "**not met**";
  }

  static String markdown(Result r) {
    StringBuilder md = new StringBuilder();
    md.append("# Cluster density: ").append(r.nodeCount()).append(" nodes × ").append(r.perNode())
        .append(" sockets, then a reconnect storm\n\n");
    md.append("Started ").append(r.started()).append(". ").append(Report.machine()).append("Node JVM: `")
        .append(r.nodeJvm()).append("`; environment: docker/cluster.env, then each node's addresses (")
        .append(String.join(", ", IPS)).append(", HTTP ").append(Runner.HTTP_PORT).append(", Artery ")
        .append(Runner.CLUSTER_PORT).append(").\n\n");
    md.append("| figure | target | measured | verdict |\n|---|---|---|---|\n");
    md.append(String.format(Locale.ROOT, "| authenticated sockets open at once (end of the hold) | %d | %d | %s |%n",
        r.expected(), r.openAtHoldEnd(), verdict(r.openAtHoldEnd() == r.expected())));
    md.append(String.format(Locale.ROOT, "| nodes downed while connecting and holding | 0 | %d %s | %s |%n",
        r.nodesDownedBeforeStorm(), r.downedBeforeStorm(), verdict(r.nodesDownedBeforeStorm() == 0)));
    md.append(String.format(Locale.ROOT, "| sockets closed by the server during the hold | 0 | %d | %s |%n",
        r.closedByServerDuringHold(), verdict(r.closedByServerDuringHold() == 0)));
    md.append(String.format(Locale.ROOT,
        "| every node's /ws/online = %d users and connections, after the last connect | ≤ 3 s | %s | %s |%n",
        r.expected(), seconds(r.onlineConvergeSeconds()),
        verdict(!Double.isNaN(r.onlineConvergeSeconds()) && r.onlineConvergeSeconds() <= 3)));
    long fivexx = r.online5xxByPhase().values().stream().mapToLong(Long::longValue).sum();
    md.append(String.format(Locale.ROOT, "| /ws/online answers 5xx (all nodes, whole run) | 0 | %d %s | %s |%n",
        fivexx, r.online5xxByPhase(), verdict(fivexx == 0)));
    for (int n = 0; n < r.nodes().size(); n++) {
      NodeFigures f = r.nodes().get(n);
      md.append(String.format(Locale.ROOT, "| node %d idle CPU with every socket open | ≤ 5 %% of a core | %.1f %% | %s |%n",
          n + 1, f.idleCpuPercent(), verdict(f.idleCpuPercent() <= 5)));
      md.append(String.format(Locale.ROOT, "| node %d RSS (end of the idle window; peak seen) | ≤ 1.5 GB | %.0f MB; %.0f MB | %s |%n",
          n + 1, f.rssKiB() * 1.024 / 1000, f.peakRssKiB() * 1.024 / 1000, verdict(f.rssKiB() * 1024L <= 1_500_000_000L)));
    }
    md.append(String.format(Locale.ROOT, "| storm: 99 %% reconnected | – | %s | |%n", seconds(r.stormP99Seconds())));
    md.append(String.format(Locale.ROOT, "| storm: 100 %% reconnected | ≤ 60 s | %s (%d of %d) | %s |%n",
        seconds(r.stormAllSeconds()), r.stormBack(), r.stormOf(),
        verdict(!Double.isNaN(r.stormAllSeconds()) && r.stormAllSeconds() <= 60)));
    md.append(String.format(Locale.ROOT, "| storm: nodes downed | 0 | %d %s | %s |%n", r.nodesDownedInStorm(),
        r.downedInStorm(), verdict(r.nodesDownedInStorm() == 0)));
    md.append(String.format(Locale.ROOT,
        "| storm: sockets of reconnected clients closed by the server (storm and %s after) | 0 | %d | %s |%n",
        "the settle", r.closedByServerAfterStorm(), verdict(r.closedByServerAfterStorm() == 0)));
    md.append(String.format(Locale.ROOT, "%n**Connect.** %d of %d open, %d gave up; %d attempts, %d failed (%s);"
            + " %.1f s from the first to the last open (%.0f upgrades/s over the cluster).%n",
        r.connected(), r.expected(), r.connectFailed(), r.connectAttempts(), r.connectFailedAttempts(),
        r.connectWhy(), r.connectSeconds(), r.connectPerSecond()));
    md.append(String.format(Locale.ROOT, "%n**Storm.** All sockets reset within %d ms (per worker); %d of %d back;"
            + " 50 %% at %s, 99 %% at %s, 100 %% at %s; %d attempts, %d failed (%s). /ws/online back at %d on every"
            + " node %s after the last reconnect.%n",
        r.stormDropMs(), r.stormBack(), r.stormOf(), seconds(r.stormP50Seconds()), seconds(r.stormP99Seconds()),
        seconds(r.stormAllSeconds()), r.stormAttempts(), r.stormFailedAttempts(), r.stormWhy(), r.expected(),
        seconds(r.stormOnlineConvergeSeconds())));
    md.append(String.format(Locale.ROOT, "%n**/ws/online answers other than 200** (polled every %d ms per node;"
        + " -1 = no answer within 5 s), by phase and status: %s.%n", POLL_MS, r.onlineNon200ByPhase()));
    md.append("\n| node | running at the end | idle CPU % of a core | RSS MB | peak RSS MB | /admin/cluster failures |");
    LOG_SIGNS.values().forEach(v -> md.append(" log: ").append(v).append(" |"));
    md.append("\n|---|---|---:|---:|---:|---:|").append("---:|".repeat(LOG_SIGNS.size())).append('\n');
    for (int n = 0; n < r.nodes().size(); n++) {
      NodeFigures f = r.nodes().get(n);
      md.append(String.format(Locale.ROOT, "| %d (%s) | %s | %.1f | %.0f | %.0f | %d |", n + 1, f.address(),
          f.aliveAtEnd() ? "yes" : "**no**", f.idleCpuPercent(), f.rssKiB() * 1.024 / 1000,
          f.peakRssKiB() * 1.024 / 1000, f.adminFailures()));
      LOG_SIGNS.values().forEach(v -> md.append(' ').append(f.logSigns().getOrDefault(v, 0)).append(" |"));
      md.append('\n');
    }
    if (!r.memberEvents().isEmpty()) {
      md.append("\nMembers seen other than Up and reachable (first 20 of ").append(r.memberEvents().size())
          .append("; all in density.jsonl):\n\n| time | phase | seen by node | member | status | reachable |\n"
              + "|---|---|---:|---|---|---|\n");
      r.memberEvents().stream().limit(20).forEach(e -> md.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %s |%n",
          Instant.ofEpochMilli(e.at()), e.phase(), e.observer() + 1, e.member(), e.status(), e.reachable())));
    }
    md.append("\nPhases: ");
    r.phases().forEach(p -> md.append(String.format(Locale.ROOT, "%s %.0f s; ", p.name(), (p.endMs() - p.startMs()) / 1000.0)));
    md.append("\n");
    return md.toString();
  }

  private static String seconds(double s) {
    return Double.isNaN(s) ? "never" : String.format(Locale.ROOT, "%.1f s", s);
  }
}
