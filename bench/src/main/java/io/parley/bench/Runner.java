package io.parley.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The whole benchmark: starts every server itself, runs each scenario {@code reps} times with the
 * servers interleaved inside each repetition (so a noisy neighbour hits them alike), and writes
 * {@code results.jsonl} (every measurement) and {@code summary.md} (medians and ratios).
 */
final class Runner {
  static final String SECRET = "parley-bench-secret-not-for-production-0123456789";
  static final String SINGLE_IP = "127.0.0.21";
  static final List<String> CLUSTER_IPS = List.of("127.0.0.22", "127.0.0.23", "127.0.0.24");
  static final int HTTP_PORT = 18080;
  static final int CLUSTER_PORT = 12552;
  /** The benchmark's own PostgreSQL (Postgres), for the room log of a cluster and of the PostgreSQL store. */
  static final String PG_HOST = "127.0.0.28";
  static final int PG_PORT = 15432;
  static final String GO_HUB = "go-hub";
  /** Sockets one worker process holds at most (the 20,000 open files limit, with room to spare). */
  static final int SOCKETS_PER_WORKER = 9_500;

  final Path out;
  final Path parleyJar;
  final Path refJar;
  final String refName;
  final Path benchJar;
  /** go-hub's binary (bench/run.sh builds it), or null: then go-hub is not measured. */
  final Path goHub;
  final int reps;
  final Set<String> scenarios;
  final List<Double> rates;
  final List<Double> clusterRates;
  final double warmup;
  final double duration;
  final double drain;
  final double minWindowDeliveries;
  final List<Integer> idleCounts;
  final int connectInflight;
  final double idleSettle;
  final double idleWindow;
  final double profileRate;
  final double serverWarmup;
  final double serverWarmupRate;
  final int idleWarmup;
  final List<String> serverJvm;
  final List<String> clusterJvm;
  final int rooms;
  final int members;
  final double maxPerSender;
  final int generatorThreads;
  /** The room log's scenario: messages per second, rooms of posters and readers, their pace. */
  final List<Double> storeRates;
  final int storeRooms;
  final int storeMembers;
  final double storeMaxPerSender;
  final double storeWarmupRate;
  /** Where the benchmark's own PostgreSQL listens (on loopback, a port of its own) and keeps its files. */
  final String pgHost;
  final int pgPort;
  final Path pgDir;

  /** Extra Parley servers: name → extra JVM options (config overrides as -D...), for A/B of settings. */
  final Map<String, List<String>> variants = new LinkedHashMap<>();
  final Set<String> variantScenarios;

  final List<Record> records = new ArrayList<>();
  /** Scenarios that failed (a server that died, sockets that did not connect): the run goes on. */
  final List<String> failures = new ArrayList<>();
  private Servers servers;
  /** Started by the first scenario that needs it (the PostgreSQL store, a cluster), stopped at the end. */
  private Postgres postgres;
  private int databases;
  private long t0;
  private int sourceCounter;

  /** One measurement: scenario, server, repetition, the step or idle result. */
  record Record(String scenario, String server, int rep, int nodes, Fanout.Step step, Idle.Result idle) {}

