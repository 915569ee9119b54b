package io.parley.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Server processes under test, started and stopped by the benchmark itself. Every process has a
 * pid file under {@code pids/} while it runs; a shutdown hook stops whatever is still running.
 */
final class Servers {

  /** What a server is: it decides the upgrade path, the readiness probe and what can be asked of it. */
  enum Kind {
    /** Parley (any commit): authenticated, /ready, /metrics, a JVM. */
    PARLEY,
    /** The bare pekko-http server: /ws?room=R without a token, /ready, /metrics, a JVM. */
    BARE,
    /** go-hub: authenticated, no /ready (its /ws/online answers once it listens), no /metrics, no JVM. */
    GO_HUB
  }

  /** One server under test: one process, or one per cluster node. */
  static final class Server {
    final String name;
    final Kind kind;
    final List<Process> processes = new ArrayList<>();
    final List<InetSocketAddress> http = new ArrayList<>();
    final List<Path> pidFiles = new ArrayList<>();
    /** Each Parley node's own embedded store, deleted when the server stops. */
    final List<Path> dataDirs = new ArrayList<>();
    /** The processes of a store the benchmark runs for this server (PostgreSQL): their CPU is the store's. */
    final List<Long> storePids = new ArrayList<>();

    Server(String name, Kind kind) {
      this.name = name;
      this.kind = kind;
    }

    /** Upgrades carry an HS256 token (Parley, go-hub), and the client joins its room by a frame. */
    boolean authenticated() {
      return kind != Kind.BARE;
    }

    /** A JVM: jcmd works on it (heap after GC, JFR). */
    boolean java() {
      return kind != Kind.GO_HUB;
    }

    List<Long> pids() {
      return processes.stream().map(Process::pid).toList();
    }

    List<String> metricsUrls() {
      if (kind == Kind.GO_HUB) return List.of();
      return http.stream().map(a -> "http://" + a.getHostString() + ":" + a.getPort() + "/metrics").toList();
    }
  }

