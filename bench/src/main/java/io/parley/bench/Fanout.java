package io.parley.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * The fan-out scenario: R rooms of M members, S senders per room at a fixed open-loop rate.
 *
 * <p>Member i of the run is connection i, in room {@code i / M}, connected to server {@code i %
 * servers} (so with several nodes every room has members on every node). Senders are the first S
 * members of each room; each sends at most {@code maxPerSender} messages per second, under the
 * server's per-connection rate limit (20/s, burst 40): a higher rate adds senders.
 *
 * <p>Each message's 100-byte content carries its sender, its number and its <em>intended</em>
 * send time ({@code B|conn|n|nanos|xxx…}). Sending is open loop: the k-th message of a sender is
 * due at start + phase + k·period and is stamped with that time even when the loop sends it late,
 * so latency (receive time minus intended send time, into HdrHistogram) has no coordinated
 * omission. A message belongs to the measured window when its intended time is inside it; every
 * other member of its room must receive it (M-1 deliveries): what did not arrive by the end of the
 * drain is missing. {@code seq} gaps are counted per connection over new_message and ack frames.
 *
 * <p>Each send_message also carries its intended send time as its request {@code id}, which the
 * server's {@code ack} echoes: so ack latency (ack receipt minus intended time) is measured the
 * same way, for the window's messages. Parley acknowledges a message once its room log has stored
 * it, so acks per second are stored messages per second.
 */
final class Fanout implements AutoCloseable {

  record Settings(
      List<InetSocketAddress> servers,
      boolean authenticated,
      String secret,
      int rooms,
      int members,
      List<String> sources,
      int threads,
      double maxPerSender,
      double warmupSeconds,
      double durationSeconds,
      double drainSeconds,
      String roomPrefix) {}

  /** One measured step. Latencies in milliseconds; CPU in seconds. */
  record Step(
      double offered,
      double windowSeconds,
      int senders,
      double perSenderRate,
      long messages,
      long expected,
      long received,
      long missing,
      double deliveriesPerSecond,
      double p50,
      double p99,
      double p999,
      double max,
      double serverCpu,
      double deliveriesPerCpuSecond,
      double generatorCpu,
      long errors,
      long rateLimited,
      long seqGaps,
      long outOfOrder,
      Map<String, Double> serverMetrics,
      long acked,
      double ackP50,
      double ackP99,
      double ackP999,
      double ackMax,
      double storeCpu) {

    /** Messages offered per second (senders × each one's rate). */
    double offeredMessages() {
      return senders * perSenderRate;
    }

    /** Window messages without an ack by the end of the drain. */
    long ackMissing() {
      return Math.max(0, messages - acked);
    }
  }

  private static final byte[] CONTENT = "\"content\":\"B|".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TYPE = "\"type\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SEQ = "\"seq\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ID = "\"id\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] RATE_LIMITED = "RATE_LIMITED".getBytes(StandardCharsets.US_ASCII);
  private static final int CONTENT_BYTES = 100;

  private final Settings settings;
  private final WsEngine engine;
  private final int total;
  private final List<WsEngine.Conn> conns = new ArrayList<>();
  private final long[] lastSeq;
  private final LoopStats[] stats;
  private final AtomicInteger joined = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final AtomicInteger closedEarly = new AtomicInteger();
  private final long epoch = System.nanoTime();
  private volatile long windowStart = Long.MAX_VALUE;
  private volatile long windowEnd = Long.MAX_VALUE;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private volatile String firstFailure;
  private boolean closed;

  /** Written by one loop thread; {@code received} read by the controller while draining. */
  private static final class LoopStats {
    Histogram latencyMicros = new Histogram(600_000_000L, 3);
    Histogram ackMicros = new Histogram(600_000_000L, 3);
    volatile long received;
    volatile long acked;
    long sentMeasured;
    long errors;
    long rateLimited;
    long gaps;
    long outOfOrder;
  }

  Fanout(Settings settings) throws IOException {
    this.settings = settings;
    this.total = settings.rooms() * settings.members();
    this.lastSeq = new long[total];
    this.engine = new WsEngine(settings.threads(), new Listener());
    this.stats = new LoopStats[settings.threads()];
    for (int i = 0; i < stats.length; i++) stats[i] = new LoopStats();
  }

  String room(int conn) {
    return settings.roomPrefix() + (conn / settings.members());
  }

