package io.parley.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The soak run: one Parley node for {@code --minutes} under steady chat and connection churn, with
 * the server's heap (after a forced GC), RSS, threads, open files and its own gauges sampled every
 * {@code --sample-seconds}. At the end the churn stops, then every socket closes, and the server
 * must come back to its starting point: no connection, user or room left, as many threads and
 * open files as before.
 *
 * <ul>
 *   <li>Steady chat: the fan-out scenario's rooms ({@code --rooms} × {@code --members}) at {@code
 *       --rate} deliveries per second, each sample interval one measured step (loss, seq gaps, p99).
 *   <li>Churn: {@code --churn} new connections per second from a pool of {@code --churn-users}
 *       users (so users come and go with several connections); each joins two of {@code
 *       --churn-rooms} rooms, posts, types, one in ten sends a malformed frame (it must get an
 *       error frame), and after 2-20 s closes, half with a close frame, half with a TCP reset.
 * </ul>
 */
final class Soak {

  record Sample(String at, double minute, long heapKiB, long rssKiB, int threads, int openFiles,
      double connections, double users, double rooms, long churnOpened, int churnOpen,
      long missing, long seqGaps, double p99, double deliveriesPerSecond) {}

  private final Path out;
  private final Path jar;
  private final double minutes;
  private final double sampleSeconds;
  private final int rooms;
  private final int members;
  private final double rate;
  private final double churnPerSecond;
  private final int churnUsers;
  private final int churnRooms;
  private final List<String> jvm;
  private final Path benchJar;
  private final List<Sample> samples = new ArrayList<>();
  private final long t0 = System.nanoTime();

  Soak(String[] args) {
    out = Path.of(Main.option(args, "--out", "bench/results/soak"));
    jar = Path.of(Main.option(args, "--parley-jar", "target/parley.jar"));
    benchJar = Path.of(Main.option(args, "--bench-jar", "bench/target/parley-bench.jar"));
    minutes = Double.parseDouble(Main.option(args, "--minutes", "30"));
    sampleSeconds = Double.parseDouble(Main.option(args, "--sample-seconds", "60"));
    rooms = Integer.parseInt(Main.option(args, "--rooms", "20"));
    members = Integer.parseInt(Main.option(args, "--members", "50"));
    rate = Double.parseDouble(Main.option(args, "--rate", "5000"));
    churnPerSecond = Double.parseDouble(Main.option(args, "--churn", "20"));
    churnUsers = Integer.parseInt(Main.option(args, "--churn-users", "300"));
    churnRooms = Integer.parseInt(Main.option(args, "--churn-rooms", "100"));
    jvm = List.of(Main.option(args, "--server-jvm", "-Xmx512m").split(" "));
    if (minutes <= 0 || sampleSeconds < 10 || rate <= 0 || churnPerSecond <= 0 || churnUsers <= 0 || churnRooms <= 0) {
      throw new IllegalArgumentException(
          "need --minutes, --rate, --churn, --churn-users, --churn-rooms above 0 and --sample-seconds ≥ 10");
    }
  }

