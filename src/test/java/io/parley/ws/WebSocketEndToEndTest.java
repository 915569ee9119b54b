package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.app.ParleyNode;
import io.parley.testing.OnlineCounts;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A running node on its default limits, driven by real WebSocket clients over loopback: the JDK's
 * client, and a hand-written one for frames a well-behaved client never sends.
 */
@ExtendWith(LogCapturingExtension.class)
class WebSocketEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static ParleyNode node;
  private static ActorTestKit kit;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("");
    kit = ActorTestKit.create("WebSocketEndToEndTestProbes");
  }

  @AfterAll
  static void stop() throws Exception {
    kit.shutdownTestKit();
    node.close();
  }

  private static WsClient connect(String user) {
    return WsClient.connected(TestNode.wsUri(node, TestTokens.token(user, user)));
  }

  private static RawWsClient raw(String user) throws Exception {
    RawWsClient.Reply reply =
        RawWsClient.upgrade(node.port(), "/ws?token=" + TestTokens.token(user, user), Map.of());
    assertThat(reply.status()).isEqualTo(101);
    RawWsClient client = reply.client();
    RawWsClient.Frame connected = client.readFrame(WAIT);
    assertThat(JSON.readTree(connected.text()).path("type").asText()).isEqualTo("connected");
    return client;
  }

  // ---- the README's wscat session -------------------------------------------------------------

  @Test
  void aMessageSentJustBeforeACleanCloseIsStillDelivered() throws Exception {
    try (WsClient ben = connect("ben-last")) {
      ben.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"last-words\"}}");
      ben.expect("room_info");
      for (int i = 0; i < 10; i++) {
        try (RawWsClient ann = raw("ann-last")) {
          ann.sendText("{\"type\":\"join_room\",\"id\":\"j\",\"payload\":{\"room_id\":\"last-words\"}}");
          while (!JSON.readTree(ann.readFrame(WAIT).text()).path("type").asText().equals("room_info")) {
            // user_joined and the like
          }
          ann.sendText("{\"type\":\"send_message\",\"room\":\"last-words\",\"payload\":{\"content\":\"bye " + i + "\"}}");
          ann.sendFrame(0x8, new byte[] {0x03, (byte) 0xE8}, true, true); // close 1000, right behind it
          ann.awaitCloseCode(WAIT);
        }
        assertThat(ben.skipTo("new_message").at("/payload/content").asText()).isEqualTo("bye " + i);
      }
    }
  }

  @Test
  void readmeSessionJoinSendAndOnlineCountWorkAsDocumented() throws Exception {
    try (WsClient alice = connect("alice-seed"); WsClient bob = connect("bob-seed");
        WsClient aliceTab = connect("alice-seed")) {
      alice.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general-seed\"}}");
      alice.expect("room_info");
      bob.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general-seed\"}}");
      assertThat(bob.expect("room_info").path("payload").path("count").asInt()).isEqualTo(2);
      assertThat(alice.expect("user_joined").path("sender").path("name").asText()).isEqualTo("bob-seed");
      aliceTab.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general-seed\"}}");
      aliceTab.expect("room_info");

      alice.send("{\"type\":\"send_message\",\"room\":\"general-seed\",\"payload\":{\"content\":\"Hello!\"}}");
      JsonNode ack = alice.expect("ack");
      JsonNode atBob = bob.expect("new_message");
      JsonNode atTab = aliceTab.expect("new_message");
      assertThat(atBob.path("payload").path("content").asText()).isEqualTo("Hello!");
      assertThat(atBob.path("seq").asLong()).isEqualTo(1).isEqualTo(ack.path("payload").path("seq").asLong());
      assertThat(atBob.path("id").asText()).isEqualTo(ack.path("payload").path("message_id").asText())
          .isEqualTo(atTab.path("id").asText());
      alice.expectNoFrame(Duration.ofMillis(300));

      kit.createTestProbe().awaitAssert(WAIT, () -> {
        JsonNode online = JSON.readTree(get("/ws/online"));
        assertThat(online.path("online").asInt()).as("distinct users").isGreaterThanOrEqualTo(2);
        assertThat(online.path("connections").asInt()).isGreaterThanOrEqualTo(3);
        return null;
      });
    }
  }

  private static String get(String path) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(TestNode.httpUri(node, path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  @Test
  void onlineCountFollowsConnectionsAndDistinctUsers() throws Exception {
    JsonNode before = OnlineCounts.settled(kit.createTestProbe(), List.of(node));
    WsClient first = connect("counted-user");
    WsClient second = connect("counted-user");
    kit.createTestProbe().awaitAssert(WAIT, () -> {
      JsonNode now = JSON.readTree(get("/ws/online"));
      assertThat(now.path("connections").asInt()).isEqualTo(before.path("connections").asInt() + 2);
      assertThat(now.path("online").asInt()).isEqualTo(before.path("online").asInt() + 1);
      return null;
    });
    first.close();
    second.close();
    kit.createTestProbe().awaitAssert(WAIT, () -> {
      assertThat(JSON.readTree(get("/ws/online"))).isEqualTo(before);
      return null;
    });
  }

  @Test
  void devEndpointsAreAbsentWhenDevModeIsOff() throws Exception {
    HttpResponse<String> token = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(TestNode.httpUri(node, "/dev/token"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"Ann\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(token.statusCode()).isEqualTo(404);
    assertThat(HttpClient.newHttpClient().send(HttpRequest.newBuilder(TestNode.httpUri(node, "/admin")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
  }

  // ---- token carriers ----------------------------------------------------------------------------

  @Test
  void tokenInTheAuthorizationHeaderConnects() {
    String token = TestTokens.token("header-user", "Header User");
    try (WsClient client = WsClient.connect(TestNode.wsUri(node, null), List.of(),
        Map.of("Authorization", "Bearer " + token))) {
      assertThat(client.expect("connected").path("payload").path("user").path("id").asText())
          .isEqualTo("header-user");
    }
  }

  @Test
  void tokenAsTheOnlyOfferedSubprotocolConnectsAndIsEchoed() {
    String token = TestTokens.token("proto-user", "Proto User");
    try (WsClient client = WsClient.connect(TestNode.wsUri(node, null), List.of(token), Map.of())) {
      assertThat(client.subprotocol()).isEqualTo(token);
      assertThat(client.expect("connected").path("payload").path("user").path("id").asText())
          .isEqualTo("proto-user");
    }
  }

  @Test
  void bearerSubprotocolPairConnectsAndBearerIsEchoed() {
    String token = TestTokens.token("bearer-user", "Bearer User");
    try (WsClient client = WsClient.connect(TestNode.wsUri(node, null), List.of("bearer", token), Map.of())) {
      assertThat(client.subprotocol()).isEqualTo("bearer");
      assertThat(client.expect("connected").path("payload").path("user").path("id").asText())
          .isEqualTo("bearer-user");
    }
  }

  @Test
  void queryTokenWinsOverTheOtherCarriers() {
    String query = TestTokens.token("query-user", "Q");
    String header = TestTokens.token("header-loser", "H");
    try (WsClient client = WsClient.connect(TestNode.wsUri(node, query), List.of(),
        Map.of("Authorization", "Bearer " + header))) {
      assertThat(client.expect("connected").path("payload").path("user").path("id").asText())
          .isEqualTo("query-user");
    }
  }

  @Test
  void connectedFrameNamesTheConnectionUserAndNode() {
    try (WsClient client = WsClient.connect(TestNode.wsUri(node, TestTokens.token("named", "Named One")))) {
      JsonNode connected = client.expect("connected");
      assertThat(connected.path("payload").path("connection_id").asText()).isNotEmpty();
      assertThat(connected.path("payload").path("user").path("name").asText()).isEqualTo("Named One");
      assertThat(connected.path("payload").path("node").asText()).matches("127\\.0\\.0\\.1:\\d+");
      assertThat(connected.path("timestamp").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
    }
  }

  // ---- limits and close codes ----------------------------------------------------------------

  /** A ping request padded with an ignored field to exactly {@code size} bytes of UTF-8. */
  private static String pingOfSize(int size) {
    String head = "{\"type\":\"ping\",\"id\":\"big\",\"pad\":\"";
    String tail = "\"}";
    return head + "x".repeat(size - head.length() - tail.length()) + tail;
  }

  @Test
  void messageOfExactlyTheFrameLimitIsAccepted() {
    try (WsClient client = connect("limit-ok")) {
      String frame = pingOfSize(4096);
      assertThat(frame.getBytes(StandardCharsets.UTF_8)).hasSize(4096);
      client.send(frame);
      assertThat(client.expect("pong").path("id").asText()).isEqualTo("big");
    }
  }

  @Test
  void messageOneByteOverTheFrameLimitClosesWith1009() {
    try (WsClient client = connect("limit-over")) {
      client.send(pingOfSize(4097));
      assertThat(client.awaitClose().code()).isEqualTo(CloseCodes.TOO_BIG);
    }
  }

  @Test
  void frameHeaderAnnouncingAHugePayloadClosesWith1009AtOnce() throws Exception {
    try (RawWsClient client = raw("huge-header")) {
      client.sendHeader(RawWsClient.TEXT, 1L << 40, true, true);
      assertThat(client.awaitCloseCode(WAIT)).isEqualTo(CloseCodes.TOO_BIG);
    }
  }

  @Test
  void fragmentsAddingUpOverTheLimitCloseWith1009() throws Exception {
    try (RawWsClient client = raw("fragments-over")) {
      client.sendFrame(RawWsClient.TEXT, new byte[3000], false, true);
      client.sendFrame(RawWsClient.CONTINUATION, new byte[1097], true, true);
      assertThat(client.awaitCloseCode(WAIT)).isEqualTo(CloseCodes.TOO_BIG);
    }
  }

  @Test
  void fragmentedMessageIsReassembled() throws Exception {
    try (RawWsClient client = raw("fragments")) {
      byte[] ping = "{\"type\":\"ping\",\"id\":\"frag\"}".getBytes(StandardCharsets.UTF_8);
      client.sendFrame(RawWsClient.TEXT, java.util.Arrays.copyOfRange(ping, 0, 10), false, true);
      client.sendFrame(RawWsClient.PING, "mid".getBytes(StandardCharsets.UTF_8), true, true);
      client.sendFrame(RawWsClient.CONTINUATION, java.util.Arrays.copyOfRange(ping, 10, ping.length), true, true);
      RawWsClient.Frame pong = client.readFrame(WAIT);
      assertThat(pong.opcode()).as("control frames may interleave").isEqualTo(RawWsClient.PONG);
      assertThat(pong.text()).isEqualTo("mid");
      RawWsClient.Frame reply = client.readFrame(WAIT);
      assertThat(JSON.readTree(reply.text()).path("id").asText()).isEqualTo("frag");
    }
  }

  @Test
  void binaryFrameClosesWith1003() {
    try (WsClient client = connect("binary")) {
      client.sendBinary(new byte[] {1, 2, 3});
      assertThat(client.awaitClose().code()).isEqualTo(CloseCodes.BINARY_NOT_ACCEPTED);
    }
  }

  @Test
  void invalidUtf8ClosesWith1007() throws Exception {
    try (RawWsClient client = raw("bad-utf8")) {
      client.sendFrame(RawWsClient.TEXT, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, true, true);
      assertThat(client.awaitCloseCode(WAIT)).isEqualTo(CloseCodes.INVALID_UTF8);
    }
  }

  @Test
  void unmaskedClientFrameClosesWith1002() throws Exception {
    try (RawWsClient client = raw("unmasked")) {
      client.sendFrame(RawWsClient.TEXT, "{\"type\":\"ping\"}".getBytes(StandardCharsets.UTF_8), true, false);
      assertThat(client.awaitCloseCode(WAIT)).isEqualTo(CloseCodes.PROTOCOL_ERROR);
    }
  }

  @Test
  void reservedOpcodesCloseWith1002() throws Exception {
    for (int opcode : new int[] {0x3, 0x7, 0xB, 0xF}) {
      try (RawWsClient client = raw("reserved-opcode")) {
        client.sendFrame(opcode, new byte[] {1, 2}, true, true);
        assertThat(client.awaitCloseCode(WAIT)).as("opcode %x", opcode).isEqualTo(CloseCodes.PROTOCOL_ERROR);
      }
    }
  }

  @Test
  void clientCloseIsEchoedWithItsCode() throws Exception {
    try (RawWsClient client = raw("closer")) {
      client.sendFrame(RawWsClient.CLOSE, new byte[] {0x03, (byte) 0xE8}, true, true);
      assertThat(client.awaitCloseCode(WAIT)).isEqualTo(CloseCodes.NORMAL);
    }
  }

  @Test
  void closeCodesIanaAddedAreEchoedToo() throws Exception {
    try (RawWsClient client = raw("restarting")) {
      client.sendFrame(RawWsClient.CLOSE, new byte[] {0x03, (byte) 0xF4}, true, true); // 1012
      assertThat(client.awaitCloseCode(WAIT)).isEqualTo(1012);
    }
  }

  @Test
  void badFrameGetsAnErrorAndTheConnectionStaysOpen() {
    try (WsClient client = connect("bad-frames")) {
      client.send("this is not json");
      assertThat(client.expect("error").path("payload").path("code").asText()).isEqualTo("INVALID_FORMAT");
      client.send("{\"type\":\"fly\",\"id\":7}");
      JsonNode unknown = client.expect("error");
      assertThat(unknown.path("payload").path("code").asText()).isEqualTo("UNKNOWN_TYPE");
      assertThat(unknown.path("id").isInt()).as("numeric ids stay numeric").isTrue();
      client.send("{\"type\":\"ping\",\"id\":\"still-open\"}");
      assertThat(client.expect("pong").path("id").asText()).isEqualTo("still-open");
    }
  }

  @Test
  void idWithAnUnpairedSurrogateGetsAnErrorAndTheConnectionStaysOpen() {
    try (WsClient client = connect("lone-surrogate")) {
      client.send("{\"type\":\"ping\",\"id\":\"\\ud800\"}");
      assertThat(client.expect("error").path("payload").path("code").asText()).isEqualTo("INVALID_FORMAT");
      client.send("{\"type\":\"ping\",\"id\":\"\\ud83d\\ude00\"}");
      assertThat(client.expect("pong").path("id").asText()).isEqualTo("\ud83d\ude00");
    }
  }

  @Test
  void burstOfAHundredFramesIsRateLimitedButNotClosed() {
    try (WsClient client = connect("bursty")) {
      for (int i = 0; i < 100; i++) client.send("{\"type\":\"ping\",\"id\":" + i + "}");
      int pongs = 0;
      int limited = 0;
      for (int i = 0; i < 100; i++) {
        JsonNode reply = client.next();
        if (reply.path("type").asText().equals("pong")) pongs++;
        else if (reply.path("payload").path("code").asText().equals("RATE_LIMITED")) limited++;
      }
      assertThat(pongs).as("the burst allowance").isGreaterThanOrEqualTo(40);
      assertThat(limited).isGreaterThan(0).isEqualTo(100 - pongs);
      assertThat(client.isClosed()).isFalse();
      kit.createTestProbe().awaitAssert(WAIT, () -> {
        client.send("{\"type\":\"ping\",\"id\":\"after\"}");
        assertThat(client.next().path("type").asText()).isEqualTo("pong");
        return null;
      });
    }
  }

  @Test
  void sustainedFloodIsClosedWith1008() {
    try (WsClient client = connect("flooder")) {
      try {
        for (int i = 0; i < 400 && !client.isClosed(); i++) {
          client.send("{\"type\":\"ping\"}");
        }
      } catch (java.util.concurrent.CompletionException outputClosed) {
        // the server's close arrived between isClosed() and send(): the JDK client refuses to send
      }
      assertThat(client.awaitClose().code()).isEqualTo(CloseCodes.POLICY_VIOLATION);
    }
  }

  @Test
  void expiringTokenClosesTheSocketWith4001() {
    String token = TestTokens.expiringIn("short-lived", Duration.ofSeconds(2));
    try (WsClient client = WsClient.connected(TestNode.wsUri(node, token))) {
      client.send("{\"type\":\"ping\",\"id\":1}");
      client.expect("pong");
      WsClient.Closed closed = client.awaitClose(Duration.ofSeconds(6));
      assertThat(closed.code()).isEqualTo(CloseCodes.TOKEN_EXPIRED);
    }
  }
}