  Runner(String[] args) {
    out = Path.of(Main.option(args, "--out", "bench/results/latest"));
    parleyJar = Path.of(Main.option(args, "--parley-jar", "target/parley.jar"));
    String ref = Main.option(args, "--ref-jar", "");
    refJar = ref.isEmpty() ? null : Path.of(ref);
    refName = Main.option(args, "--ref-name", "main");
    benchJar = Path.of(Main.option(args, "--bench-jar", "bench/target/parley-bench.jar"));
    String hub = Main.option(args, "--go-hub", "");
    goHub = hub.isEmpty() ? null : Path.of(hub);
    reps = Integer.parseInt(Main.option(args, "--reps", "3"));
    scenarios = Set.of(Main.option(args, "--scenarios", "idle,fanout,cluster,profile").split(","));
    rates = doubles(Main.option(args, "--rates", "1000,10000,20000,40000,70000,100000,150000"));
    clusterRates = doubles(Main.option(args, "--cluster-rates", "1000,10000,20000,40000"));
    warmup = Double.parseDouble(Main.option(args, "--warmup", "2"));
    duration = Double.parseDouble(Main.option(args, "--duration", "5"));
    drain = Double.parseDouble(Main.option(args, "--drain", "3"));
    // a low rate gets a longer window, so that CPU per delivery rests on enough deliveries and ticks
    minWindowDeliveries = Double.parseDouble(Main.option(args, "--min-window-deliveries", "30000"));
    idleCounts = Arrays.stream(Main.option(args, "--idle-counts", "10000,19000").split(","))
        .map(Integer::parseInt).toList();
    connectInflight = Integer.parseInt(Main.option(args, "--connect-inflight", "200"));
    idleSettle = Double.parseDouble(Main.option(args, "--idle-settle", "5"));
    idleWindow = Double.parseDouble(Main.option(args, "--idle-window", "10"));
    profileRate = Double.parseDouble(Main.option(args, "--profile-rate", "30000"));
    serverWarmup = Double.parseDouble(Main.option(args, "--server-warmup", "10"));
    serverWarmupRate = Double.parseDouble(Main.option(args, "--server-warmup-rate", "15000"));
    idleWarmup = Integer.parseInt(Main.option(args, "--idle-warmup", "2000"));
    serverJvm = List.of(Main.option(args, "--server-jvm", "-Xmx1g").split(" "));
    clusterJvm = List.of(Main.option(args, "--cluster-jvm", "-Xmx512m").split(" "));
    rooms = Integer.parseInt(Main.option(args, "--rooms", "10"));
    members = Integer.parseInt(Main.option(args, "--members", "200"));
    maxPerSender = Double.parseDouble(Main.option(args, "--max-per-sender", "10"));
    generatorThreads = Integer.parseInt(Main.option(args, "--generator-threads", "2"));
    storeRates = doubles(Main.option(args, "--store-rates", "1000,2500,5000,7500,10000,15000,20000"));
    storeRooms = Integer.parseInt(Main.option(args, "--store-rooms", "200"));
    storeMembers = Integer.parseInt(Main.option(args, "--store-members", "2"));
    storeMaxPerSender = Double.parseDouble(Main.option(args, "--store-max-per-sender", "100"));
    storeWarmupRate = Double.parseDouble(Main.option(args, "--store-warmup-rate", "2000"));
    if (storeMembers < 2) throw new IllegalArgumentException("--store-members: at least 2 (a poster and a reader)");
    pgHost = Main.option(args, "--pg-host", PG_HOST);
    pgPort = Integer.parseInt(Main.option(args, "--pg-port", Integer.toString(PG_PORT)));
    pgDir = Path.of(Main.option(args, "--pg-dir", "/tmp/parley-bench-pg-" + pgPort));
    variantScenarios = Set.of(Main.option(args, "--variant-scenarios", "fanout").split(","));
    for (String v : Main.option(args, "--variants", "").split(";")) {
      if (v.isBlank()) continue;
      int eq = v.indexOf('=');
      String name = v.substring(0, eq).trim();
      variants.put(name.startsWith("bare") || name.startsWith("parley") ? name : "parley+" + name,
          List.of(v.substring(eq + 1).trim().split(" ")));
    }
  }

  private List<String> jvm(List<String> base, String variant) {
    List<String> all = new ArrayList<>(base);
    all.addAll(variants.getOrDefault(variant, List.of()));
    return all;
  }

  private static List<Double> doubles(String csv) {
    return Arrays.stream(csv.split(",")).filter(s -> !s.isBlank()).map(Double::parseDouble).toList();
  }

