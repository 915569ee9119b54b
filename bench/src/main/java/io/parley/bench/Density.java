package io.parley.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The connections scenario: N authenticated idle sockets opened by several worker processes
 * (each from its own source address), with the server's heap after a forced GC and its RSS
 * measured at each count; memory per connection is the slope between two counts, so the fixed
 * overhead cancels.
 */
final class Density {

  /** One count: what it took to get there, and the server's memory there. */
  record Point(int target, int ok, int failed, double seconds, double upgradesPerSecond,
      double serverCpuSeconds, double upgradesPerCpuSecond, long heapKiB, long rssKiB, int serverFds, String why) {}

  record Result(List<Point> points, double heapSlopeKiB, double rssSlopeKiB, double upgradesPerSecond,
      double upgradesPerCpuSecond, double idleCpuPercent) {}

  private static final Pattern OPENED = Pattern.compile("opened ok=(\\d+) failed=(\\d+) ms=(\\d+) why=(\\S+)");

  private final Servers servers;
  private final Servers.Server server;
  private final String path;
  private final String secret;
  private final List<Process> workers = new ArrayList<>();
  private final List<String> tags = new ArrayList<>();
  private final List<PrintWriter> toWorker = new ArrayList<>();
  private final List<BufferedReader> fromWorker = new ArrayList<>();
  private final List<String> sources;

  /**
   * @param path the upgrade path, with {token} where a token goes (Parley)
   * @param secret signs the tokens, or null (bare server)
   */
  Density(Servers servers, Servers.Server server, String path, String secret, List<String> sources, String tag)
      throws Exception {
    this.servers = servers;
    this.server = server;
    this.path = path;
    this.secret = secret;
    this.sources = sources;
    for (int w = 0; w < sources.size(); w++) {
      String logTag = tag + "-worker" + (w + 1);
      Process p = servers.startWorker(logTag);
      workers.add(p);
      tags.add(logTag);
      toWorker.add(new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8));
      fromWorker.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
    }
  }

  /** Opens up to each count in turn; measures memory at each. */
  Result run(List<Integer> counts, int inflightPerWorker, int warmup) throws Exception {
    List<Point> points = new ArrayList<>();
    int open = 0;
    int user = 0;
    long pid = server.pids().get(0);
    String hostPort = server.http.get(0).getHostString() + ":" + server.http.get(0).getPort();
    if (warmup > 0) {
      // JIT warm-up: open and close some sockets first, not measured (a cold JVM compiles for a minute)
      toWorker.get(0).println("open " + warmup + " " + inflightPerWorker + " " + hostPort + " " + sources.get(0)
          + " " + path + " " + (secret == null ? "-" : secret) + " 900000");
      String line = readLine(fromWorker.get(0));
      toWorker.get(0).println("close");
      readLine(fromWorker.get(0));
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
        toWorker.get(w).println("open " + n + " " + inflightPerWorker + " " + hostPort + " " + sources.get(w)
            + " " + path + " " + (secret == null ? "-" : secret) + " " + user);
        user += n;
        BufferedReader in = fromWorker.get(w);
        replies.add(CompletableFuture.supplyAsync(() -> readLine(in)));
      }
      int ok = 0, failed = 0;
      String why = "-";
      for (CompletableFuture<String> reply : replies) {
        String line = reply.get(180, TimeUnit.SECONDS);
        Matcher m = OPENED.matcher(line);
        if (!m.find()) throw new IllegalStateException("worker said: " + line);
        ok += Integer.parseInt(m.group(1));
        failed += Integer.parseInt(m.group(2));
        if (!m.group(4).equals("-")) why = m.group(4);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      double cpu = Proc.cpuSeconds(pid) - cpu0;
      open += ok;
      Proc.sleep(3000); // let the server finish what the upgrades started (actors, logs)
      long heap = Proc.heapAfterGcKiB(pid);
      long rss = Proc.rssKiB(pid);
      points.add(new Point(target, ok, failed, seconds, ok / seconds, cpu, cpu > 0 ? ok / cpu : 0, heap, rss,
          Proc.openFiles(pid), why));
      System.out.printf("  %s: %d open (+%d, %d failed, %.0f upgrades/s, %.0f per server CPU-s) heap %d KiB rss %d KiB%n",
          server.name, open, ok, failed, ok / seconds, cpu > 0 ? ok / cpu : 0, heap, rss);
    }
    // what the open, idle sockets cost by themselves: server CPU over 10 s with nothing sent
    double idle0 = Proc.cpuSeconds(pid);
    long i0 = System.nanoTime();
    Proc.sleep(10_000);
    double idleCpu = 100 * (Proc.cpuSeconds(pid) - idle0) / ((System.nanoTime() - i0) / 1e9);
    System.out.printf("  idle: %.1f%% of a core with %d sockets open%n", idleCpu, open);
    Point a = points.get(0);
    Point b = points.get(Math.min(1, points.size() - 1));
    int countA = openAt(points, 0);
    int countB = openAt(points, Math.min(1, points.size() - 1));
    double heapSlope = countB == countA ? 0 : (double) (b.heapKiB() - a.heapKiB()) / (countB - countA);
    double rssSlope = countB == countA ? 0 : (double) (b.rssKiB() - a.rssKiB()) / (countB - countA);
    return new Result(points, heapSlope, rssSlope, a.upgradesPerSecond(), a.upgradesPerCpuSecond(), idleCpu);
  }

  private static int openAt(List<Point> points, int index) {
    int sum = 0;
    for (int i = 0; i <= index; i++) sum += points.get(i).ok();
    return sum;
  }

  private static String readLine(BufferedReader in) {
    try {
      String line = in.readLine();
      return line == null ? "worker ended" : line;
    } catch (Exception e) {
      return "worker failed: " + e;
    }
  }

  /** Closes every socket (RST), then ends the workers. */
  void close() {
    for (int w = 0; w < workers.size(); w++) {
      try {
        toWorker.get(w).println("close");
        readLine(fromWorker.get(w));
        toWorker.get(w).println("quit");
        if (!workers.get(w).waitFor(10, TimeUnit.SECONDS)) workers.get(w).destroyForcibly();
      } catch (Exception e) {
        workers.get(w).destroyForcibly();
      }
      servers.workerStopped(tags.get(w));
    }
  }
}