  /** Runs the soak; true when the server came back to its starting point. */
  boolean run() throws Exception {
    Files.createDirectories(out);
    Files.writeString(out.resolve("soak.jsonl"), "");
    Servers servers = new Servers(out, benchJar, Runner.SECRET);
    Servers.Server server = servers.startParley("parley", jar, List.of(Runner.SINGLE_IP), Runner.HTTP_PORT,
        Runner.CLUSTER_PORT, jvm, "soak");
    InetSocketAddress address = server.http.get(0);
    Jwt jwt = new Jwt(Runner.SECRET);
    Fanout steady = null;
    Churn churn = null;
    try {
      steady = new Fanout(new Fanout.Settings(server.http, true, Runner.SECRET, rooms, members,
          List.of("127.0.0.31", "127.0.0.32"), 2, 10, 0, sampleSeconds - 4, 3, "soak-r"));
      Sample start = sample("started, idle", server, steady, null, null);
      steady.connect(jwt);
      churn = new Churn(address, jwt);
      long end = t0 + (long) (minutes * 60e9);
      while (System.nanoTime() < end) {
        Fanout.Step step = steady.step(rate, server);
        sample("running", server, steady, churn, step);
      }
      churn.stop();
      Predicate<Map<String, Double>> steadyOnly = m -> m.getOrDefault("parley_connections", -1.0) == rooms * members
          && m.getOrDefault("parley_rooms", -1.0) == rooms;
      boolean churnGone = await(steady, server, steadyOnly);
      sample("churn stopped", server, steady, churn, null);
      steady.close();
      Predicate<Map<String, Double>> empty = m -> m.getOrDefault("parley_connections", -1.0) == 0
          && m.getOrDefault("parley_users", -1.0) == 0 && m.getOrDefault("parley_rooms", -1.0) == 0;
      boolean allGone = await(steady, server, empty);
      Sample last = sample("all closed", server, steady, churn, null);
      List<Sample> running = samples.stream().filter(s -> s.at().equals("running")).toList();
      List<String> failed = new ArrayList<>();
      StringBuilder checks = new StringBuilder();
      check(checks, failed, churnGone,
          "after the churn stopped, the server's gauges show exactly the steady connections and rooms");
      check(checks, failed, allGone, "after every socket closed: 0 connections, 0 users, 0 rooms");
      check(checks, failed, !running.isEmpty() && last.threads() <= running.get(0).threads(),
          "threads at the end ≤ threads at the first sample under load (pools grown by then)");
      check(checks, failed, last.openFiles() <= start.openFiles(), "open files at the end ≤ open files at the start");
      check(checks, failed, last.heapKiB() <= start.heapKiB() + 8 * 1024,
          "heap after GC at the end within 8 MiB of the idle start");
      check(checks, failed, running.size() < 4
              || median(running.subList(running.size() / 2, running.size()), Sample::heapKiB)
                  <= 1.1 * median(running.subList(0, running.size() / 2), Sample::heapKiB),
          "heap after GC under load: median of the second half ≤ 1.1 × median of the first");
      String report = report(running, churn) + "\nChecks:\n\n" + checks;
      Files.writeString(out.resolve("soak.md"), report);
      System.out.println(report);
      return failed.isEmpty();
    } finally {
      if (churn != null) churn.close();
      if (steady != null) steady.close();
      servers.stop(server);
    }
  }