  /** Source addresses for the generator: 127.0.0.31 … .250, a fresh one each time. */
  private List<String> sources(int n) {
    List<String> list = new ArrayList<>();
    for (int i = 0; i < n; i++) list.add("127.0.0." + (31 + (sourceCounter++ % 220)));
    return list;
  }

  void run() throws Exception {
    Files.createDirectories(out);
    servers = new Servers(out, benchJar, SECRET);
    Files.writeString(out.resolve("results.jsonl"), "");
    t0 = System.nanoTime();
    for (int rep = 1; rep <= reps; rep++) {
      if (scenarios.contains("idle")) {
        if (rep == 1) idle("bare-echo", rep, null, "/echo");
        idle("bare", rep, null, "/ws?room=idle");
        idle("parley", rep, parleyJar, "/ws?token={token}");
        if (goHub != null) idle(GO_HUB, rep, null, "/ws?token={token}");
        for (String v : variants.keySet()) {
          if (!variantScenarios.contains("idle")) break;
          if (v.startsWith("bare")) idle(v, rep, null, "/ws?room=idle");
          else idle(v, rep, parleyJar, "/ws?token={token}");
        }
        if (refJar != null) idle(refName, rep, refJar, "/ws?token={token}");
      }
      if (scenarios.contains("fanout")) {
        fanout("bare", rep, null, List.of(SINGLE_IP), rates, serverJvm);
        fanout("parley", rep, parleyJar, List.of(SINGLE_IP), rates, serverJvm);
        if (goHub != null) fanout(GO_HUB, rep, null, List.of(SINGLE_IP), rates, List.of());
        for (String v : variants.keySet()) {
          if (!variantScenarios.contains("fanout")) break;
          fanout(v, rep, v.startsWith("bare") ? null : parleyJar, List.of(SINGLE_IP), rates, jvm(serverJvm, v));
        }
        if (refJar != null) fanout(refName, rep, refJar, List.of(SINGLE_IP), rates, serverJvm);
      }
      if (scenarios.contains("cluster")) {
        fanout("parley-3-nodes", rep, parleyJar, CLUSTER_IPS, clusterRates, clusterJvm);
        if (!scenarios.contains("fanout")) {
          // the cluster table divides by one node and by go-hub of the same repetition
          fanout("parley", rep, parleyJar, List.of(SINGLE_IP), clusterRates, serverJvm);
          if (goHub != null) fanout(GO_HUB, rep, null, List.of(SINGLE_IP), clusterRates, List.of());
        }
      }
      if (scenarios.contains("store")) {
        if (!scenarios.contains("fanout")) {
          // storage is paid per message, not per recipient: the fan-out's CPU per delivery against
          // the version before the room log (the reference), in the same repetition
          fanout("parley", rep, parleyJar, List.of(SINGLE_IP), rates, serverJvm);
          if (refJar != null) fanout(refName, rep, refJar, List.of(SINGLE_IP), rates, serverJvm);
        }
        store("parley-embedded", rep, parleyJar, false);
        store("parley-postgres", rep, parleyJar, true);
        if (refJar != null) store(refName, rep, refJar, false); // acks without a log: what storing adds
      }
      writeSummary(t0);
    }
    if (scenarios.contains("profile")) {
      profile("parley", parleyJar);
      profile("bare", null);
    }
    if (postgres != null) postgres.close();
    writeSummary(t0);
    System.out.println("done in " + Math.round((System.nanoTime() - t0) / 1e9) + " s: " + out.resolve("summary.md"));
  }

  /**
   * Parley from {@code jar} with {@code env} added to the benchmark's; without a jar, go-hub by its
   * name, else the bare server.
   */
  private Servers.Server start(String name, Path jar, List<String> ips, List<String> jvm, String tag,
      Map<String, String> env) throws IOException {
    if (jar != null) {
      return servers.startParley(name, jar, ips, HTTP_PORT, CLUSTER_PORT, jvm, tag, servers.parleyEnv(env));
    }
    if (name.equals(GO_HUB)) return servers.startGoHub(name, goHub, ips.get(0), HTTP_PORT, tag);
    return servers.startBare(name, ips.get(0), HTTP_PORT, jvm, tag);
  }