  /** Opens every connection and joins its room; returns the seconds it took. */
  double connect(Jwt jwt) throws InterruptedException {
    long t0 = System.nanoTime();
    for (int i = 0; i < total; i++) {
      InetSocketAddress server = settings.servers().get(i % settings.servers().size());
      String source = settings.sources().get(i % settings.sources().size());
      String path = settings.authenticated()
          ? "/ws?token=" + jwt.mint("b" + i, 7200)
          : "/ws?room=" + room(i);
      conns.add(engine.newConn(i, server, source, path));
    }
    engine.connectAll(conns, 256, 60_000, null);
    long deadline = System.currentTimeMillis() + 60_000;
    while (joined.get() + failed.get() < total && System.currentTimeMillis() < deadline) Proc.sleep(50);
    if (joined.get() < total) {
      throw new IllegalStateException("only " + joined.get() + " of " + total + " joined; "
          + failed.get() + " failed, first: " + firstFailure);
    }
    Proc.sleep(1000); // let the presence frames of the joins drain
    return (System.nanoTime() - t0) / 1e9;
  }

  private final class Listener implements WsEngine.Listener {
    @Override
    public void onOpen(WsEngine.Conn conn) {
      if (!settings.authenticated()) joined.incrementAndGet();
    }

    @Override
    public void onFailed(WsEngine.Conn conn, String why) {
      if (firstFailure == null) firstFailure = why;
      failed.incrementAndGet();
    }

    @Override
    public void onClosed(WsEngine.Conn conn) {
      closedEarly.incrementAndGet();
    }

    @Override
    public void onText(WsEngine.Conn conn, byte[] a, int off, int len) {
      long now = System.nanoTime();
      LoopStats s = stats[conn.index % stats.length];
      int t = WsEngine.indexOf(a, off, Math.min(off + len, off + 40), TYPE);
      char kind = t < 0 ? '?' : (char) a[t + TYPE.length];
      switch (kind) {
        case 'n', 's' -> { // new_message (Parley), send_message relayed verbatim (bare)
          onDelivery(s, now, a, off, len);
          if (kind == 'n') onSeq(s, conn.index, a, off, len);
        }
        case 'a' -> { // ack of one's own message: its id is the intended send time, it carries the seq
          onAck(s, now, a, off, len);
          onSeq(s, conn.index, a, off, len);
        }
        case 'e' -> {
          s.errors++;
          if (WsEngine.indexOf(a, off, off + len, RATE_LIMITED) >= 0) s.rateLimited++;
        }
        case 'c' -> engine.sendText(conn, ("{\"type\":\"join_room\",\"payload\":{\"room_id\":\""
            + room(conn.index) + "\"}}").getBytes(StandardCharsets.US_ASCII)); // connected
        case 'r' -> joined.incrementAndGet(); // room_info
        default -> {
          // user_joined, user_left, pong
        }
      }
    }
  }

  private void onDelivery(LoopStats s, long now, byte[] a, int off, int len) {
    int c = WsEngine.indexOf(a, off, off + len, CONTENT);
    if (c < 0) return;
    int p = c + CONTENT.length;
    // B|conn|n|intended|
    while (a[p] != '|') p++;
    p++;
    while (a[p] != '|') p++;
    p++;
    long intended = 0;
    while (a[p] != '|') intended = intended * 10 + (a[p++] - '0');
    intended += epoch;
    if (intended >= windowStart && intended < windowEnd) {
      s.latencyMicros.recordValue(Math.max(0, Math.min((now - intended) / 1000, 600_000_000L)));
      s.received++;
    }
  }

  private void onAck(LoopStats s, long now, byte[] a, int off, int len) {
    long id = numberAfter(ID, a, off, len);
    if (id < 0) return;
    long intended = epoch + id;
    if (intended >= windowStart && intended < windowEnd) {
      s.ackMicros.recordValue(Math.max(0, Math.min((now - intended) / 1000, 600_000_000L)));
      s.acked++;
    }
  }

  private void onSeq(LoopStats s, int conn, byte[] a, int off, int len) {
    long seq = numberAfter(SEQ, a, off, len);
    if (seq < 0) return;
    long last = lastSeq[conn];
    if (seq > last + 1 && last > 0) s.gaps += seq - last - 1;
    if (seq <= last) s.outOfOrder++;
    else lastSeq[conn] = seq;
  }

  /** The non-negative integer after the first {@code key} in the frame, or -1 without one. */
  private static long numberAfter(byte[] key, byte[] a, int off, int len) {
    int q = WsEngine.indexOf(a, off, off + len, key);
    if (q < 0) return -1;
    long n = 0;
    for (int p = q + key.length; p < off + len && a[p] >= '0' && a[p] <= '9'; p++) n = n * 10 + (a[p] - '0');
    return n;
  }

  private final class Sender implements Comparable<Sender> {
    final WsEngine.Conn conn;
    final long period;
    final String prefix;
    long next;
    long n;

