package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.app.ParleyNode;
import io.parley.testing.ActorCensus;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One client stops reading in a busy room. Its outgoing buffer fills and drops its frames (counted
 * in {@code parley_dropped_frames_total}), its stalled socket is dropped after the write timeout,
 * and nobody else notices: the other readers get every message, in order, without delay, and the
 * node's heap does not grow with the backlog.
 *
 * <p>The slow client's receive buffer is shrunk before it connects, and the node's socket send
 * buffer is set to 64 KB: left to itself, Linux grows it up to 4 MB on loopback, which only delays
 * the stall (the write timeout works the same whatever the buffer). Messages are ~3.5 KB (under the
 * 4096-byte frame limit) at 50 a second, so the slow client's buffers fill within about a second,
 * its outgoing buffer of 64 frames overflows before the 2 s write timeout ends it, and the normal
 * readers, which a loaded machine may pause, have more than a second of slack.
 */
@ExtendWith(LogCapturingExtension.class)
class SlowConsumerIT {
  private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(2);
  private static final int OUTGOING_BUFFER = 64;
  private static final int READERS = 4;
  private static final int CONTENT_BYTES = 3500;
  private static final int MESSAGES_PER_SECOND = 50;
  /** The sender stops after this long even if the slow client is still connected (then: fail). */
  private static final Duration MAX_SENDING = Duration.ofSeconds(20);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern DROPPED = Pattern.compile("(?m)^parley_dropped_frames_total(?:\\{[^}]*\\})? (\\S+)$");