  private void announce(String what) {
    System.out.printf(Locale.ROOT, "== %s (at %.0f s)%n", what, (System.nanoTime() - t0) / 1e9);
  }

  /** Recorded for summary.md; the run goes on with the next scenario. */
  private void failed(String what, Exception e) {
    failures.add(what + ": " + e);
    System.out.println("  FAILED: " + e + " (see " + out.resolve("logs") + ")");
  }

  private void idle(String name, int rep, Path jar, String path) {
    String what = "idle " + name + " rep " + rep;
    announce(what);
    String tag = "idle-" + name + "-" + rep;
    int workerCount = (int) Math.ceil(idleCounts.get(idleCounts.size() - 1) / (double) SOCKETS_PER_WORKER);
    List<WorkerProcess> workers = new ArrayList<>();
    Servers.Server server = null;
    try {
      server = start(name, jar, List.of(SINGLE_IP), jvm(serverJvm, name), tag, Map.of());
      for (int w = 0; w < workerCount; w++) workers.add(new WorkerProcess(servers, tag + "-worker" + (w + 1)));
      Idle idle = new Idle(server, path, server.authenticated() ? SECRET : null, workers, sources(workerCount),
          idleSettle, idleWindow);
      add(new Record("idle", name, rep, 1, null, idle.run(idleCounts, connectInflight, idleWarmup)));
    } catch (Exception e) {
      failed(what, e);
    } finally {
      workers.forEach(WorkerProcess::close);
      if (server != null) servers.stop(server);
    }
  }

  /**
   * What a sweep offers: {@code rooms} of {@code members} (the first of each room send, each at
   * most {@code maxPerSender} per second), a warm-up rate and the measured rates, in deliveries per
   * second; {@code scenario} names its records.
   */
  private record Load(String scenario, int rooms, int members, double maxPerSender, String roomPrefix,
      double warmupRate, List<Double> rates) {}

  /** The fan-out: {@code stepRates} on one node ({@code fanout}), or on a cluster ({@code cluster}). */
  private void fanout(String name, int rep, Path jar, List<String> ips, List<Double> stepRates, List<String> jvm) {
    // a cluster keeps its room log in PostgreSQL (an embedded store per node would fork history)
    sweep(name, rep, jar, ips, jvm, ips.size() > 1, Map.of(),
        new Load(ips.size() > 1 ? "cluster" : "fanout", rooms, members, maxPerSender, "bench-r", serverWarmupRate,
            stepRates));
  }

  /**
   * The room log (issue 11): many rooms of a poster and a reader at {@code storeRates} messages
   * per second, on the embedded store or (with {@code database}) the benchmark's PostgreSQL. A
   * poster sends above the protocol's 20 per second, so the rate limit is raised to twice its pace.
   */
  private void store(String name, int rep, Path jar, boolean database) {
    Map<String, String> env = Map.of(
        "PARLEY_RATE_PER_SECOND", Long.toString(Math.round(2 * storeMaxPerSender)),
        "PARLEY_RATE_BURST", Long.toString(Math.round(4 * storeMaxPerSender)));
    int perMessage = storeMembers - 1;
    sweep(name, rep, jar, List.of(SINGLE_IP), serverJvm, database, env,
        new Load("store", storeRooms, storeMembers, storeMaxPerSender, "store-r", storeWarmupRate * perMessage,
            storeRates.stream().map(r -> r * perMessage).toList()));
  }

