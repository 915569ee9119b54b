package io.parley.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal non-blocking RFC 6455 client for many sockets: a few selector threads ("loops"),
 * each owning its connections, no per-message allocation on receive (listeners see the frame in
 * the loop's read buffer). Only what a load generator needs: text frames, ping/pong, close.
 *
 * <p>All calls on a connection ({@link #sendText}, {@link #abort}) must run on its loop's thread:
 * from listeners, from a loop's {@link Ticker}, or through {@link Loop#call}.
 */
final class WsEngine implements AutoCloseable {

  interface Listener {
    /** The 101 arrived. */
    default void onOpen(Conn conn) {}

    /** Connect or upgrade failed ({@code why}: exception message or HTTP status line). */
    default void onFailed(Conn conn, String why) {}

    /** A complete text message, valid only during the call. */
    void onText(Conn conn, byte[] buf, int off, int len);

    default void onClosed(Conn conn) {}
  }

  /** Called by a loop between selects; returns the System.nanoTime() it wants to run again. */
  interface Ticker {
    long tick(long now);
  }

  static final int CONNECTING = 0, HANDSHAKE = 1, OPEN = 2, CLOSED = 3;

  static final class Conn {
    final int index;
    final Loop loop;
    final InetSocketAddress server;
    final String source;
    final String path;
    SocketChannel channel;
    SelectionKey key;
    int state = CONNECTING;
    final ArrayDeque<ByteBuffer> out = new ArrayDeque<>(2);
    byte[] leftover;
    int leftoverLength;
    byte[] fragment;
    int fragmentLength;
    /** The refusal's Retry-After in seconds (an upgrade answered other than 101), or -1. */
    int retryAfterSeconds = -1;
    /** Free for the scenario. */
    Object attachment;

    Conn(int index, Loop loop, InetSocketAddress server, String source, String path) {
      this.index = index;
      this.loop = loop;
      this.server = server;
      this.source = source;
      this.path = path;
    }
  }

  private final Loop[] loops;
  private final Listener listener;

  WsEngine(int threads, Listener listener) throws IOException {
    this.listener = listener;
    this.loops = new Loop[threads];
    for (int i = 0; i < threads; i++) {
      loops[i] = new Loop("ws-loop-" + i);
      loops[i].start();
    }
  }

  Loop loop(int i) {
    return loops[i % loops.length];
  }

  int loopCount() {
    return loops.length;
  }

  Conn newConn(int index, InetSocketAddress server, String source, String path) {
    return new Conn(index, loop(index), server, source, path);
  }

  /**
   * Connects every connection, at most {@code maxInflight} handshakes at a time; returns when all
   * are open or failed, or at {@code timeoutMs}. Listener callbacks still run as usual.
   */
  void connectAll(List<Conn> conns, int maxInflight, long timeoutMs, Listener counting)
      throws InterruptedException {
    Semaphore inflight = new Semaphore(maxInflight);
    CountDownLatch done = new CountDownLatch(conns.size());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    for (Conn conn : conns) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !inflight.tryAcquire(left, TimeUnit.NANOSECONDS)) break;
      conn.loop.pending.put(conn, new Runnable() {
        boolean ran;

        @Override
        public void run() {
          if (!ran) {
            ran = true;
            inflight.release();
            done.countDown();
          }
        }
      });
      conn.loop.submit(() -> conn.loop.connect(conn));
    }
    done.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  /** Starts connecting {@code conn}, from its loop's thread (a listener, a ticker, a call). */
  void connect(Conn conn) {
    conn.loop.connect(conn);
  }

  void sendText(Conn conn, byte[] payload) {
    conn.loop.write(conn, frame(0x1, payload, 0, payload.length));
  }

  /** Starts the closing handshake (1000); the socket closes when the server's close frame arrives. */
  void sendClose(Conn conn) {
    conn.loop.write(conn, frame(0x8, new byte[] {0x03, (byte) 0xE8}, 0, 2));
  }

  /** Closes the socket at once with a RST (SO_LINGER 0): no TIME_WAIT left on this side. */
  void abort(Conn conn) {
    conn.loop.abort(conn);
  }

  @Override
  public void close() {
    for (Loop loop : loops) loop.shutdown();
  }

  /** A masked client frame. */
  static ByteBuffer frame(int opcode, byte[] payload, int off, int len) {
    int header = 2 + (len > 125 ? (len > 0xFFFF ? 8 : 2) : 0) + 4;
    byte[] f = new byte[header + len];
    f[0] = (byte) (0x80 | opcode);
    int p = 2;
    if (len <= 125) {
      f[1] = (byte) (0x80 | len);
    } else if (len <= 0xFFFF) {
      f[1] = (byte) (0x80 | 126);
      f[2] = (byte) (len >>> 8);
      f[3] = (byte) len;
      p = 4;
    } else {
      f[1] = (byte) (0x80 | 127);
      for (int i = 0; i < 8; i++) f[2 + i] = (byte) ((long) len >>> (56 - 8 * i));
      p = 10;
    }
    int mask = ThreadLocalRandom.current().nextInt();
    f[p] = (byte) (mask >>> 24);
    f[p + 1] = (byte) (mask >>> 16);
    f[p + 2] = (byte) (mask >>> 8);
    f[p + 3] = (byte) mask;
    p += 4;
    for (int i = 0; i < len; i++) f[p + i] = (byte) (payload[off + i] ^ f[header - 4 + (i & 3)]);
    return ByteBuffer.wrap(f);
  }

  final class Loop extends Thread {
    private final Selector selector;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final java.util.concurrent.ConcurrentHashMap<Conn, Runnable> pending =
        new java.util.concurrent.ConcurrentHashMap<>();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(512 * 1024);
    private volatile boolean running = true;
    volatile Ticker ticker;
    final AtomicInteger open = new AtomicInteger();

    Loop(String name) throws IOException {
      super(name);
      setDaemon(true);
      selector = Selector.open();
    }

    void submit(Runnable task) {
      tasks.add(task);
      selector.wakeup();
    }

    /** Runs {@code task} on this loop; fails at once when the loop has stopped. */
    <T> CompletableFuture<T> call(Callable<T> task) {
      CompletableFuture<T> result = new CompletableFuture<>();
      if (!running || !isAlive()) {
        result.completeExceptionally(new IllegalStateException(getName() + " has stopped"));
        return result;
      }
      submit(() -> {
        try {
          result.complete(task.call());
        } catch (Throwable e) {
          result.completeExceptionally(e);
        }
      });
      return result;
    }

    void shutdown() {
      running = false;
      selector.wakeup();
      try {
        join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void run() {
      try {
        while (running) {
          runTasks();
          long next = Long.MAX_VALUE;
          Ticker t = ticker;
          if (t != null) {
            try {
              next = t.tick(System.nanoTime());
            } catch (RuntimeException e) {
              // a broken scenario must not take the loop (and every call waiting on it) down
              e.printStackTrace();
              ticker = null;
            }
          }
          long waitNanos = next == Long.MAX_VALUE ? 100_000_000L : next - System.nanoTime();
          if (!tasks.isEmpty()) waitNanos = 0;
          if (waitNanos < 1_000_000L) selector.selectNow();
          else selector.select(Math.min(100, waitNanos / 1_000_000L));
          Iterator<SelectionKey> it = selector.selectedKeys().iterator();
          while (it.hasNext()) {
            SelectionKey key = it.next();
            it.remove();
            Conn conn = (Conn) key.attachment();
            try {
              if (!key.isValid()) continue;
              if (key.isConnectable()) onConnectable(conn);
              else {
                if (key.isValid() && key.isWritable()) flush(conn);
                if (key.isValid() && key.isReadable()) onReadable(conn);
              }
            } catch (IOException | RuntimeException e) {
              fail(conn, e.toString());
            }
          }
        }
      } catch (IOException e) {
        e.printStackTrace();
      } finally {
        running = false;
        runTasks(); // whoever waits on a call gets its answer
        for (SelectionKey key : selector.keys()) {
          Conn conn = (Conn) key.attachment();
          if (conn != null) quietClose(conn);
        }
        try {
          selector.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    }

    private void runTasks() {
      Runnable task;
      while ((task = tasks.poll()) != null) {
        try {
          task.run();
        } catch (RuntimeException e) {
          e.printStackTrace();
        }
      }
    }

    void connect(Conn conn) {
      try {
        SocketChannel ch = SocketChannel.open();
        conn.channel = ch;
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        if (conn.source != null) ch.bind(new InetSocketAddress(conn.source, 0));
        boolean connected = ch.connect(conn.server);
        conn.key = ch.register(selector, connected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT, conn);
        if (connected) startHandshake(conn);
      } catch (IOException | RuntimeException e) {
        fail(conn, e.toString());
      }
    }

    private void onConnectable(Conn conn) throws IOException {
      if (conn.channel.finishConnect()) {
        conn.key.interestOps(SelectionKey.OP_READ);
        startHandshake(conn);
      }
    }

    private void startHandshake(Conn conn) {
      conn.state = HANDSHAKE;
      byte[] key = new byte[16];
      ThreadLocalRandom.current().nextBytes(key);
      String request = "GET " + conn.path + " HTTP/1.1\r\n"
          + "Host: " + conn.server.getHostString() + ":" + conn.server.getPort() + "\r\n"
          + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\n"
          + "Sec-WebSocket-Version: 13\r\n\r\n";
      write(conn, ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1)));
    }

    void write(Conn conn, ByteBuffer buf) {
      if (conn.state == CLOSED || conn.state == CONNECTING) return;
      try {
        if (conn.out.isEmpty()) {
          conn.channel.write(buf);
          if (!buf.hasRemaining()) return;
          conn.out.add(buf);
          conn.key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        } else {
          conn.out.add(buf);
        }
      } catch (IOException e) {
        fail(conn, e.toString());
      }
    }

    private void flush(Conn conn) throws IOException {
      while (!conn.out.isEmpty()) {
        ByteBuffer head = conn.out.peek();
        conn.channel.write(head);
        if (head.hasRemaining()) return;
        conn.out.poll();
      }
      conn.key.interestOps(SelectionKey.OP_READ);
    }

    private void onReadable(Conn conn) throws IOException {
      ByteBuffer buf = readBuffer;
      buf.clear();
      if (conn.leftoverLength > 0) {
        if (conn.leftoverLength > buf.capacity() / 2) {
          fail(conn, "frame larger than the read buffer");
          return;
        }
        buf.put(conn.leftover, 0, conn.leftoverLength);
        conn.leftoverLength = 0;
      }
      int n = conn.channel.read(buf);
      if (n < 0) {
        closed(conn);
        return;
      }
      byte[] a = buf.array();
      int end = buf.position();
      int pos = 0;
      if (conn.state == HANDSHAKE) {
        int headerEnd = indexOf(a, 0, end, CRLFCRLF);
        if (headerEnd < 0) {
          keep(conn, a, 0, end);
          return;
        }
        int lineEnd = indexOf(a, 0, end, CRLF);
        String status = new String(a, 0, lineEnd, StandardCharsets.ISO_8859_1);
        if (!status.startsWith("HTTP/1.1 101")) {
          conn.retryAfterSeconds = retryAfter(new String(a, 0, headerEnd, StandardCharsets.ISO_8859_1));
          fail(conn, status);
          return;
        }
        conn.state = OPEN;
        open.incrementAndGet();
        done(conn);
        listener.onOpen(conn);
        pos = headerEnd + 4;
      }
      while (conn.state == OPEN && pos + 2 <= end) {
        int b0 = a[pos] & 0xFF;
        int b1 = a[pos + 1] & 0xFF;
        boolean fin = (b0 & 0x80) != 0;
        int opcode = b0 & 0x0F;
        boolean masked = (b1 & 0x80) != 0;
        long len = b1 & 0x7F;
        int header = 2;
        if (len == 126) {
          if (pos + 4 > end) break;
          len = ((a[pos + 2] & 0xFF) << 8) | (a[pos + 3] & 0xFF);
          header = 4;
        } else if (len == 127) {
          if (pos + 10 > end) break;
          len = 0;
          for (int i = 0; i < 8; i++) len = (len << 8) | (a[pos + 2 + i] & 0xFF);
          header = 10;
        }
        int maskAt = pos + header;
        if (masked) header += 4;
        if (len > buf.capacity() / 2) {
          fail(conn, "frame too large: " + len);
          return;
        }
        if (pos + header + len > end) break;
        int off = pos + header;
        int length = (int) len;
        if (masked) {
          for (int i = 0; i < length; i++) a[off + i] ^= a[maskAt + (i & 3)];
        }
        pos = off + length;
        switch (opcode) {
          case 0x1 -> {
            if (fin) listener.onText(conn, a, off, length);
            else appendFragment(conn, a, off, length);
          }
          case 0x0 -> {
            appendFragment(conn, a, off, length);
            if (fin) {
              listener.onText(conn, conn.fragment, 0, conn.fragmentLength);
              conn.fragmentLength = 0;
            }
          }
          case 0x9 -> write(conn, frame(0xA, a, off, length));
          case 0x8 -> {
            write(conn, frame(0x8, a, off, Math.min(length, 2)));
            closed(conn);
            return;
          }
          default -> {
            // pong, binary: ignored
          }
        }
      }
      if (conn.state == OPEN && pos < end) keep(conn, a, pos, end);
    }

    private void appendFragment(Conn conn, byte[] a, int off, int len) {
      if (conn.fragment == null || conn.fragment.length < conn.fragmentLength + len) {
        byte[] grown = new byte[Math.max(4096, (conn.fragmentLength + len) * 2)];
        if (conn.fragment != null) System.arraycopy(conn.fragment, 0, grown, 0, conn.fragmentLength);
        conn.fragment = grown;
      }
      System.arraycopy(a, off, conn.fragment, conn.fragmentLength, len);
      conn.fragmentLength += len;
    }

    private void keep(Conn conn, byte[] a, int from, int to) {
      int len = to - from;
      if (conn.leftover == null || conn.leftover.length < len) conn.leftover = new byte[Math.max(512, len)];
      System.arraycopy(a, from, conn.leftover, 0, len);
      conn.leftoverLength = len;
    }

    private void done(Conn conn) {
      Runnable release = pending.remove(conn);
      if (release != null) release.run();
    }

    private void fail(Conn conn, String why) {
      if (conn == null) return;
      boolean wasOpen = conn.state == OPEN;
      quietClose(conn);
      done(conn);
      if (wasOpen) listener.onClosed(conn);
      else listener.onFailed(conn, why);
    }

    private void closed(Conn conn) {
      boolean wasOpen = conn.state == OPEN;
      quietClose(conn);
      done(conn);
      if (wasOpen) listener.onClosed(conn);
      else listener.onFailed(conn, "closed before upgrade");
    }

    void abort(Conn conn) {
      if (conn.state == CLOSED || conn.channel == null) {
        conn.state = CLOSED;
        return;
      }
      try {
        conn.channel.setOption(StandardSocketOptions.SO_LINGER, 0);
      } catch (IOException | RuntimeException ignored) {
        // closing anyway
      }
      quietClose(conn);
      done(conn);
    }

    private void quietClose(Conn conn) {
      if (conn.state == OPEN) open.decrementAndGet();
      conn.state = CLOSED;
      conn.out.clear();
      if (conn.key != null) conn.key.cancel();
      if (conn.channel != null) {
        try {
          conn.channel.close();
        } catch (IOException ignored) {
          // closed
        }
      }
    }
  }

  private static int retryAfter(String head) {
    for (String line : head.split("\r\n")) {
      if (line.regionMatches(true, 0, "Retry-After:", 0, 12)) {
        try {
          return Integer.parseInt(line.substring(12).trim());
        } catch (NumberFormatException e) {
          return -1; // an HTTP date: not sent by the servers measured here
        }
      }
    }
    return -1;
  }

  private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
  private static final byte[] CRLF = {'\r', '\n'};

  static int indexOf(byte[] a, int from, int to, byte[] needle) {
    outer:
    for (int i = from; i <= to - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) if (a[i + j] != needle[j]) continue outer;
      return i;
    }
    return -1;
  }
}