    Sender(WsEngine.Conn conn, long period, long first) {
      this.conn = conn;
      this.period = period;
      this.next = first;
      this.prefix = "{\"type\":\"send_message\",\"room\":\"" + room(conn.index) + "\",\"id\":";
    }

    /**
     * id: intended nanos since epoch; content: B|conn|n|intended|, padded with x to
     * CONTENT_BYTES.
     */
    void send(long intended) {
      StringBuilder msg = new StringBuilder(prefix.length() + CONTENT_BYTES + 40).append(prefix)
          .append(intended - epoch).append(",\"payload\":{\"content\":\"");
      int content = msg.length();
      msg.append("B|").append(conn.index).append('|').append(n++).append('|').append(intended - epoch).append('|');
      while (msg.length() - content < CONTENT_BYTES) msg.append('x');
      msg.append("\"}}");
      engine.sendText(conn, msg.toString().getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    public int compareTo(Sender o) {
      return Long.compare(next, o.next);
    }
  }

  private final class Schedule implements WsEngine.Ticker {
    final PriorityQueue<Sender> queue = new PriorityQueue<>();
    final LoopStats s;
    final long end;

    Schedule(LoopStats s, long end) {
      this.s = s;
      this.end = end;
    }

    @Override
    public long tick(long now) {
      Sender sender;
      while ((sender = queue.peek()) != null && sender.next <= now) {
        queue.poll();
        long intended = sender.next;
        sender.send(intended);
        if (intended >= windowStart && intended < windowEnd) s.sentMeasured++;
        sender.next += sender.period;
        if (sender.next < end) queue.add(sender);
      }
      return sender == null ? Long.MAX_VALUE : sender.next;
    }
  }

  /**
   * Runs one step at {@code offered} deliveries per second: warm-up, measured window, drain. The
   * server's processes' CPU counts (its store's apart), its metrics are scraped before and after
   * the window.
   */
  Step step(double offered, Servers.Server server) throws Exception {
    return step(offered, settings.warmupSeconds(), settings.durationSeconds(), server);
  }

  /** A step with its own warm-up and window lengths (the server warm-up after connecting). */
  Step step(double offered, double warmupSeconds, double durationSeconds, Servers.Server server)
      throws Exception {
    List<Long> serverPids = server.pids();
    List<String> metricsUrls = server.metricsUrls();
    int perMessage = settings.members() - 1;
    double messagesPerRoom = offered / perMessage / settings.rooms();
    int senders = (int) Math.min(settings.members(), Math.ceil(messagesPerRoom / settings.maxPerSender()));
    double perSender = messagesPerRoom / senders;
    long period = (long) (1e9 / perSender);

    long start = System.nanoTime() + 300_000_000L;
    long mStart = start + (long) (warmupSeconds * 1e9);
    long mEnd = mStart + (long) (durationSeconds * 1e9);
    windowStart = mStart;
    windowEnd = mEnd;
    java.util.Random random = new java.util.Random(42);
    List<List<Sender>> perLoop = new ArrayList<>();
    for (int l = 0; l < engine.loopCount(); l++) perLoop.add(new ArrayList<>());
    for (int r = 0; r < settings.rooms(); r++) {
      for (int j = 0; j < senders; j++) {
        WsEngine.Conn conn = conns.get(r * settings.members() + j);
        Sender sender = new Sender(conn, period, start + (long) (random.nextDouble() * period));
        perLoop.get(conn.index % engine.loopCount()).add(sender);
      }
    }
    List<Schedule> schedules = new ArrayList<>();
    for (int l = 0; l < engine.loopCount(); l++) {
      LoopStats s = stats[l];
      Schedule schedule = new Schedule(s, mEnd);
      schedule.queue.addAll(perLoop.get(l));
      schedules.add(schedule);
      final int loopIndex = l;
      engine.loop(l).call(() -> {
        s.latencyMicros.reset();
        s.ackMicros.reset();
        s.received = 0;
        s.sentMeasured = s.acked = s.errors = s.rateLimited = s.gaps = s.outOfOrder = 0;
        engine.loop(loopIndex).ticker = schedule.queue.isEmpty() ? null : schedule;
        return null;
      }).get();
    }

    sleepUntil(mStart);
    Map<String, Double> m0 = scrape(metricsUrls);
    double cpu0 = Proc.cpuSeconds(serverPids);
    double store0 = storeCpu(server);
    double gen0 = Proc.selfCpuSeconds();
    sleepUntil(mEnd);
    long drainDeadline = System.nanoTime() + (long) (settings.drainSeconds() * 1e9);
    // a loop running late still has window messages to send: expected counts them all
    long sent = 0;
    for (int l = 0; l < engine.loopCount(); l++) {
      final Schedule schedule = schedules.get(l);
      while (!engine.loop(l).call(schedule.queue::isEmpty).get() && System.nanoTime() < drainDeadline) {
        Proc.sleep(5);
      }
      sent += engine.loop(l).call(() -> schedule.s.sentMeasured).get();
    }
    long expected = sent * perMessage;
    // Parley and go-hub acknowledge every message (the bare server does not)
    long acks = server.authenticated() ? sent : 0;
    while (System.nanoTime() < drainDeadline && (received() < expected || acked() < acks)) Proc.sleep(20);
    double cpu1 = Proc.cpuSeconds(serverPids);
    double store1 = storeCpu(server);
    double gen1 = Proc.selfCpuSeconds();
    Map<String, Double> m1 = scrape(metricsUrls);
    for (int l = 0; l < engine.loopCount(); l++) engine.loop(l).ticker = null;

    Histogram merged = new Histogram(600_000_000L, 3);
    Histogram ackMerged = new Histogram(600_000_000L, 3);
    long received = 0, acked = 0, errors = 0, rateLimited = 0, gaps = 0, outOfOrder = 0;
    for (int l = 0; l < engine.loopCount(); l++) {
      final LoopStats s = stats[l];
      merged.add(engine.loop(l).call(() -> s.latencyMicros.copy()).get());
      ackMerged.add(engine.loop(l).call(() -> s.ackMicros.copy()).get());
      received += s.received;
      acked += s.acked;
      errors += s.errors;
      rateLimited += s.rateLimited;
      gaps += s.gaps;
      outOfOrder += s.outOfOrder;
    }
    Map<String, Double> delta = new HashMap<>();
    for (Map.Entry<String, Double> e : m1.entrySet()) {
      delta.put(e.getKey(), e.getValue() - m0.getOrDefault(e.getKey(), 0.0));
    }
    double cpu = cpu1 - cpu0;
    return new Step(
        offered, durationSeconds, senders * settings.rooms(), perSender, sent, expected, received,
        Math.max(0, expected - received),
        received / durationSeconds,
        merged.getValueAtPercentile(50) / 1000.0,
        merged.getValueAtPercentile(99) / 1000.0,
        merged.getValueAtPercentile(99.9) / 1000.0,
        merged.getMaxValue() / 1000.0,
        cpu, cpu > 0 ? received / cpu : 0, gen1 - gen0,
        errors, rateLimited, gaps, outOfOrder, delta,
        acked,
        ackMerged.getValueAtPercentile(50) / 1000.0,
        ackMerged.getValueAtPercentile(99) / 1000.0,
        ackMerged.getValueAtPercentile(99.9) / 1000.0,
        ackMerged.getMaxValue() / 1000.0,
        store1 - store0);
  }

  private long received() {
    long sum = 0;
    for (LoopStats s : stats) sum += s.received;
    return sum;
  }

  private long acked() {
    long sum = 0;
    for (LoopStats s : stats) sum += s.acked;
    return sum;
  }

  private static double storeCpu(Servers.Server server) {
    double sum = 0;
    for (long pid : server.storePids) sum += Proc.treeCpuSeconds(pid);
    return sum;
  }

  int closedEarly() {
    return closedEarly.get();
  }

  private static void sleepUntil(long nanoTime) {
    long left = nanoTime - System.nanoTime();
    if (left > 0) Proc.sleep(left / 1_000_000L + 1);
  }

  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+([-+0-9.eE]+|NaN)\\s*$");

  /** Prometheus text of each URL, summed over the URLs, keyed by name and labels. */
  Map<String, Double> scrape(List<String> urls) {
    Map<String, Double> sum = new HashMap<>();
    for (String url : urls) {
      try {
        HttpResponse<String> response = http.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
        for (String line : response.body().split("\n")) {
          if (line.startsWith("#")) continue;
          Matcher m = SAMPLE.matcher(line);
          if (!m.matches() || m.group(3).equals("NaN")) continue;
          String labels = m.group(2) == null ? "" : m.group(2).replace(",}", "}");
          sum.merge(m.group(1) + labels, Double.parseDouble(m.group(3)), Double::sum);
        }
      } catch (Exception e) {
        System.err.println("cannot scrape " + url + ": " + e);
      }
    }
    return sum;
  }

  /** Aborts every socket and stops the loops; later calls do nothing (the loops are gone). */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    for (int l = 0; l < engine.loopCount(); l++) {
      final int loopIndex = l;
      try {
        engine.loop(l).call(() -> {
          for (WsEngine.Conn conn : conns) {
            if (conn.index % engine.loopCount() == loopIndex) engine.abort(conn);
          }
          return null;
        }).get();
      } catch (Exception e) {
        // closing anyway
      }
    }
    engine.close();
  }
}