  private static ParleyNode node;
  private static ActorTestKit kit;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.limits.write-timeout = %ds
        parley.limits.outgoing-buffer = %d
        parley.limits.rate-per-second = 1000
        parley.limits.rate-burst = 1000
        """.formatted(WRITE_TIMEOUT.toSeconds(), OUTGOING_BUFFER));
    kit = ActorTestKit.create("SlowConsumerITProbes");
  }

  @AfterAll
  static void stop() throws Exception {
    kit.shutdownTestKit();
    node.close();
  }

  private static double droppedTotal() throws IOException {
    String metrics = RawWsClient.request(node.port(), "GET /metrics", Map.of("Connection", "close")).body();
    Matcher matcher = DROPPED.matcher(metrics);
    assertThat(matcher.find()).as("parley_dropped_frames_total in /metrics").isTrue();
    return Double.parseDouble(matcher.group(1));
  }

  private static int onlineConnections() throws IOException {
    String body = RawWsClient.request(node.port(), "GET /ws/online", Map.of("Connection", "close")).body();
    return JSON.readTree(body).path("connections").asInt(-1);
  }

  private static long usedHeapAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    System.gc();
    return memory.getHeapMemoryUsage().getUsed();
  }

  private static String join(String room) {
    return "{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}";
  }

  /** Reads a room's messages: their seqs, and how long each took from the sender. */
  private static final class Reader implements Runnable {
    final WsClient client;
    final List<Long> seqs = Collections.synchronizedList(new ArrayList<>());
    final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    /** [sent at, latency] of messages sent while the slow client was stalled. */
    final List<long[]> timed = Collections.synchronizedList(new ArrayList<>());
    final AtomicBoolean stop = new AtomicBoolean();

    Reader(WsClient client) {
      this.client = client;
    }

    @Override
    public void run() {
      while (!stop.get()) {
        JsonNode frame = client.poll(Duration.ofMillis(200));
        if (frame == null || !frame.path("type").asText().equals("new_message")) continue;
        long now = System.nanoTime();
        String content = frame.path("payload").path("content").asText();
        long sentAt = Long.parseLong(content.substring(2, content.indexOf(';')));
        seqs.add(frame.path("seq").asLong());
        latencies.add(now - sentAt);
        timed.add(new long[] {sentAt, now - sentAt});
      }
    }
  }

  @Test
  void slowReaderLosesOnlyItsOwnFramesAndIsDroppedAfterTheWriteTimeout() throws Exception {
    String room = "busy-" + System.nanoTime();
    TestProbe<Void> probe = kit.createTestProbe();
    List<WsClient> clients = new ArrayList<>();
    List<Reader> readers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    RawWsClient slow = null;
    try {
      for (int i = 0; i < READERS; i++) {
        WsClient client = WsClient.connected(TestNode.wsUri(node, TestTokens.token("reader-" + i, "R" + i)));
        clients.add(client);
        client.send(join(room));
        client.skipTo("room_info");
        readers.add(new Reader(client));
      }
      WsClient sender = WsClient.connected(TestNode.wsUri(node, TestTokens.token("sender", "S")));
      clients.add(sender);
      sender.send(join(room));
      sender.skipTo("room_info");

      RawWsClient.Reply upgrade = RawWsClient.upgrade(node.port(),
          "/ws?token=" + TestTokens.token("slow", "Slow"), Map.of(), 4096);
      assertThat(upgrade.status()).isEqualTo(101);
      slow = upgrade.client();
      slow.readFrame(WAIT); // connected
      slow.sendText(join(room));
      while (!JSON.readTree(slow.readFrame(WAIT).text()).path("type").asText().equals("room_info")) { }
      // from here on the slow client reads nothing

      int connections = READERS + 2;
      probe.awaitAssert(WAIT, () -> assertThat(onlineConnections()).isEqualTo(connections));
      double droppedBefore = droppedTotal();
      long heapBefore = usedHeapAfterGc();
      for (Reader reader : readers) {
        Thread thread = new Thread(reader, "slow-consumer-reader");
        threads.add(thread);
        thread.start();
      }

      // the sender sends at a steady rate until the slow client is gone (and a little longer)
      String padding = "x".repeat(CONTENT_BYTES);
      long interval = 1_000_000_000L / MESSAGES_PER_SECOND;
      long start = System.nanoTime();
      long firstDrop = 0;
      long closedAt = 0;
      int sent = 0;
      long nextCheck = start;
      while (System.nanoTime() - start < MAX_SENDING.toNanos()) {
        long due = start + sent * interval;
        long wait = due - System.nanoTime();
        if (wait > 0) probe.expectNoMessage(Duration.ofNanos(Math.max(wait, 1_000_000)));
        sender.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"t="
            + System.nanoTime() + ";" + padding + "\"}}");
        sent++;
        if (System.nanoTime() >= nextCheck) {
          nextCheck = System.nanoTime() + 100_000_000L;
          if (firstDrop == 0 && droppedTotal() > droppedBefore) firstDrop = System.nanoTime();
          if (closedAt == 0 && firstDrop != 0 && onlineConnections() < connections) closedAt = System.nanoTime();
          if (closedAt != 0 && System.nanoTime() - closedAt > 1_000_000_000L) break;
        }
      }
      long stoppedAt = System.nanoTime();
      double dropped = droppedTotal() - droppedBefore;

      // the slow client's connection ends: reading now finds what its buffers held, then a reset
      // (which may discard the unread rest) or EOF
      long slowFrames = 0;
      long lastSeq = 0;
      long gaps = 0;
      boolean slowEnded = true;
      try {
        while (true) {
          RawWsClient.Frame frame = slow.readFrame(WAIT);
          if (frame == null) {
            slowEnded = false;
            break;
          }
          if (frame.opcode() != RawWsClient.TEXT) continue;
          JsonNode message = JSON.readTree(frame.text());
          if (!message.path("type").asText().equals("new_message")) continue;
          long seq = message.path("seq").asLong();
          if (lastSeq != 0 && seq != lastSeq + 1) gaps++;
          lastSeq = seq;
          slowFrames++;
        }
      } catch (IOException ended) {
        // java.io.EOFException or "Connection reset": the node aborted the connection
      }

      // every reader gets every message, in order, with no gap
      int total = sent;
      try {
        probe.awaitAssert(WAIT, () -> {
          assertThat(readers).allSatisfy(r -> assertThat(r.seqs.size()).isGreaterThanOrEqualTo(total));
          return null;
        });
      } catch (AssertionError late) {
        // the per-reader assertions below say which reader missed what
      }
      readers.forEach(reader -> reader.stop.set(true));
      for (Thread thread : threads) thread.join(WAIT.toMillis());
      long heapAfter = usedHeapAfterGc();

      List<Long> latencies = new ArrayList<>();
      List<Long> stalled = new ArrayList<>();
      for (Reader reader : readers) {
        latencies.addAll(reader.latencies);
        final long dropStart = firstDrop;
        final long dropEnd = closedAt;
        reader.timed.stream().filter(t -> t[0] >= dropStart && t[0] <= dropEnd).forEach(t -> stalled.add(t[1]));
      }
      Collections.sort(latencies);
      Collections.sort(stalled);
      long p99 = latencies.isEmpty() ? -1 : latencies.get((int) (latencies.size() * 0.99)) / 1_000_000;
      long max = latencies.isEmpty() ? -1 : latencies.get(latencies.size() - 1) / 1_000_000;
      long stalledP99 = stalled.isEmpty() ? -1 : stalled.get((int) (stalled.size() * 0.99)) / 1_000_000;

      System.out.printf("SlowConsumerIT sent=%d in %d ms; dropped=%.0f; first drop after %d ms; "
              + "closed %d ms after the first drop; readers p99=%d ms max=%d ms, p99 while stalled=%d ms (%d msgs); "
              + "slow client got %d frames with %d gaps; heap before=%d MB after=%d MB%n",
          sent, (stoppedAt - start) / 1_000_000, dropped, firstDrop == 0 ? -1 : (firstDrop - start) / 1_000_000,
          closedAt == 0 ? -1 : (closedAt - firstDrop) / 1_000_000, p99, max, stalledP99, stalled.size(),
          slowFrames, gaps, heapBefore >> 20, heapAfter >> 20);

      for (Reader reader : readers) {
        assertThat(reader.seqs).as("a reader's messages").hasSize(total);
        long first = reader.seqs.get(0);
        for (int i = 0; i < reader.seqs.size(); i++) {
          assertThat(reader.seqs.get(i)).as("seq %d of a reader", i).isEqualTo(first + i);
        }
      }
      assertThat(firstDrop).as("the slow client's buffer overflowed").isNotZero();
      assertThat(dropped).as("frames dropped for the slow client").isGreaterThan(0);
      assertThat(closedAt).as("the slow client was dropped").isNotZero();
      assertThat(slowEnded).as("the slow client's socket ended").isTrue();
      assertThat(Duration.ofNanos(closedAt - firstDrop)).as("from the first drop to the close")
          .isLessThan(WRITE_TIMEOUT.plusSeconds(3));
      assertThat(Duration.ofNanos(closedAt - start)).as("not before a write could have stalled that long")
          .isGreaterThanOrEqualTo(WRITE_TIMEOUT);
      assertThat(p99).as("readers' p99 latency, ms (below the write timeout: nobody waited)")
          .isLessThan(WRITE_TIMEOUT.toMillis() - 500);
      assertThat(stalled).as("messages timed while the slow client was stalled").isNotEmpty();
      assertThat(stalledP99).as("p99 while the slow client was stalled, ms")
          .isLessThan(WRITE_TIMEOUT.toMillis() - 500);
      assertThat(heapAfter - heapBefore).as("heap growth, bytes").isLessThan(64L << 20);
      probe.awaitAssert(WAIT, () -> {
        assertThat(ActorCensus.count(node.system(), "/user/connections/*")).isEqualTo(READERS + 1);
        return null;
      });
    } finally {
      for (WsClient client : clients) client.close();
      if (slow != null) slow.close();
    }
  }
}