  /**
   * Starts the server (with {@code database}: its room log in a new database of the benchmark's
   * PostgreSQL, whose CPU then counts apart), connects the load's sockets, warms up, then measures
   * one step per rate until one saturates.
   */
  private void sweep(String name, int rep, Path jar, List<String> ips, List<String> jvm, boolean database,
      Map<String, String> env, Load load) {
    String what = load.scenario() + " " + name + " rep " + rep;
    announce(what);
    String tag = load.scenario() + "-" + name + "-" + rep;
    Servers.Server server = null;
    Fanout fanout = null;
    try {
      Map<String, String> all = new HashMap<>(env);
      if (database) {
        all.put("PARLEY_DB_URL", postgres().createDatabase("parley_" + (++databases)));
        all.put("PARLEY_DB_USER", "postgres");
      }
      server = start(name, jar, ips, jvm, tag, all);
      if (database) server.storePids.add(postgres.pid());
      fanout = new Fanout(new Fanout.Settings(server.http, server.authenticated(), SECRET, load.rooms(),
          load.members(), sources(2), generatorThreads, load.maxPerSender(), warmup, duration, drain,
          load.roomPrefix()));
      double connectSeconds = fanout.connect(new Jwt(SECRET));
      System.out.printf("  %d sockets joined in %.1f s%n", load.rooms() * load.members(), connectSeconds);
      warm(fanout, server, load.warmupRate());
      boolean acks = server.authenticated(); // Parley and go-hub acknowledge each message; the bare server does not
      for (double rate : load.rates()) {
        Fanout.Step step = fanout.step(rate, warmup, Math.max(duration, minWindowDeliveries / rate), server);
        add(new Record(load.scenario(), name, rep, ips.size(), step, null));
        System.out.printf(Locale.ROOT,
            "  offered %6.0f/s: got %6.0f/s p50 %.1f p99 %.1f p99.9 %.1f max %.1f ms, missing %d, gaps %d,"
                + " errors %d, %.0f deliveries/CPU-s (server %.2f s, generator %.2f s)%n",
            rate, step.deliveriesPerSecond(), step.p50(), step.p99(), step.p999(), step.max(),
            step.missing(), step.seqGaps(), step.errors(), step.deliveriesPerCpuSecond(),
            step.serverCpu(), step.generatorCpu());
        if (acks) {
          System.out.printf(Locale.ROOT, "  acks: %.0f messages/s offered, %.0f acked/s, p50 %.1f p99 %.1f max %.1f ms,"
                  + " %d missing; server CPU %.1f µs per message%s%n",
              step.offeredMessages(), step.acked() / step.windowSeconds(), step.ackP50(), step.ackP99(),
              step.ackMax(), step.ackMissing(), step.serverCpu() / Math.max(1, step.acked()) * 1e6,
              database ? String.format(Locale.ROOT, ", PostgreSQL %.1f µs", step.storeCpu() / Math.max(1, step.acked()) * 1e6)
                  : "");
        }
        boolean saturated = step.missing() > step.expected() / 50 || step.p99() > 3000
            || acks && (step.ackMissing() > step.messages() / 50 || step.ackP99() > 3000);
        if (saturated) {
          System.out.println("  saturated: higher rates skipped");
          break;
        }
        Proc.sleep(1000);
      }
    } catch (Exception e) {
      failed(what, e);
    } finally {
      if (fanout != null) fanout.close();
      if (server != null) servers.stop(server);
    }
  }

  /** The benchmark's PostgreSQL, started on first use. */
  private Postgres postgres() throws IOException {
    if (postgres == null) {
      System.out.printf("  starting PostgreSQL on %s:%d in %s%n", pgHost, pgPort, pgDir);
      postgres = Postgres.start(pgDir, pgHost, pgPort, out.resolve("pids"));
    }
    return postgres;
  }

  /** JIT and GC settle before anything is measured: an unmeasured step at {@code rate} deliveries/s. */
  private void warm(Fanout fanout, Servers.Server server, double rate) throws Exception {
    if (serverWarmup <= 0) return;
    Fanout.Step w = fanout.step(rate, 0, serverWarmup, server);
    System.out.printf(Locale.ROOT, "  server warm-up: %.0f s at %.0f/s (%.0f deliveries/CPU-s, p99 %.0f ms), not counted%n",
        serverWarmup, rate, w.deliveriesPerCpuSecond(), w.p99());
    Proc.sleep(2000);
  }

