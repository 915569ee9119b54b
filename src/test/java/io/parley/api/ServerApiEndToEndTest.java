package io.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.app.ParleyNode;
import io.parley.testing.ApiClient;
import io.parley.testing.TestCluster;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * The server API on a running node with its embedded store, end to end: HTTP calls from a backend
 * and real WebSocket clients in the rooms (docs/protocol.md, "Server API"). Every error status is
 * also produced, path by path, in {@link ApiContractTest}.
 */
@ExtendWith(LogCapturingExtension.class)
class ServerApiEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "end-to-end-key-0123456789";
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final AtomicInteger ROOMS = new AtomicInteger();
  private static final ActorTestKit kit = ActorTestKit.create("ServerApiEndToEndTest");
  private static String dataDir;
  private static ParleyNode node;
  private static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    dataDir = TestNode.dataDir();
    node = TestNode.start("parley.api.keys = \"old-key-0123456789abcdef, " + KEY + "\"\n"
        + "parley.storage.data-dir = \"" + dataDir + "\"");
    api = new ApiClient("http://127.0.0.1:" + node.port(), KEY);
  }

  @AfterAll
  static void stop() throws Exception {
    kit.shutdownTestKit();
    node.close();
  }

  private static String room() {
    return "api-" + ROOMS.incrementAndGet();
  }

  private static WsClient member(String user, String room) {
    WsClient client = WsClient.connected(TestNode.wsUri(node, TestTokens.token(user, user)));
    client.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
    client.skipTo("room_info");
    return client;
  }

  private static ApiClient.Answer publish(String room, String content, String extra) {
    return api.post("publish", ApiClient.publishBody(room, content, extra));
  }

  // ---- publish ----------------------------------------------------------------------------------

  @Test
  void aPublishReachesTheMembersAsNewMessageAndEntersTheHistory() throws Exception {
    String room = room();
    try (WsClient ann = member("ann", room)) {
      String body = "{\"room\":\"" + room + "\",\"payload\":{\"content\":\"Deploy finished\",\"build\":1842,"
          + "\"links\":[{\"href\":\"/b/1842\"}]}}";
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          TestNode.httpUri(node, "/api/publish")).header("Authorization", "apikey " + KEY)
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      JsonNode result = JSON.readTree(response.body()).get("result");

      JsonNode message = ann.expect("new_message");
      assertThat(message.get("room").textValue()).isEqualTo(room);
      assertThat(message.get("payload")).isEqualTo(JSON.readTree(body).get("payload"));
      assertThat(message.get("sender")).isEqualTo(JSON.readTree("{\"id\":\"server\",\"name\":\"server\"}"));
      assertThat(message.get("id").textValue()).isEqualTo(result.get("message_id").textValue());
      assertThat(message.get("seq").longValue()).isEqualTo(result.get("seq").longValue()).isEqualTo(1);
      assertThat(message.get("timestamp").textValue()).isNotBlank();

      ApiClient.Answer history = api.post("history", "{\"room\":\"" + room + "\"}");
      assertThat(history.result().get("epoch")).isEqualTo(result.get("epoch"));
      assertThat(history.result().get("seq").longValue()).isEqualTo(1);
      assertThat(history.result().get("messages")).containsExactly(message);
    }
  }

  @Test
  void aRoomNeedsNoMembersToBePublishedToAndAJoinerGetsItsHistory() {
    String room = room();
    assertThat(publish(room, "first", ",\"sender\":{\"id\":\"ci\",\"name\":\"CI\"}").status()).isEqualTo(200);
    assertThat(publish(room, "second", "").result().get("seq").longValue()).isEqualTo(2);
    try (WsClient ben = WsClient.connected(TestNode.wsUri(node, TestTokens.token("ben", "Ben")))) {
      ben.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\",\"history\":10}}");
      assertThat(ben.expect("room_info").at("/payload/seq").longValue()).isEqualTo(2);
      JsonNode first = ben.expect("new_message");
      assertThat(first.at("/sender/name").textValue()).isEqualTo("CI");
      assertThat(first.at("/payload/content").textValue()).isEqualTo("first");
      assertThat(ben.expect("new_message").at("/payload/content").textValue()).isEqualTo("second");
    }
  }

  @Test
  void aPostAndAPublishShareTheRoomsSeqOrder() {
    String room = room();
    try (WsClient ann = member("ann", room); WsClient ben = member("ben", room)) {
      ann.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"hi\"}}");
      assertThat(ben.expect("new_message").get("seq").longValue()).isEqualTo(1);
      assertThat(publish(room, "from the backend", "").result().get("seq").longValue()).isEqualTo(2);
      assertThat(ben.expect("new_message").get("seq").longValue()).isEqualTo(2);
      assertThat(ann.skipTo("new_message").get("seq").longValue()).as("the poster gets publishes too").isEqualTo(2);
    }
  }

  // ---- idempotency ------------------------------------------------------------------------------

  @Test
  void aRepeatedIdempotencyKeyReturnsTheFirstResultAndIsDeliveredOnce() {
    String room = room();
    try (WsClient ann = member("ann", room)) {
      ApiClient.Answer first = publish(room, "once", ",\"idempotency_key\":\"deploy-1842\"");
      ApiClient.Answer repeat = publish(room, "once, again", ",\"idempotency_key\":\"deploy-1842\"");
      assertThat(repeat.status()).isEqualTo(200);
      assertThat(repeat.body()).isEqualTo(first.body());
      assertThat(ann.expect("new_message").at("/payload/content").textValue()).isEqualTo("once");
      ann.expectNoFrame(QUIET);
      assertThat(publish(room, "another", ",\"idempotency_key\":\"deploy-1843\"").result().get("seq").longValue())
          .isEqualTo(2);
    }
  }

  @Test
  void concurrentRepeatsOfOneKeyAreStoredOnceAndAllGetTheFirstResult() {
    String room = room();
    try (WsClient ann = member("ann", room)) {
      List<CompletableFuture<ApiClient.Answer>> calls = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        calls.add(api.postAsync("publish", ApiClient.publishBody(room, "try " + i, ",\"idempotency_key\":\"k-race\"")));
      }
      List<JsonNode> bodies = calls.stream().map(CompletableFuture::join).map(ApiClient.Answer::body).toList();
      assertThat(bodies).allMatch(body -> body.equals(bodies.get(0)));
      assertThat(bodies.get(0).at("/result/seq").longValue()).isEqualTo(1);
      ann.expect("new_message");
      ann.expectNoFrame(QUIET);
      assertThat(api.post("history", "{\"room\":\"" + room + "\"}").result().get("messages")).hasSize(1);
    }
  }

  // ---- broadcast, presence, disconnect ----------------------------------------------------------

  @Test
  void aBroadcastPublishesToEachRoomAndAnswersInTheOrderOfRooms() {
    String a = room();
    String b = room();
    String c = room();
    try (WsClient ann = member("ann", a); WsClient ben = member("ben", c)) {
      publish(c, "c goes first", "");
      ben.expect("new_message");
      ApiClient.Answer answer = api.post("broadcast", "{\"rooms\":[\"" + c + "\",\"" + a + "\",\"" + b
          + "\"],\"payload\":{\"content\":\"to all\"},\"sender\":{\"id\":\"ops\"}}");
      JsonNode responses = answer.result().get("responses");
      assertThat(responses).extracting(response -> response.get("room").textValue()).containsExactly(c, a, b);
      assertThat(responses).extracting(response -> response.at("/result/seq").longValue()).containsExactly(2L, 1L, 1L);
      JsonNode atAnn = ann.expect("new_message");
      assertThat(atAnn.at("/sender/id").textValue()).isEqualTo("ops");
      assertThat(atAnn.at("/sender/name").textValue()).isEqualTo("ops");
      assertThat(atAnn.get("id").textValue()).isEqualTo(responses.get(1).at("/result/message_id").textValue());
      assertThat(ben.expect("new_message").at("/payload/content").textValue()).isEqualTo("to all");
    }
  }

  @Test
  void presenceListsTheDistinctUsersOfARoom() {
    String room = room();
    try (WsClient ann = member("ann", room); WsClient annAgain = member("ann", room); WsClient ben = member("ben", room)) {
      JsonNode result = api.post("presence", "{\"room\":\"" + room + "\"}").result();
      assertThat(result.get("room_id").textValue()).isEqualTo(room);
      assertThat(result.get("count").intValue()).isEqualTo(2);
      assertThat(result.get("users")).extracting(user -> user.get("id").textValue()).containsExactly("ann", "ben");
    }
    assertThat(api.post("presence", "{\"room\":\"" + room() + "\"}").result().get("count").intValue()).isZero();
  }

  @Test
  void disconnectClosesEveryConnectionOfTheUserWith4003AndNoOtherConnection() throws Exception {
    String room = room();
    try (WsClient cid = member("cid", room); WsClient cidAgain = member("cid", room); WsClient dan = member("dan", room)) {
      assertThat(api.post("disconnect", "{\"user\":\"cid\"}").result().get("connections").intValue()).isEqualTo(2);
      for (WsClient closed : List.of(cid, cidAgain)) {
        WsClient.Closed reason = closed.awaitClose();
        assertThat(reason.code()).isEqualTo(4003);
        assertThat(reason.reason()).isEqualTo("disconnected by the server API");
      }
      dan.send("{\"type\":\"ping\",\"id\":\"still-here\"}");
      assertThat(dan.skipTo("pong").get("id").textValue()).isEqualTo("still-here");
      assertThat(api.post("disconnect", "{\"user\":\"cid\"}").result().get("connections").intValue()).isZero();
      kit.createTestProbe().awaitAssert(() -> {
        assertThat(TestCluster.get(node, "/metrics").body()).containsPattern("parley_closes_total\\{code=\"4003\"} 2");
        return null;
      });
    }
  }

  // ---- bodies and errors ------------------------------------------------------------------------

  @Test
  void aBodyOfExactly64KiBIsTakenAndALargerOneIs413EvenWithoutAContentLength() throws Exception {
    String room = room();
    String start = "{\"room\":\"" + room + "\",\"payload\":{\"content\":\"";
    String end = "\"}}";
    String full = start + "x".repeat(ApiRoutes.MAX_BODY - start.length() - end.length()) + end;
    assertThat(full.getBytes(StandardCharsets.UTF_8)).hasSize(ApiRoutes.MAX_BODY);
    assertThat(api.post("publish", full).status()).isEqualTo(200);

    // 80 KiB without a Content-Length (chunked): refused once 64 KiB have come, not read whole
    List<ByteBuffer> chunks = new ArrayList<>();
    chunks.add(ByteBuffer.wrap(start.getBytes(StandardCharsets.UTF_8)));
    for (int i = 0; i < 5; i++) chunks.add(ByteBuffer.wrap("x".repeat(16 * 1024).getBytes(StandardCharsets.UTF_8)));
    HttpRequest chunked = HttpRequest.newBuilder(TestNode.httpUri(node, "/api/publish")).header("X-API-Key", KEY)
        .POST(HttpRequest.BodyPublishers.fromPublisher(subscriber -> {
          SubmissionPublisher<ByteBuffer> publisher = new SubmissionPublisher<>();
          publisher.subscribe(subscriber);
          chunks.forEach(publisher::submit);
          publisher.close();
        })).build();
    assertThat(chunked.bodyPublisher().orElseThrow().contentLength()).as("no Content-Length").isNegative();
    HttpResponse<String> response = HttpClient.newHttpClient().send(chunked, HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(413);
    assertThat(JSON.readTree(response.body()).at("/error/code").textValue()).isEqualTo("TOO_LARGE");
    assertThat(api.post("history", "{\"room\":\"" + room + "\"}").result().get("seq").longValue()).isEqualTo(1);
  }

  @Test
  void whileTheStoreIsDownAPublishIs503AndNothingIsStoredOrSent() throws Exception {
    String room = room();
    String store = "jdbc:h2:file:" + java.nio.file.Path.of(dataDir).resolve("parley")
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH";
    try (WsClient ann = member("ann", room); Connection admin = DriverManager.getConnection(store)) {
      assertThat(publish(room, "before", "").status()).isEqualTo(200);
      ann.expect("new_message");
      execute(admin, "alter table messages rename to messages_away");
      try {
        ApiClient.Answer refused = publish(room, "lost", ",\"idempotency_key\":\"k-down\"");
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.code()).isEqualTo("UNAVAILABLE");
        ann.expectNoFrame(QUIET);
      } finally {
        execute(admin, "alter table messages_away rename to messages");
      }
      ApiClient.Answer kept = kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(250), () -> {
        ApiClient.Answer answer = publish(room, "kept", ",\"idempotency_key\":\"k-down\"");
        assertThat(answer.status()).isEqualTo(200);
        return answer;
      });
      assertThat(kept.result().get("seq").longValue()).as("nothing was stored while the store was down").isEqualTo(2);
      assertThat(ann.expect("new_message").at("/payload/content").textValue()).isEqualTo("kept");
    }
  }

  private static void execute(Connection connection, String sql) throws Exception {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  // ---- metrics and logs -------------------------------------------------------------------------

  @Test
  void eachCallIsCountedTimedAndLoggedOnceWithoutItsKey() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(ApiRoutes.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    try {
      String room = room();
      publish(room, "counted", "");
      api.post("presence", "{\"room\":\"" + room + "\"}");
      new ApiClient("http://127.0.0.1:" + node.port(), "a-wrong-key-0123456789").post("publish", "{}");
      List<String> logged = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
      assertThat(logged).contains("api publish status=200 room=" + room, "api presence status=200 room=" + room,
          "api publish status=401 code=UNAUTHORIZED");
      assertThat(logged).noneMatch(line -> line.contains(KEY) || line.contains("a-wrong-key"));
    } finally {
      logger.detachAppender(lines);
    }
    String metrics = TestCluster.get(node, "/metrics").body();
    assertThat(metrics).containsPattern("parley_api_calls_total\\{endpoint=\"publish\",status=\"200\"} [1-9]");
    assertThat(metrics).containsPattern("parley_api_calls_total\\{endpoint=\"publish\",status=\"401\"} [1-9]");
    assertThat(metrics).containsPattern("parley_api_latency_seconds_bucket\\{endpoint=\"presence\",le=\"[0-9.]+\"} [1-9]");
    assertThat(metrics).containsPattern("parley_api_latency_seconds_count\\{endpoint=\"publish\"} [1-9]");
  }
}
