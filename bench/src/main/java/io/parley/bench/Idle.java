package io.parley.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The idle-connections scenario: N authenticated idle sockets opened by several worker processes
 * (each from its own source address, {@code inflight} handshakes in flight in all). At each count:
 * the server's CPU over a steady window with nothing sent (idle CPU), its RSS, and, for a JVM, its
 * heap after a forced GC. Memory per connection is the slope between the first and the last
 * count, so the fixed overhead cancels; the connect rate is the first batch's.
 */
final class Idle {

  /** One count: what it took to get there, and what the server costs there. */
  record Point(int target, int ok, int failed, double seconds, double upgradesPerSecond,
      double serverCpuSeconds, double upgradesPerCpuSecond, double idleCpuPercent, long heapKiB, long rssKiB,
      int serverFds, String why) {}

  record Result(List<Point> points, double heapSlopeKiB, double rssSlopeKiB, double upgradesPerSecond,
      double upgradesPerCpuSecond) {

    /** Idle CPU (% of a core) at {@code count} open sockets, or NaN when not measured there. */
    double idleCpuAt(int count) {
      return points.stream().filter(p -> p.target() == count).mapToDouble(Point::idleCpuPercent)
          .findFirst().orElse(Double.NaN);
    }

    Point last() {
      return points.get(points.size() - 1);
    }
  }

  private final Servers.Server server;
  private final String path;
  private final String secret;
  private final List<WorkerProcess> workers;
  private final List<String> sources;
  private final double settleSeconds;
  private final double windowSeconds;

  /**
   * @param path the upgrade path, with {token} where a token goes
   * @param secret signs the tokens, or null (bare server)
   */
  Idle(Servers.Server server, String path, String secret, List<WorkerProcess> workers, List<String> sources,
      double settleSeconds, double windowSeconds) {
    this.server = server;
    this.path = path;
    this.secret = secret;
    this.workers = workers;
    this.sources = sources;
    this.settleSeconds = settleSeconds;
    this.windowSeconds = windowSeconds;
  }

  private String open(int w, int n, int inflight, int firstUser) {
    String hostPort = server.http.get(0).getHostString() + ":" + server.http.get(0).getPort();
    // no retries: a failed upgrade is counted, not hidden; a slow one may take up to 2 minutes
    return "open " + n + " " + inflight + " " + hostPort + " " + sources.get(w) + " " + path + " "
        + (secret == null ? "-" : secret) + " " + firstUser + " 0 0 180000 120000";
  }

  /** Opens up to each count in turn, {@code inflight} handshakes at a time in all; measures each. */
  Result run(List<Integer> counts, int inflight, int warmup) throws Exception {
    List<Point> points = new ArrayList<>();
    int perWorkerInflight = Math.max(1, inflight / workers.size());
    int open = 0;
    int user = 0;
    long pid = server.pids().get(0);
    if (warmup > 0) {
      // JIT warm-up: open and close some sockets first, not measured (a cold JVM compiles for a minute)
      String line = workers.get(0).call(open(0, warmup, perWorkerInflight, 900_000), 240);
      workers.get(0).call("close", 60);
      System.out.println("  warm-up: " + line);
      Proc.sleep(3000);
    }
    for (int target : counts) {
      int toOpen = target - open;
      int per = toOpen / workers.size();
      List<CompletableFuture<String>> replies = new ArrayList<>();
      double cpu0 = Proc.cpuSeconds(pid);
      long t0 = System.nanoTime();
      for (int w = 0; w < workers.size(); w++) {
        int n = w == workers.size() - 1 ? toOpen - per * (workers.size() - 1) : per;
        replies.add(workers.get(w).ask(open(w, n, perWorkerInflight, user)));
        user += n;
      }
      int ok = 0, failed = 0;
      String why = "-";
      for (CompletableFuture<String> reply : replies) {
        String line = reply.get(240, TimeUnit.SECONDS);
        ok += (int) WorkerProcess.number(line, "ok");
        failed += (int) WorkerProcess.number(line, "failed");
        if (!WorkerProcess.field(line, "why", "-").equals("-")) why = WorkerProcess.field(line, "why", "-");
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      double cpu = Proc.cpuSeconds(pid) - cpu0;
      open += ok;
      // what the open, idle sockets cost by themselves, once the upgrades' work is done
      Proc.sleep((long) (settleSeconds * 1000));
      double idle0 = Proc.cpuSeconds(pid);
      long i0 = System.nanoTime();
      Proc.sleep((long) (windowSeconds * 1000));
      double idleCpu = 100 * (Proc.cpuSeconds(pid) - idle0) / ((System.nanoTime() - i0) / 1e9);
      long rss = Proc.rssKiB(pid); // before any forced GC: what the kernel holds in steady state
      long heap = server.java() ? Proc.heapAfterGcKiB(pid) : -1;
      points.add(new Point(target, ok, failed, seconds, ok / seconds, cpu, cpu > 0 ? ok / cpu : 0, idleCpu, heap,
          rss, Proc.openFiles(pid), why));
      System.out.printf("  %s: %d open (+%d, %d failed, %.0f upgrades/s, %.0f per server CPU-s), idle %.1f%% of a"
              + " core, heap %d KiB, rss %d KiB%n",
          server.name, open, ok, failed, ok / seconds, cpu > 0 ? ok / cpu : 0, idleCpu, heap, rss);
    }
    Point a = points.get(0);
    Point b = points.get(points.size() - 1);
    int countA = a.ok();
    int countB = points.stream().mapToInt(Point::ok).sum();
    double heapSlope = countB == countA || !server.java() ? Double.NaN
        : (double) (b.heapKiB() - a.heapKiB()) / (countB - countA);
    double rssSlope = countB == countA ? Double.NaN : (double) (b.rssKiB() - a.rssKiB()) / (countB - countA);
    return new Result(points, heapSlope, rssSlope, a.upgradesPerSecond(), a.upgradesPerCpuSecond());
  }
}