  private final Path dir;
  private final Path benchJar;
  private final String secret;
  private final List<Server> live = new CopyOnWriteArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  Servers(Path dir, Path benchJar, String secret) throws IOException {
    this.dir = dir;
    this.benchJar = benchJar;
    this.secret = secret;
    Files.createDirectories(dir.resolve("pids"));
    Files.createDirectories(dir.resolve("logs"));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (Server server : live) stop(server);
    }));
  }

  /**
   * Parley from {@code jar}: one node per address (a cluster when several), HTTP on {@code
   * httpPort}, Artery on {@code clusterPort}, with {@link #parleyEnv}.
   */
  Server startParley(String name, Path jar, List<String> ips, int httpPort, int clusterPort,
      List<String> jvm, String logTag) throws IOException {
    return startParley(name, jar, ips, httpPort, clusterPort, jvm, logTag, parleyEnv(Map.of()));
  }

  /**
   * The benchmark's environment for Parley: its JWT secret, dev mode off, and no per-node limit
   * on upgrades per second (the generator opens its sockets hundreds at a time; the limit would
   * measure itself), then {@code extra}.
   */
  Map<String, String> parleyEnv(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(Map.of("PARLEY_JWT_SECRET", secret, "PARLEY_DEV_MODE", "off",
        "PARLEY_MAX_CONNECT_RATE", "1000000", "PARLEY_CONNECT_BURST", "1000000"));
    env.putAll(extra);
    return env;
  }

  /**
   * Parley with {@code baseEnv} (e.g. docker/cluster.env's), then each node's own name, addresses,
   * ports and seed nodes, as scripts/cluster.sh gives them, and, unless {@code baseEnv} sets
   * PARLEY_DATA_DIR, an empty directory of its own under {@code data/} for the embedded store
   * (unused when PARLEY_DB_URL names PostgreSQL).
   */
  Server startParley(String name, Path jar, List<String> ips, int httpPort, int clusterPort,
      List<String> jvm, String logTag, Map<String, String> baseEnv) throws IOException {
    Server server = new Server(name, Kind.PARLEY);
    live.add(server);
    List<String> seeds = ips.stream().map(ip -> ip + ":" + clusterPort).toList();
    for (int n = 0; n < ips.size(); n++) {
      String ip = ips.get(n);
      List<String> cmd = new ArrayList<>(List.of("java"));
      cmd.addAll(jvm);
      cmd.addAll(List.of("-jar", jar.toString()));
      ProcessBuilder pb = new ProcessBuilder(cmd);
      Map<String, String> env = pb.environment();
      env.putAll(baseEnv);
      env.put("PARLEY_HTTP_HOST", ip);
      env.put("PARLEY_HTTP_PORT", Integer.toString(httpPort));
      env.put("PARLEY_CLUSTER_HOST", ip);
      env.put("PARLEY_CLUSTER_PORT", Integer.toString(clusterPort));
      env.put("PARLEY_NODE_NAME", name + "-" + (n + 1));
      if (!env.containsKey("PARLEY_DATA_DIR")) {
        Path data = dir.resolve("data").resolve(logTag + "-" + (n + 1));
        deleteRecursively(data); // a repeated tag starts empty all the same
        env.put("PARLEY_DATA_DIR", data.toAbsolutePath().toString());
        server.dataDirs.add(data);
      }
      if (ips.size() > 1) env.put("PARLEY_SEED_NODES", String.join(",", seeds));
      start(server, pb, logTag + "-" + (n + 1));
      server.http.add(new InetSocketAddress(ip, httpPort));
    }
    awaitReady(server, "/ready");
    return server;
  }

  /** The bare pekko-http broadcast server (io.parley.bench.BareServer). */
  Server startBare(String name, String ip, int port, List<String> jvm, String logTag) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("java"));
    cmd.addAll(jvm);
    cmd.addAll(List.of("-cp", benchJar.toString(), "io.parley.bench.BareServer",
        "--host", ip, "--port", Integer.toString(port)));
    return startOne(name, Kind.BARE, new ProcessBuilder(cmd), ip, port, logTag, "/ready");
  }

  /**
   * go-hub ({@code binary}, built by bench/run.sh from the baseline's source) on {@code ip:port}
   * only, with the benchmark's secret and its defaults otherwise (the protocol's limits: rate 20/s,
   * burst 40, 256 frames buffered per connection).
   */
  Server startGoHub(String name, Path binary, String ip, int port, String logTag) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(binary.toString(), "-addr", ip + ":" + port, "-node", name);
    pb.environment().put("JWT_SECRET", secret); // not on the command line, where ps shows it
    return startOne(name, Kind.GO_HUB, pb, ip, port, logTag, "/ws/online");
  }

  private Server startOne(String name, Kind kind, ProcessBuilder pb, String ip, int port, String logTag,
      String readyPath) throws IOException {
    Server server = new Server(name, kind);
    live.add(server);
    start(server, pb, logTag);
    server.http.add(new InetSocketAddress(ip, port));
    awaitReady(server, readyPath);
    return server;
  }

  private void start(Server server, ProcessBuilder pb, String logTag) throws IOException {
    Path log = dir.resolve("logs").resolve(logTag + ".log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    Process process = pb.start();
    Path pidFile = dir.resolve("pids").resolve(logTag + ".pid");
    Files.writeString(pidFile, Long.toString(process.pid()));
    server.processes.add(process);
    server.pidFiles.add(pidFile);
  }

  private void awaitReady(Server server, String readyPath) {
    long deadline = System.currentTimeMillis() + 240_000; // three JVMs forming a cluster on a busy host take a while
    for (InetSocketAddress a : server.http) {
      URI ready = URI.create("http://" + a.getHostString() + ":" + a.getPort() + readyPath);
      while (true) {
        try {
          HttpResponse<Void> r = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2)).build(),
              HttpResponse.BodyHandlers.discarding());
          if (r.statusCode() == 200) break;
        } catch (IOException e) {
          // not up yet
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
        for (Process p : server.processes) {
          if (!p.isAlive()) {
            stop(server);
            throw new IllegalStateException(server.name + " died while starting (see logs/)");
          }
        }
        if (System.currentTimeMillis() > deadline) {
          stop(server);
          throw new IllegalStateException(server.name + " not ready after 240 s");
        }
        Proc.sleep(250);
      }
    }
  }

  /** SIGTERM, up to 30 s for a graceful stop, then SIGKILL. */
  void stop(Server server) {
    for (Process p : server.processes) p.destroy();
    for (Process p : server.processes) {
      try {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          p.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    for (Path pidFile : server.pidFiles) {
      try {
        Files.deleteIfExists(pidFile);
      } catch (IOException ignored) {
        // best effort
      }
    }
    for (Path data : server.dataDirs) {
      try {
        deleteRecursively(data);
      } catch (IOException e) {
        System.err.println("cannot delete " + data + ": " + e);
      }
    }
    live.remove(server);
  }

  /** Deletes a directory and everything in it (a server's store); nothing when it does not exist. */
  static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) return;
    try (Stream<Path> all = Files.walk(path)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  /** A generator worker process (io.parley.bench.Worker), driven on its stdin. */
  Process startWorker(String logTag) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("java", "-Xmx768m", "-XX:+UseSerialGC", "-cp", benchJar.toString(),
        "io.parley.bench.Main", "worker");
    pb.redirectError(dir.resolve("logs").resolve(logTag + ".log").toFile());
    Process p = pb.start();
    Files.writeString(dir.resolve("pids").resolve(logTag + ".pid"), Long.toString(p.pid()));
    Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
    return p;
  }

  void workerStopped(String logTag) {
    try {
      Files.deleteIfExists(dir.resolve("pids").resolve(logTag + ".pid"));
    } catch (IOException ignored) {
      // best effort
    }
  }

  String get(InetSocketAddress a, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://" + a.getHostString() + ":" + a.getPort() + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }
}
