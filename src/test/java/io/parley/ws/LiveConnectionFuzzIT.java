package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.app.ParleyNode;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestDecoder;
import io.parley.protocol.RequestId;
import io.parley.testing.ActorCensus;
import io.parley.testing.FrameFuzz;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fuzz frames of {@link FrameFuzz}, as bytes over real sockets: text (mutated at byte level
 * too, so sometimes not UTF-8, sometimes too big), fragmented text, binary, protocol violations and
 * close frames, from several connections at once. Every frame gets its documented answer: the
 * reply the decoder's verdict calls for (an {@code error} with the code, a {@code pong}, an {@code
 * ack}), in the order described below, or the documented close (1003 binary, 1007 bad UTF-8, 1009 too big, 1002
 * protocol, the client's own code echoed). Meanwhile a bystander keeps getting pongs, and
 * afterwards the node's ClientActors, streams and online count are back to where they started.
 *
 * <p>The rate limit is lifted, or the fuzz would mostly meet {@code RATE_LIMITED}. The
 * connections never join a room, so every reply comes from the ClientActor in frame order;
 * frames that decode to {@code join_room} are left to the codec test. After a batch, a sentinel
 * ping proves that every frame before it was answered.
 */
@ExtendWith(LogCapturingExtension.class)
class LiveConnectionFuzzIT {
  /** Frames sent over sockets in all (the codec test runs 120,000 more through the decoder). */
  static final int FRAMES = Integer.getInteger("parley.fuzz.live-frames", 12_000);
  private static final int WORKERS = 4;
  private static final int BATCH = 32;
  private static final int MAX_FRAME = 4096;
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ParleyNode node;
  private static ActorTestKit kit;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.limits.rate-per-second = 1000000
        parley.limits.rate-burst = 1000000
        parley.limits.abuse-discards = 1000000
        """);
    kit = ActorTestKit.create("LiveConnectionFuzzITProbes");
  }

  @AfterAll
  static void stop() throws Exception {
    kit.shutdownTestKit();
    node.close();
  }

  /** ClientActors, running streams, open sockets by /ws/online. */
  private record Census(int clientActors, int streams, int connections) {}

  private static Census census() throws IOException {
    RawWsClient.Reply online = RawWsClient.request(node.port(), "GET /ws/online", Map.of("Connection", "close"));
    int connections = JSON.readTree(online.body()).path("connections").asInt(-1);
    return new Census(
        ActorCensus.count(node.system(), "/user/connections/*"),
        ActorCensus.count(node.system(), "/system/Materializers/*/*"),
        connections);
  }

  @Test
  void everyFrameGetsItsErrorOrItsCloseAndNothingLeaks() throws Exception {
    long seed = FrameFuzz.seed();
    TestProbe<Void> probe = kit.createTestProbe();
    try (WsClient bystander = WsClient.connected(TestNode.wsUri(node, TestTokens.token("bystander", "B")))) {
      Census before = probe.awaitAssert(WAIT, () -> {
        Census first = census();
        probe.expectNoMessage(Duration.ofMillis(500));
        assertThat(census()).isEqualTo(first);
        return first;
      });
      assertThat(before.clientActors()).as("the bystander").isEqualTo(1);

      Bystander pinger = new Bystander(bystander);
      Thread pingThread = new Thread(pinger, "fuzz-bystander");
      ExecutorService workers = Executors.newFixedThreadPool(WORKERS);
      long started = System.nanoTime();
      long cpuStarted = processCpuNanos();
      List<Stats> results = new ArrayList<>();
      try {
        pingThread.start();
        List<Future<Stats>> futures = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
          futures.add(workers.submit(new Worker(w, seed * 31 + w, FRAMES / WORKERS)));
        }
        for (Future<Stats> future : futures) results.add(future.get(5, TimeUnit.MINUTES));
      } finally {
        pinger.stop.set(true);
        workers.shutdownNow();
        pingThread.join(WAIT.toMillis());
      }
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      long cpuMillis = (processCpuNanos() - cpuStarted) / 1_000_000;

      Stats total = Stats.sum(results);
      System.out.printf("LiveConnectionFuzzIT seed=%d frames=%d in %d ms (JVM CPU %d ms) over %d connections; "
              + "replies=%s closes=%s joins-skipped=%d; bystander pongs=%d max=%d ms%n",
          seed, total.frames, took.toMillis(), cpuMillis, total.connections, total.replies, total.closes,
          total.skipped, pinger.pongs.get(), pinger.maxLatencyMillis.get());
      assertThat(total.frames).isEqualTo(FRAMES / WORKERS * WORKERS);
      assertThat(total.closes.keySet()).contains(1002, 1003, 1007, 1009);
      assertThat(pinger.failure).as("bystander").isNull();
      assertThat(pinger.pongs.get()).isGreaterThan(0);
      assertThat(pinger.maxLatencyMillis.get()).as("bystander's slowest pong, ms").isLessThan(5_000);
      assertThat(bystander.isClosed()).isFalse();

      // nothing leaked: actors, streams and the online count are back where they were
      probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(500),
          () -> assertThat(census()).isEqualTo(before));
      bystander.send("{\"type\":\"ping\",\"id\":\"after\"}");
      assertThat(bystander.skipTo("pong").path("id").asText()).isEqualTo("after");
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  // ---- the bystander ----------------------------------------------------------------------------

  private static final class Bystander implements Runnable {
    final WsClient client;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicLong pongs = new AtomicLong();
    final LongAccumulator maxLatencyMillis = new LongAccumulator(Math::max, 0);
    volatile String failure;

    Bystander(WsClient client) {
      this.client = client;
    }

    @Override
    public void run() {
      for (int i = 0; !stop.get() && failure == null; i++) {
        long sent = System.nanoTime();
        client.send("{\"type\":\"ping\",\"id\":\"b-" + i + "\"}");
        JsonNode pong = client.poll(WAIT);
        if (pong == null || !pong.path("id").asText().equals("b-" + i)) {
          failure = "ping b-" + i + " answered with " + pong;
          return;
        }
        pongs.incrementAndGet();
        maxLatencyMillis.accumulate((System.nanoTime() - sent) / 1_000_000);
        client.poll(Duration.ofMillis(100)); // pace: about 10 pings a second
      }
    }
  }

  // ---- the fuzzing connections ------------------------------------------------------------------

  private static final class Stats {
    int frames;
    int connections;
    int skipped;
    final Map<String, Integer> replies = new TreeMap<>();
    final Map<Integer, Integer> closes = new TreeMap<>();

    static Stats sum(List<Stats> all) {
      Stats total = new Stats();
      for (Stats s : all) {
        total.frames += s.frames;
        total.connections += s.connections;
        total.skipped += s.skipped;
        s.replies.forEach((k, v) -> total.replies.merge(k, v, Integer::sum));
        s.closes.forEach((k, v) -> total.closes.merge(k, v, Integer::sum));
      }
      return total;
    }
  }

  /** The reply a frame must get: type, error code (for errors), id (null: none). */
  private record Expected(String type, ErrorCode code, RequestId id, String frame) {
    boolean byClientActor() {
      return byClientActor(type, code == null ? null : code.name());
    }

    /** Pongs and the decoder's errors come from the ClientActor; the rest from NodeRooms. */
    static boolean byClientActor(String type, String code) {
      return type.equals("pong") || type.equals("error") && !ErrorCode.NOT_IN_ROOM.name().equals(code);
    }
  }

  private static final class Worker implements java.util.concurrent.Callable<Stats> {
    final int index;
    final FrameFuzz fuzz;
    final SplittableRandom random;
    final int quota;
    final Stats stats = new Stats();
    final List<Expected> batch = new ArrayList<>();
    RawWsClient client;
    int sentinels;

    Worker(int index, long seed, int quota) {
      this.index = index;
      this.fuzz = new FrameFuzz(seed);
      this.random = fuzz.random();
      this.quota = quota;
    }

    @Override
    public Stats call() throws Exception {
      try {
        while (stats.frames < quota) {
          if (client == null) connect();
          if (random.nextInt(100) < 2) {
            flush();
            killer();
          } else {
            text();
          }
          if (batch.size() >= BATCH) flush();
        }
        flush();
        return stats;
      } finally {
        if (client != null) client.close();
      }
    }

    private void connect() throws Exception {
      String user = "fuzz-" + index + "-" + (stats.connections % 4);
      RawWsClient.Reply reply = RawWsClient.upgrade(node.port(), "/ws?token=" + TestTokens.token(user, user), Map.of());
      assertThat(reply.status()).isEqualTo(101);
      client = reply.client();
      RawWsClient.Frame connected = client.readFrame(WAIT);
      assertThat(connected).isNotNull();
      assertThat(JSON.readTree(connected.text()).path("type").asText()).isEqualTo("connected");
      stats.connections++;
    }

    /** A fuzz text frame; its bytes may end up too big or not UTF-8, which closes. */
    private void text() throws Exception {
      FrameFuzz.Case frame = fuzz.next();
      byte[] utf8 = FrameFuzz.utf8(frame.text());
      byte[] bytes = random.nextInt(100) < 4 ? fuzz.mutateBytes(utf8) : utf8;
      if (bytes.length > MAX_FRAME) {
        flush();
        closeExpected(() -> client.sendFrame(RawWsClient.TEXT, bytes, true, true), 1009, frame.text());
        return;
      }
      String text = strictUtf8(bytes);
      if (text == null) {
        flush();
        closeExpected(() -> client.sendFrame(RawWsClient.TEXT, bytes, true, true), 1007, frame.text());
        return;
      }
      ClientRequest request = RequestDecoder.decode(text);
      if (request instanceof ClientRequest.JoinRoom) {
        stats.skipped++;
        return;
      }
      Expected expected = expectedReply(request, text);
      if (random.nextInt(100) < 5 && bytes.length > 2) {
        sendFragmented(bytes);
      } else {
        client.sendFrame(RawWsClient.TEXT, bytes, true, true);
      }
      if (expected != null) batch.add(expected);
      stats.frames++;
    }

    /** A text message in 2-3 frames, with a ping between them (control frames may interleave). */
    private void sendFragmented(byte[] bytes) throws IOException {
      int cut = 1 + random.nextInt(bytes.length - 1);
      client.sendFrame(RawWsClient.TEXT, Arrays.copyOfRange(bytes, 0, cut), false, true);
      client.sendFrame(RawWsClient.PING, "fz".getBytes(StandardCharsets.UTF_8), true, true);
      client.sendFrame(RawWsClient.CONTINUATION, Arrays.copyOfRange(bytes, cut, bytes.length), true, true);
    }

    /** What the ClientActor answers to {@code request} on a connection in no room. */
    private static Expected expectedReply(ClientRequest request, String text) {
      if (request instanceof ClientRequest.Invalid invalid) {
        return new Expected("error", invalid.code(), invalid.id(), text);
      } else if (request instanceof ClientRequest.Ping) {
        return new Expected("pong", null, request.id(), text);
      } else if (request instanceof ClientRequest.LeaveRoom) {
        return request.id() == null ? null : new Expected("ack", null, request.id(), text);
      }
      return new Expected("error", ErrorCode.NOT_IN_ROOM, request.id(), text);
    }

    /** Sends a sentinel ping and checks every reply up to its pong against the batch. */
    private void flush() throws Exception {
      if (client == null) return;
      String sentinel = "s-" + index + "-" + sentinels++;
      client.sendText("{\"type\":\"ping\",\"id\":\"" + sentinel + "\"}");
      // the ClientActor answers pings and undecodable frames itself, and NodeRooms the rest: each
      // answers in frame order, but the two orders may interleave
      Deque<Expected> direct = new ArrayDeque<>();
      Deque<Expected> viaNodeRooms = new ArrayDeque<>();
      for (Expected expected : batch) (expected.byClientActor() ? direct : viaNodeRooms).add(expected);
      boolean sentinelAnswered = false;
      while (!sentinelAnswered || !viaNodeRooms.isEmpty()) {
        RawWsClient.Frame frame = client.readFrame(WAIT);
        assertThat(frame).as("reply within %s (%d and %d of a batch of %d unanswered)", WAIT,
            direct.size(), viaNodeRooms.size(), batch.size()).isNotNull();
        if (frame.opcode() == RawWsClient.PONG || frame.opcode() == RawWsClient.PING) continue;
        assertThat(frame.opcode()).as("unexpected close %s", frame.closeCode()).isEqualTo(RawWsClient.TEXT);
        JsonNode reply = JSON.readTree(frame.text());
        String type = reply.path("type").asText();
        if (type.equals("pong") && reply.path("id").asText().equals(sentinel)) {
          assertThat(direct).as("the ClientActor's replies before its answer to the sentinel").isEmpty();
          sentinelAnswered = true;
          continue;
        }
        Deque<Expected> from = Expected.byClientActor(type, reply.path("payload").path("code").asText())
            ? direct : viaNodeRooms;
        assertThat(from).as("more replies than frames: %s", reply).isNotEmpty();
        Expected expected = from.poll();
        String context = "frame " + FrameFuzz.printable(expected.frame()) + " -> " + reply;
        assertThat(type).as(context).isEqualTo(expected.type());
        if (expected.code() != null) {
          assertThat(reply.path("payload").path("code").asText()).as(context).isEqualTo(expected.code().name());
        }
        if (expected.id() == null) {
          assertThat(reply.has("id")).as(context).isFalse();
        } else {
          assertThat(reply.get("id")).as(context).isEqualTo(JSON.readTree(expected.id().json()));
        }
        stats.replies.merge(type.equals("error") ? expected.code().name() : type, 1, Integer::sum);
      }
      batch.clear();
    }

    private interface Send {
      void run() throws IOException;
    }

    /** Frames that end the connection, each with the close code RFC 6455 and docs/protocol.md give. */
    private void killer() throws Exception {
      byte[] junk = new byte[1 + random.nextInt(200)];
      for (int i = 0; i < junk.length; i++) junk[i] = (byte) random.nextInt(256);
      switch (random.nextInt(12)) {
        case 0 -> closeExpected(() -> client.sendFrame(RawWsClient.BINARY, junk, true, true), 1003, "binary");
        case 1 -> closeExpected(() -> client.sendFrame(RawWsClient.TEXT, "{\"type\":\"ping\"}".getBytes(
            StandardCharsets.UTF_8), true, false), 1002, "unmasked");
        case 2 -> closeExpected(() -> client.sendFrame(RawWsClient.TEXT | (0x10 << random.nextInt(3)),
            "{}".getBytes(StandardCharsets.UTF_8), true, true), 1002, "reserved bit");
        case 3 -> {
          int[] unknown = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
          closeExpected(() -> client.sendFrame(unknown[random.nextInt(unknown.length)], junk, true, true), 1002,
              "unknown opcode");
        }
        case 4 -> closeExpected(() -> client.sendFrame(RawWsClient.CONTINUATION, junk, true, true), 1002,
            "continuation without a message");
        case 5 -> closeExpected(() -> client.sendFrame(RawWsClient.PING, new byte[126 + random.nextInt(100)], true,
            true), 1002, "ping over 125 bytes");
        case 6 -> closeExpected(() -> client.sendFrame(RawWsClient.PING, junk.length > 125 ? new byte[5] : junk,
            false, true), 1002, "fragmented ping");
        case 7 -> closeExpected(() -> {
          client.sendFrame(RawWsClient.TEXT, "{\"ty".getBytes(StandardCharsets.UTF_8), false, true);
          client.sendFrame(RawWsClient.TEXT, "pe\":1}".getBytes(StandardCharsets.UTF_8), true, true);
        }, 1002, "new message inside a fragmented one");
        case 8 -> {
          int size = MAX_FRAME + 1 + random.nextInt(12_000);
          closeExpected(() -> client.sendFrame(RawWsClient.TEXT, new byte[size], true, true), 1009, "too big");
        }
        case 9 -> {
          int[] valid = {1000, 1001, 1003, 1008, 1012, 1014, 3000, 4000, 4999};
          int code = valid[random.nextInt(valid.length)];
          closeExpected(() -> client.sendFrame(RawWsClient.CLOSE, closePayload(code, "bye"), true, true), code,
              "client close " + code);
        }
        case 10 -> {
          int[] invalid = {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535};
          int code = invalid[random.nextInt(invalid.length)];
          closeExpected(() -> client.sendFrame(RawWsClient.CLOSE, closePayload(code, ""), true, true), 1002,
              "client close with invalid code " + code);
        }
        default -> {
          byte[] payload = random.nextBoolean() ? new byte[] {0x03}
              : new byte[] {0x03, (byte) 0xE8, (byte) 0xC3, (byte) 0x28}; // 1000 + bad UTF-8 reason
          closeExpected(() -> client.sendFrame(RawWsClient.CLOSE, payload, true, true), 1002, "bad close payload");
        }
      }
    }

    private static byte[] closePayload(int code, String reason) {
      byte[] text = reason.getBytes(StandardCharsets.UTF_8);
      byte[] payload = new byte[2 + text.length];
      payload[0] = (byte) (code >>> 8);
      payload[1] = (byte) code;
      System.arraycopy(text, 0, payload, 2, text.length);
      return payload;
    }

    /** Sends, then the server's close frame must come with {@code code}, and no reply before it. */
    private void closeExpected(Send send, int code, String what) throws Exception {
      try {
        send.run();
      } catch (SocketException closedWhileWriting) {
        // the server may close before a large frame is written completely; its close frame was sent
      }
      while (true) {
        RawWsClient.Frame frame;
        try {
          frame = client.readFrame(WAIT);
        } catch (EOFException | SocketException e) {
          throw new AssertionError(what + ": connection ended without a close frame", e);
        }
        assertThat(frame).as(what + ": close within " + WAIT).isNotNull();
        if (frame.opcode() == RawWsClient.PONG || frame.opcode() == RawWsClient.PING) continue;
        assertThat(frame.opcode()).as(what + ": no reply before the close: " + frame.text())
            .isEqualTo(RawWsClient.CLOSE);
        assertThat(frame.closeCode()).as(what).isEqualTo(code);
        break;
      }
      stats.closes.merge(code, 1, Integer::sum);
      stats.frames++;
      client.close();
      client = null;
    }

    /** The text, or null when the bytes are not UTF-8 (as the server decides). */
    private static String strictUtf8(byte[] bytes) {
      try {
        return StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes)).toString();
      } catch (CharacterCodingException e) {
        return null;
      }
    }
  }
}