  /** Up to 30 s for the server's gauges to satisfy {@code condition}. */
  private static boolean await(Fanout scraper, Servers.Server server, Predicate<Map<String, Double>> condition) {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (condition.test(scraper.scrape(server.metricsUrls()))) return true;
      Proc.sleep(250);
    }
    return false;
  }

  private Sample sample(String at, Servers.Server server, Fanout scraper, Churn churn, Fanout.Step step)
      throws IOException {
    long pid = server.pids().get(0);
    long heap = Proc.heapAfterGcKiB(pid);
    Map<String, Double> m = scraper.scrape(server.metricsUrls());
    Sample s = new Sample(at, (System.nanoTime() - t0) / 60e9, heap, Proc.rssKiB(pid), Proc.threads(pid),
        Proc.openFiles(pid), m.getOrDefault("parley_connections", -1.0), m.getOrDefault("parley_users", -1.0),
        m.getOrDefault("parley_rooms", -1.0), churn == null ? 0 : churn.opened.get(),
        churn == null ? 0 : churn.open(), step == null ? 0 : step.missing(), step == null ? 0 : step.seqGaps(),
        step == null ? 0 : step.p99(), step == null ? 0 : step.deliveriesPerSecond());
    samples.add(s);
    Files.writeString(out.resolve("soak.jsonl"), Json.of(s) + "\n", StandardOpenOption.APPEND);
    System.out.println(row(s));
    return s;
  }

  private static String row(Sample s) {
    return String.format(Locale.ROOT, "| %s | %.1f | %d | %.1f | %.1f | %d | %d | %.0f | %.0f | %.0f | %d | %d | %.0f | %d | %.1f |",
        s.at(), s.minute(), s.churnOpened(), s.heapKiB() / 1024.0, s.rssKiB() / 1024.0, s.threads(), s.openFiles(),
        s.connections(), s.users(), s.rooms(), s.churnOpen(), s.missing(), s.deliveriesPerSecond(), s.seqGaps(),
        s.p99());
  }

  private String report(List<Sample> running, Churn churn) {
    StringBuilder md = new StringBuilder();
    md.append("# Soak run ").append(ZonedDateTime.now()).append("\n\n");
    md.append(String.format(Locale.ROOT, "%.0f minutes; server `java %s -jar parley.jar`; steady chat %d rooms × %d members"
        + " at %.0f deliveries/s; churn %.0f connections/s from %d users over %d rooms.%n%n",
        minutes, String.join(" ", jvm), rooms, members, rate, churnPerSecond, churnUsers, churnRooms));
    md.append("| at | minute | churn connections so far | heap after GC MiB | RSS MiB | threads | open files"
        + " | parley_connections | parley_users | parley_rooms | churn sockets open | missing | deliveries/s"
        + " | seq gaps | p99 ms |\n");
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Sample s : samples) md.append(row(s)).append('\n');
    md.append('\n');
    if (running.size() >= 4) {
      List<Sample> firstHalf = running.subList(0, running.size() / 2);
      List<Sample> secondHalf = running.subList(running.size() / 2, running.size());
      md.append(String.format(Locale.ROOT, "Heap after GC while running: median %.1f MiB in the first half,"
          + " %.1f MiB in the second (min %.1f, max %.1f); slope %.2f MiB per hour (least squares).%n",
          median(firstHalf, Sample::heapKiB) / 1024, median(secondHalf, Sample::heapKiB) / 1024,
          running.stream().mapToLong(Sample::heapKiB).min().orElse(0) / 1024.0,
          running.stream().mapToLong(Sample::heapKiB).max().orElse(0) / 1024.0, slopePerHour(running) / 1024));
      md.append(String.format(Locale.ROOT, "Threads while running: %d-%d. Open files: %d-%d.%n",
          running.stream().mapToInt(Sample::threads).min().orElse(0),
          running.stream().mapToInt(Sample::threads).max().orElse(0),
          running.stream().mapToInt(Sample::openFiles).min().orElse(0),
          running.stream().mapToInt(Sample::openFiles).max().orElse(0)));
    }
    md.append(String.format(Locale.ROOT, "Churn: %d connections opened, %d upgrades failed (first: %s), %d malformed"
        + " frames sent and %d error frames back, %d other errors, %d sockets closed by the server unasked.%n",
        churn.opened.get(), churn.failed.get(), churn.firstFailure, churn.malformed.get(), churn.formatErrors.get(),
        churn.otherErrors.get(), churn.unaskedCloses.get()));
    md.append(String.format(Locale.ROOT, "Steady chat: %d deliveries missing, %d seq gaps over %d measured steps.%n",
        running.stream().mapToLong(Sample::missing).sum(), running.stream().mapToLong(Sample::seqGaps).sum(),
        running.size()));
    return md.toString();
  }

  private static void check(StringBuilder md, List<String> failed, boolean ok, String what) {
    md.append("* ").append(ok ? "**pass**" : "**FAIL**").append(": ").append(what).append('\n');
    if (!ok) failed.add(what);
  }

  private static double median(List<Sample> samples, java.util.function.ToLongFunction<Sample> f) {
    long[] v = samples.stream().mapToLong(f).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2.0;
  }

  /** Least-squares slope of heap (KiB) over time, per hour. */
  private static double slopePerHour(List<Sample> samples) {
    double n = samples.size(), sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (Sample s : samples) {
      double x = s.minute() / 60, y = s.heapKiB();
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    double d = n * sxx - sx * sx;
    return d == 0 ? 0 : (n * sxy - sx * sy) / d;
  }

  /** Connections that come and go, on a loop of their own. */
  private final class Churn implements WsEngine.Listener, WsEngine.Ticker, AutoCloseable {
    private static final byte[] TYPE = "\"type\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INVALID_FORMAT = "INVALID_FORMAT".getBytes(StandardCharsets.US_ASCII);
    private static final List<String> SOURCES = List.of("127.0.0.33", "127.0.0.34", "127.0.0.35", "127.0.0.36");

    private record Closing(long at, WsEngine.Conn conn) {}

    /** Per connection: rooms left to hear room_info from; closing once we asked. */
    private static final class State {
      final Set<String> joining = new HashSet<>();
      boolean closing;
    }

    final AtomicLong opened = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong malformed = new AtomicLong();
    final AtomicLong formatErrors = new AtomicLong();
    final AtomicLong otherErrors = new AtomicLong();
    final AtomicLong unaskedCloses = new AtomicLong();
    volatile String firstFailure = "none";
    private final InetSocketAddress server;
    private final Jwt jwt;
    private final WsEngine engine;
    private final Random random = new Random(7);
    private final PriorityQueue<Closing> closings = new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
    private final Set<WsEngine.Conn> live = new HashSet<>();
    private final long period;
    private volatile boolean opening = true;
    private long nextOpen = System.nanoTime();
    private int index;

    Churn(InetSocketAddress server, Jwt jwt) throws IOException {
      this.server = server;
      this.jwt = jwt;
      this.period = (long) (1e9 / churnPerSecond);
      this.engine = new WsEngine(1, this);
      engine.loop(0).ticker = this;
    }

    int open() {
      try {
        return engine.loop(0).call(live::size).get();
      } catch (Exception e) {
        return -1;
      }
    }

    @Override
    public long tick(long now) {
      while (opening && nextOpen <= now) {
        String user = "c" + random.nextInt(churnUsers);
        WsEngine.Conn conn = engine.newConn(index, server, SOURCES.get(index % SOURCES.size()),
            "/ws?token=" + jwt.mint(user, 7200));
        index++;
        conn.attachment = new State();
        live.add(conn);
        opened.incrementAndGet();
        conn.loop.connect(conn);
        closings.add(new Closing(now + 2_000_000_000L + (long) (random.nextDouble() * 18e9), conn));
        nextOpen += period;
      }
      Closing due;
      while ((due = closings.peek()) != null && due.at <= now) {
        closings.poll();
        close(due.conn, random.nextBoolean());
      }
      long next = opening ? nextOpen : Long.MAX_VALUE;
      return due == null ? next : Math.min(next, due.at);
    }

    private void close(WsEngine.Conn conn, boolean clean) {
      ((State) conn.attachment).closing = true;
      if (clean && conn.state == WsEngine.OPEN) {
        engine.sendClose(conn);
      } else {
        engine.abort(conn);
        live.remove(conn);
      }
    }

    @Override
    public void onFailed(WsEngine.Conn conn, String why) {
      live.remove(conn);
      if (((State) conn.attachment).closing) return;
      if (failed.incrementAndGet() == 1) firstFailure = why;
    }

    @Override
    public void onClosed(WsEngine.Conn conn) {
      live.remove(conn);
      if (!((State) conn.attachment).closing) unaskedCloses.incrementAndGet();
    }

    @Override
    public void onText(WsEngine.Conn conn, byte[] a, int off, int len) {
      int t = WsEngine.indexOf(a, off, Math.min(off + len, off + 40), TYPE);
      String type = t < 0 ? "?" : new String(a, t + TYPE.length, Math.min(12, off + len - t - TYPE.length),
          StandardCharsets.US_ASCII);
      State state = (State) conn.attachment;
      if (type.startsWith("connected")) {
        for (int i = 0; i < 2; i++) {
          String room = "soak-churn-" + random.nextInt(churnRooms);
          if (state.joining.add(room)) send(conn, "{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
        }
      } else if (type.startsWith("room_info")) {
        String room = state.joining.stream().filter(r -> WsEngine.indexOf(a, off, off + len,
            ("\"" + r + "\"").getBytes(StandardCharsets.US_ASCII)) >= 0).findFirst().orElse(null);
        if (room == null) return;
        state.joining.remove(room);
        send(conn, "{\"type\":\"typing\",\"room\":\"" + room + "\"}");
        send(conn, "{\"type\":\"send_message\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"hello from "
            + conn.index + "\"}}");
        if (random.nextInt(10) == 0) {
          malformed.incrementAndGet();
          send(conn, "{\"type\":\"send_message\",\"room\":");
        }
      } else if (type.startsWith("error")) {
        if (WsEngine.indexOf(a, off, off + len, INVALID_FORMAT) >= 0) formatErrors.incrementAndGet();
        else otherErrors.incrementAndGet();
      }
    }

    private void send(WsEngine.Conn conn, String text) {
      engine.sendText(conn, text.getBytes(StandardCharsets.UTF_8));
    }

    /** No more new connections; every open one closes (half cleanly); waits up to 30 s for them. */
    void stop() throws Exception {
      opening = false;
      engine.loop(0).call(() -> {
        closings.clear();
        for (WsEngine.Conn conn : List.copyOf(live)) close(conn, random.nextBoolean());
        return null;
      }).get();
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (open() > 0 && System.nanoTime() < deadline) Proc.sleep(100);
    }

    @Override
    public void close() {
      engine.close();
    }
  }
}
