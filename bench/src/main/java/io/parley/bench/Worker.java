package io.parley.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A generator process that holds idle sockets (one process holds at most ~19,900 sockets here,
 * so larger counts need several), each socket a client that behaves like the JS client when
 * asked to: after a failed attempt or a close by the server it tries again after a backoff with
 * full jitter, {@code random(0, min(cap, base * 2^attempt))}, and never before a 503's
 * Retry-After. Driven line by line on stdin:
 *
 * <pre>
 *   open N INFLIGHT HOST:PORT SOURCE PATH SECRET|- FIRST_USER BASE_MS CAP_MS DEADLINE_MS TIMEOUT_MS
 *       → opened ok=.. failed=.. ms=.. attempts=.. failed_attempts=.. last=EPOCH_MS why=..
 *   storm BASE_MS CAP_MS DEADLINE_MS TIMEOUT_MS
 *       → storm back=.. of=.. attempts=.. failed_attempts=.. drop_ms=.. why=.. times=MS,MS,…
 *   count  → count open=.. closed_by_server=..
 *   close  → closed
 *   quit
 * </pre>
 *
 * {@code open} adds N clients (users uFIRST_USER+i; PATH may contain {token}, an HS256 token for
 * the user minted before the clock starts), at most INFLIGHT first attempts at a time; an attempt
 * without a 101 within TIMEOUT_MS fails (the JS client's connectTimeout is 15 s). BASE_MS 0:
 * no retries and no reconnects (a failed attempt is final). It answers when every new client is
 * open or has given up, or at DEADLINE_MS. {@code storm} resets every open socket at once (RST, as
 * a network blip would), and every client comes back after its first backoff ({@code random(0,
 * min(CAP, BASE))}); {@code times} are the milliseconds from the reset to each client's new open.
 * {@code why} counts failed attempts by cause. The process exits when stdin closes or after an
 * hour.
 */
final class Worker {
  private Worker() {}

  /** One simulated client: the same user and server across its reconnects. */
  private static final class Client {
    final InetSocketAddress server;
    final String source;
    final String path;
    WsEngine.Conn conn;
    int attempt;
    boolean open;
    /** Retries and reconnects wanted (false once given up or closed by us). */
    boolean wanted = true;
    Batch batch;
    /** The batch in which this client has opened or given up (counted once per batch). */
    Batch settledIn;
    boolean firstAttemptDone;

    Client(InetSocketAddress server, String source, String path) {
      this.server = server;
      this.source = source;
      this.path = path;
    }
  }

  /** One command's clients until each is open or has given up. */
  private static final class Batch {
    final List<Client> clients;
    final ArrayDeque<Client> waiting;
    final int inflightLimit;
    final long base;
    final long cap;
    final long timeoutMs;
    final long start = System.nanoTime();
    final CompletableFuture<String> reply = new CompletableFuture<>();
    final List<Long> openedAfterMs = new ArrayList<>();
    final Map<String, Integer> why = new TreeMap<>();
    int inflight;
    int ok;
    int settled;
    int attempts;
    int failedAttempts;
    long lastOpenEpochMs;

    Batch(List<Client> clients, int inflightLimit, long base, long cap, long timeoutMs, boolean paced) {
      this.clients = clients;
      this.waiting = paced ? new ArrayDeque<>(clients) : new ArrayDeque<>();
      this.inflightLimit = inflightLimit;
      this.base = base;
      this.cap = cap;
      this.timeoutMs = timeoutMs;
    }

    boolean done() {
      return reply.isDone();
    }

    String whyText() {
      if (why.isEmpty()) return "-";
      StringBuilder sb = new StringBuilder();
      why.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ",").append(k).append('x').append(v));
      return sb.toString();
    }
  }

  private record Timer(long due, long order, Runnable task) implements Comparable<Timer> {
    @Override
    public int compareTo(Timer o) {
      return due != o.due ? Long.compare(due, o.due) : Long.compare(order, o.order);
    }
  }

  private final List<Client> clients = new ArrayList<>();
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private long timerOrder;
  private int closedByServer;
  private int openCount;
  private WsEngine engine;

  static void main(String[] args) throws Exception {
    new Worker().serve();
  }

  private void serve() throws Exception {
    engine = new WsEngine(1, new WsEngine.Listener() {
      @Override
      public void onOpen(WsEngine.Conn conn) {
        opened(conn);
      }

      @Override
      public void onFailed(WsEngine.Conn conn, String why) {
        failed(conn, why);
      }

      @Override
      public void onText(WsEngine.Conn conn, byte[] buf, int off, int len) {
        // idle: the connected frame and pings (answered by the engine), nothing else
      }

      @Override
      public void onClosed(WsEngine.Conn conn) {
        closedByServer(conn);
      }
    });
    engine.loop(0).ticker = this::tick;
    Thread watchdog = new Thread(() -> {
      Proc.sleep(3_600_000L);
      System.exit(3);
    });
    watchdog.setDaemon(true);
    watchdog.start();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] f = line.trim().split(" ");
      String answer = switch (f[0]) {
        case "open" -> open(f).get(2, TimeUnit.HOURS);
        case "storm" -> onLoop(() -> storm(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]),
            Long.parseLong(f[4])))
            .get(2, TimeUnit.HOURS);
        case "count" -> engine.loop(0).call(() -> "count open=" + openCount + " closed_by_server=" + closedByServer)
            .get();
        case "close" -> engine.loop(0).call(() -> {
          for (Client c : clients) drop(c, false);
          clients.clear();
          timers.clear();
          return "closed";
        }).get();
        case "quit" -> {
          engine.close();
          System.out.println("bye");
          System.out.flush();
          System.exit(0);
          yield "";
        }
        default -> "error unknown command " + f[0];
      };
      System.out.println(answer);
      System.out.flush();
    }
    engine.close();
    System.exit(0);
  }

  /** Runs {@code start} on the loop; the future it returns completes later, on the loop too. */
  private CompletableFuture<String> onLoop(java.util.function.Supplier<CompletableFuture<String>> start)
      throws Exception {
    return engine.loop(0).call(start::get).get();
  }

  private CompletableFuture<String> open(String[] f) throws Exception {
    int n = Integer.parseInt(f[1]);
    int inflight = Integer.parseInt(f[2]);
    String[] hostPort = f[3].split(":");
    InetSocketAddress server = new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1]));
    String source = f[4];
    Jwt jwt = f[6].equals("-") ? null : new Jwt(f[6]);
    int firstUser = Integer.parseInt(f[7]);
    long base = Long.parseLong(f[8]);
    long cap = Long.parseLong(f[9]);
    long deadlineMs = Long.parseLong(f[10]);
    long timeoutMs = Long.parseLong(f[11]);
    List<Client> batch = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String p = jwt == null ? f[5] : f[5].replace("{token}", jwt.mint("u" + (firstUser + i), 7200));
      batch.add(new Client(server, source, p));
    }
    return onLoop(() -> {
      clients.addAll(batch);
      Batch b = new Batch(batch, inflight, base, cap, timeoutMs, true);
      for (Client c : batch) c.batch = b;
      at(deadlineMs, () -> finish(b));
      pump(b);
      if (batch.isEmpty()) finish(b);
      return b.reply;
    });
  }

  /** Every open socket reset at once, then every client back after its first jittered backoff. */
  private CompletableFuture<String> storm(long base, long cap, long deadlineMs, long timeoutMs) {
    long t0 = System.nanoTime();
    Batch b = new Batch(new ArrayList<>(clients), Integer.MAX_VALUE, base, cap, timeoutMs, false);
    for (Client c : clients) {
      drop(c, true);
      c.batch = b;
      c.attempt = 0;
      c.firstAttemptDone = true;
    }
    long dropMs = (System.nanoTime() - t0) / 1_000_000L;
    for (Client c : b.clients) retryLater(c, -1);
    at(deadlineMs, () -> finish(b));
    if (b.clients.isEmpty()) finish(b);
    return b.reply.thenApply(r -> r + " drop_ms=" + dropMs + " times=" + join(b.openedAfterMs));
  }

  private static String join(List<Long> values) {
    StringBuilder sb = new StringBuilder();
    for (long v : values) sb.append(sb.length() == 0 ? "" : ",").append(v);
    return sb.length() == 0 ? "-" : sb.toString();
  }

  /** Starts first attempts while the batch has room for them. */
  private void pump(Batch b) {
    while (!b.done() && b.inflight < b.inflightLimit && !b.waiting.isEmpty()) {
      b.inflight++;
      attempt(b.waiting.poll());
    }
  }

  private void attempt(Client c) {
    if (!c.wanted || c.open) return;
    WsEngine.Conn conn = engine.newConn(0, c.server, c.source, c.path);
    conn.attachment = c;
    c.conn = conn;
    if (c.batch != null) c.batch.attempts++;
    engine.connect(conn);
    if (conn.state != WsEngine.CLOSED) {
      at(c.batch.timeoutMs, () -> {
        if (c.conn == conn && conn.state != WsEngine.OPEN && conn.state != WsEngine.CLOSED) {
          engine.abort(conn);
          failed(conn, "timeout");
        }
      });
    }
  }

  private void opened(WsEngine.Conn conn) {
    Client c = (Client) conn.attachment;
    if (c == null || c.conn != conn) return;
    c.open = true;
    c.attempt = 0;
    openCount++;
    Batch b = c.batch;
    if (b == null || b.done() || c.settledIn == b) return;
    b.ok++;
    b.lastOpenEpochMs = System.currentTimeMillis();
    b.openedAfterMs.add((System.nanoTime() - b.start) / 1_000_000L);
    firstAttemptDone(c);
    settled(c);
  }

  private void failed(WsEngine.Conn conn, String why) {
    Client c = (Client) conn.attachment;
    if (c == null || c.conn != conn) return;
    Batch b = c.batch;
    if (b != null && !b.done()) {
      b.failedAttempts++;
      b.why.merge(cause(why), 1, Integer::sum);
      firstAttemptDone(c);
    }
    if (b != null && b.base > 0 && c.wanted) {
      retryLater(c, conn.retryAfterSeconds);
    } else {
      c.wanted = false;
      if (b != null && !b.done()) settled(c);
    }
  }

  private void closedByServer(WsEngine.Conn conn) {
    Client c = (Client) conn.attachment;
    if (c == null || c.conn != conn) return;
    closedByServer++;
    c.open = false;
    openCount--;
    // the JS client reconnects after any close it did not ask for (its attempt count is 0 again)
    if (c.wanted && c.batch != null && c.batch.base > 0) retryLater(c, -1);
  }

  private void firstAttemptDone(Client c) {
    if (c.firstAttemptDone) return;
    c.firstAttemptDone = true;
    c.batch.inflight--;
    pump(c.batch);
  }

  private void retryLater(Client c, int retryAfterSeconds) {
    Batch b = c.batch;
    long window = Math.min(b.cap, b.base << Math.min(c.attempt, 30));
    long delay = Math.round(ThreadLocalRandom.current().nextDouble() * window);
    if (retryAfterSeconds > 0) delay = Math.max(delay, retryAfterSeconds * 1000L);
    c.attempt++;
    at(delay, () -> attempt(c));
  }

  private void settled(Client c) {
    Batch b = c.batch;
    if (c.settledIn == b) return;
    c.settledIn = b;
    b.settled++;
    if (b.settled >= b.clients.size()) finish(b);
  }

  /** The batch's answer; clients still not open then give up. */
  private void finish(Batch b) {
    if (b.done()) return;
    int notOpen = 0;
    for (Client c : b.clients) {
      if (!c.open) {
        notOpen++;
        c.wanted = false;
        if (c.conn != null && c.conn.state != WsEngine.CLOSED) engine.abort(c.conn);
      }
    }
    long ms = (System.nanoTime() - b.start) / 1_000_000L;
    b.reply.complete((b.inflightLimit == Integer.MAX_VALUE ? "storm back=" + b.ok + " of=" + b.clients.size()
        : "opened ok=" + b.ok + " failed=" + notOpen + " ms=" + ms)
        + " attempts=" + b.attempts + " failed_attempts=" + b.failedAttempts + " last=" + b.lastOpenEpochMs
        + " why=" + b.whyText());
  }

  /** Resets the socket (RST: no TIME_WAIT here); {@code reconnect}: the client stays wanted. */
  private void drop(Client c, boolean reconnect) {
    c.wanted = reconnect;
    if (c.open) openCount--;
    c.open = false;
    if (c.conn != null) engine.abort(c.conn);
    c.conn = null;
  }

  /** "HTTP/1.1 503 Service Unavailable" → 503; exceptions by class; no spaces. */
  private static String cause(String why) {
    if (why.startsWith("HTTP/")) {
      String[] parts = why.split(" ");
      return parts.length > 1 ? parts[1] : "http";
    }
    int colon = why.indexOf(':');
    String head = colon > 0 ? why.substring(0, colon) : why;
    return head.substring(head.lastIndexOf('.') + 1).replace(' ', '_');
  }

  private void at(long delayMs, Runnable task) {
    timers.add(new Timer(System.nanoTime() + delayMs * 1_000_000L, timerOrder++, task));
  }

  private long tick(long now) {
    Timer t;
    while ((t = timers.peek()) != null && t.due() <= now) {
      timers.poll();
      try {
        t.task().run();
      } catch (RuntimeException e) {
        e.printStackTrace(); // one client's trouble must not stop the others' timers
      }
    }
    return t == null ? Long.MAX_VALUE : t.due();
  }
}
