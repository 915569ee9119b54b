package io.parley.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A generator process that holds idle sockets for the connections scenario (one process holds at
 * most ~19,900 sockets here, so larger counts need several). Driven line by line on stdin:
 *
 * <pre>
 *   open N INFLIGHT HOST:PORT SOURCE PATH SECRET|- FIRST_USER   → opened ok=.. failed=.. ms=.. why=..
 *   count                                                      → count N
 *   close                                                      → closed
 *   quit
 * </pre>
 *
 * PATH may contain {token} (an HS256 token for user uFIRST_USER+i, minted before the clock starts).
 * It exits by itself when stdin closes or after an hour.
 */
final class Worker {
  private Worker() {}

  static void main(String[] args) throws Exception {
    AtomicInteger failed = new AtomicInteger();
    StringBuilder firstFailure = new StringBuilder();
    WsEngine engine = new WsEngine(1, new WsEngine.Listener() {
      @Override
      public void onFailed(WsEngine.Conn conn, String why) {
        failed.incrementAndGet();
        synchronized (firstFailure) {
          if (firstFailure.length() == 0) firstFailure.append(why.replace(' ', '_'));
        }
      }

      @Override
      public void onText(WsEngine.Conn conn, byte[] buf, int off, int len) {
        // idle: the connected frame and nothing else
      }
    });
    List<WsEngine.Conn> conns = new ArrayList<>();
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
      switch (f[0]) {
        case "open" -> {
          int n = Integer.parseInt(f[1]);
          int inflight = Integer.parseInt(f[2]);
          String[] hostPort = f[3].split(":");
          InetSocketAddress server = new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1]));
          String source = f[4];
          String path = f[5];
          Jwt jwt = f[6].equals("-") ? null : new Jwt(f[6]);
          int firstUser = Integer.parseInt(f[7]);
          List<WsEngine.Conn> batch = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            int index = conns.size() + i;
            String p = jwt == null ? path : path.replace("{token}", jwt.mint("u" + (firstUser + i), 7200));
            batch.add(engine.newConn(index, server, source, p));
          }
          failed.set(0);
          int openBefore = engine.loop(0).open.get();
          long t0 = System.nanoTime();
          engine.connectAll(batch, inflight, 120_000, null);
          long ms = (System.nanoTime() - t0) / 1_000_000L;
          conns.addAll(batch);
          int ok = engine.loop(0).open.get() - openBefore;
          String why;
          synchronized (firstFailure) {
            why = firstFailure.length() == 0 ? "-" : firstFailure.toString();
            firstFailure.setLength(0);
          }
          System.out.println("opened ok=" + ok + " failed=" + (n - ok) + " ms=" + ms + " why=" + why);
        }
        case "count" -> System.out.println("count " + engine.loop(0).open.get());
        case "close" -> {
          engine.loop(0).call(() -> {
            for (WsEngine.Conn conn : conns) engine.abort(conn);
            return null;
          }).get();
          conns.clear();
          System.out.println("closed");
        }
        case "quit" -> {
          engine.close();
          System.out.println("bye");
          System.exit(0);
        }
        default -> System.out.println("error unknown command " + f[0]);
      }
      System.out.flush();
    }
    engine.close();
    System.exit(0);
  }
}