  /** JFR on the server over one measured fan-out step at {@code profileRate}. */
  private void profile(String name, Path jar) {
    String what = "profile " + name;
    announce(what);
    String tag = "profile-" + name;
    Servers.Server server = null;
    Fanout fanout = null;
    try {
      server = start(name, jar, List.of(SINGLE_IP), serverJvm, tag, Map.of());
      fanout = new Fanout(new Fanout.Settings(server.http, server.authenticated(), SECRET, rooms, members,
          sources(2), generatorThreads, maxPerSender, warmup, duration * 2, drain, "bench-r"));
      fanout.connect(new Jwt(SECRET));
      warm(fanout, server, serverWarmupRate);
      long pid = server.pids().get(0);
      Path jfr = out.resolve("profile-" + name + ".jfr").toAbsolutePath();
      Proc.jcmd(pid, "JFR.start", "name=bench", "settings=profile");
      Fanout.Step step = fanout.step(profileRate, server);
      Proc.jcmd(pid, "JFR.stop", "name=bench", "filename=" + jfr);
      add(new Record("profile", name, 0, 1, step, null));
      String summary = JfrSummary.summarize(jfr, step.deliveriesPerSecond(),
          step.received() > 0 ? step.serverCpu() / step.received() * 1e6 : 0, 25);
      Files.writeString(out.resolve("profile-" + name + ".md"), summary);
      System.out.println(summary);
    } catch (Exception e) {
      failed(what, e);
    } finally {
      if (fanout != null) fanout.close();
      if (server != null) servers.stop(server);
    }
  }

  private void add(Record record) throws IOException {
    records.add(record);
    Files.writeString(out.resolve("results.jsonl"), Json.of(record) + "\n", StandardOpenOption.APPEND);
  }

  private void writeSummary(long t0) throws IOException {
    String md = Report.markdown(this, ZonedDateTime.now(), (System.nanoTime() - t0) / 1e9);
    Files.writeString(out.resolve("summary.md"), md);
  }

  Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("reps", reps);
    m.put("rates", rates);
    m.put("cluster rates", clusterRates);
    m.put("warm-up s", warmup);
    m.put("window s", duration);
    m.put("drain s", drain);
    m.put("min deliveries per window", minWindowDeliveries);
    m.put("rooms x members", rooms + " x " + members);
    m.put("max per sender /s", maxPerSender);
    m.put("server JVM", String.join(" ", serverJvm));
    m.put("cluster node JVM", String.join(" ", clusterJvm));
    m.put("idle counts", idleCounts);
    m.put("handshakes in flight", connectInflight);
    m.put("idle CPU window s", idleSettle + " settle + " + idleWindow);
    m.put("profile rate", profileRate);
    m.put("server warm-up", serverWarmup + " s at " + serverWarmupRate + "/s");
    m.put("idle warm-up connections", idleWarmup);
    if (scenarios.contains("store")) {
      m.put("store rates (messages/s)", storeRates);
      m.put("store rooms x members", storeRooms + " x " + storeMembers);
      m.put("store max per sender /s", storeMaxPerSender);
      m.put("store warm-up rate (messages/s)", storeWarmupRate);
    }
    if (scenarios.contains("store") || scenarios.contains("cluster")) {
      m.put("PostgreSQL", pgHost + ":" + pgPort + " (" + pgDir + ")");
    }
    m.put(GO_HUB, goHub == null ? "not measured" : goHub.toString());
    variants.forEach((k, v) -> m.put(k, String.join(" ", v)));
    m.put("reference", refJar == null ? "none" : refName + " (" + refJar + ")");
    return m;
  }
}
