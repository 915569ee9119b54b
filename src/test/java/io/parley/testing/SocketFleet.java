package io.parley.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many idle authenticated WebSockets, as a load generator holds them: opened with a bounded number
 * of upgrades in flight, each retried after a 503 as the JS client does (its {@code Retry-After}
 * plus up to a second of jitter, or a second when it gives none) and after a failed connect.
 */
public final class SocketFleet implements AutoCloseable {
  private static final int TIMEOUT_MILLIS = 30_000;

  /** One client: where it connects, as whom, and its socket while connected. */
  public static final class Client {
    final String host;
    final int port;
    final String user;
    final String token;
    volatile Socket socket;

    Client(String host, int port, String user) {
      this.host = host;
      this.port = port;
      this.user = user;
      this.token = TestTokens.token(user, user);
    }

    public String user() {
      return user;
    }

    public String host() {
      return host;
    }
  }

  /**
   * How a round of connects went: when 99 % and all were in, the upgrades refused (any status
   * but 101) and the connects that failed (refused, reset, timed out).
   */
  public record Round(int clients, long millisTo99, long millisToAll, int refusals, int failures) {}

  private final List<Client> clients = new ArrayList<>();

  public void add(String host, int port, String user) {
    clients.add(new Client(host, port, user));
  }

  public List<Client> clients() {
    return clients;
  }

  /** Connects every client not connected, {@code parallel} upgrades at a time. */
  public Round connectAll(int parallel, Duration timeout) throws InterruptedException {
    List<Client> pending = clients.stream().filter(client -> client.socket == null).toList();
    CountDownLatch connected = new CountDownLatch(pending.size());
    AtomicInteger refusals = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    AtomicLong at99 = new AtomicLong();
    int ninetyNine = (int) Math.ceil(pending.size() * 0.99);
    long start = System.nanoTime();
    ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(parallel);
    try {
      for (Client client : pending) {
        pool.execute(new Runnable() {
          @Override
          public void run() {
            long retryAfterMillis;
            try {
              retryAfterMillis = upgrade(client);
              if (retryAfterMillis != 0) refusals.incrementAndGet();
            } catch (IOException e) {
              failures.incrementAndGet();
              retryAfterMillis = 1000;
            }
            if (retryAfterMillis == 0) {
              connected.countDown();
              if (pending.size() - connected.getCount() == ninetyNine) at99.set(System.nanoTime());
              return;
            }
            long jitter = ThreadLocalRandom.current().nextLong(1000);
            pool.schedule(this, Math.abs(retryAfterMillis) + jitter, TimeUnit.MILLISECONDS);
          }
        });
      }
      if (!connected.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(connected.getCount() + " of " + pending.size() + " not connected after "
            + timeout + " (" + refusals + " refusals, " + failures + " failures)");
      }
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(1, TimeUnit.MINUTES);
    }
    long end = System.nanoTime();
    long to99 = (at99.get() == 0 ? end : at99.get()) - start;
    return new Round(pending.size(), to99 / 1_000_000, (end - start) / 1_000_000, refusals.get(), failures.get());
  }

  /**
   * One upgrade attempt: 0 when the socket is open, the wait the server asked for after a 503
   * (a second without Retry-After), or -1000 for any other answer.
   */
  private static long upgrade(Client client) throws IOException {
    Socket socket = new Socket();
    try {
      socket.connect(new InetSocketAddress(client.host, client.port), TIMEOUT_MILLIS);
      socket.setSoTimeout(TIMEOUT_MILLIS);
      byte[] key = new byte[16];
      ThreadLocalRandom.current().nextBytes(key);
      String request = "GET /ws?token=" + client.token + " HTTP/1.1\r\n"
          + "Host: " + client.host + ":" + client.port + "\r\n"
          + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\n"
          + "Sec-WebSocket-Version: 13\r\n\r\n";
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      String head = RawWsClient.readHead(socket.getInputStream()).toLowerCase(Locale.ROOT);
      int status = Integer.parseInt(head.substring(9, 12));
      if (status == 101) {
        client.socket = socket;
        return 0;
      }
      socket.close();
      if (status != 503) return -1000;
      int at = head.indexOf("\r\nretry-after:");
      if (at < 0) return 1000;
      String value = head.substring(at + 14, head.indexOf("\r\n", at + 2)).trim();
      return Long.parseLong(value) * 1000;
    } catch (IOException e) {
      socket.close();
      throw e;
    }
  }

  /** Clients whose socket the server closed (or reset) since it opened; reads what it sent. */
  public int closedByServer() throws IOException {
    int closed = 0;
    byte[] buffer = new byte[4096];
    for (Client client : clients) {
      Socket socket = client.socket;
      if (socket == null) continue;
      socket.setSoTimeout(1);
      try {
        InputStream in = socket.getInputStream();
        while (in.read(buffer) >= 0) {
          // frames the server sent (pings): the socket is open
        }
        closed++;
      } catch (SocketTimeoutException open) {
        // nothing more to read and not closed
      } catch (IOException reset) {
        closed++;
      }
    }
    return closed;
  }

  /** Every client drops its socket at once, as after a network blip. */
  public void dropAll() throws IOException {
    for (Client client : clients) {
      Socket socket = client.socket;
      client.socket = null;
      if (socket != null) socket.close();
    }
  }

  @Override
  public void close() throws IOException {
    dropAll();
  }
}
