package io.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.auth0.jwt.algorithms.Algorithm;
import io.parley.app.ParleyNode;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgradeResponse;
import org.apache.pekko.http.javadsl.testkit.WSProbe;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The routes of a running node: the upgrade and its refusal table (docs/protocol.md, "Connecting"),
 * chat through pekko-http's WSProbe, and the HTTP endpoints.
 */
@ExtendWith(LogCapturingExtension.class)
class ChatRoutesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ALLOWED_ORIGIN = "https://chat.example.com";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static ParleyNode node;
  private static ActorTestKit clientKit;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.http.allowed-origins = "%s, http://other.example.com/"
        parley.dev-mode = on
        """.formatted(ALLOWED_ORIGIN));
    clientKit = ActorTestKit.create("ChatRoutesTestClient");
  }

  @AfterAll
  static void stop() throws Exception {
    clientKit.shutdownTestKit();
    node.close();
  }

  // ---- chat through WSProbe ----------------------------------------------------------------------

  private WSProbe connect(String token) {
    WSProbe probe = WSProbe.create(clientKit.system().classicSystem(), Materializer.matFromSystem(clientKit.system()));
    CompletionStage<WebSocketUpgradeResponse> upgrade = Http.get(clientKit.system())
        .singleWebSocketRequest(
            WebSocketRequest.create("ws://127.0.0.1:" + node.port() + "/ws?token=" + token),
            probe.flow(),
            Materializer.matFromSystem(clientKit.system()))
        .first();
    WebSocketUpgradeResponse response = upgrade.toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).join();
    assertThat(response.response().status()).isEqualTo(StatusCodes.SWITCHING_PROTOCOLS);
    return probe;
  }

  private static JsonNode frame(WSProbe probe) throws Exception {
    return JSON.readTree(probe.expectMessage().asTextMessage().getStrictText());
  }

  @Test
  void twoUsersChatThroughTheUpgradedRoute() throws Exception {
    WSProbe ann = connect(TestTokens.token("ann", "Ann"));
    WSProbe ben = connect(TestTokens.token("ben", "Ben"));
    assertThat(frame(ann).path("type").asText()).isEqualTo("connected");
    assertThat(frame(ben).path("payload").path("user").path("name").asText()).isEqualTo("Ben");

    ann.sendMessage("{\"type\":\"join_room\",\"id\":\"j1\",\"payload\":{\"room_id\":\"routes-chat\"}}");
    JsonNode info = frame(ann);
    assertThat(info.path("type").asText()).isEqualTo("room_info");
    assertThat(info.path("id").asText()).isEqualTo("j1");

    ben.sendMessage("{\"type\":\"join_room\",\"room\":\"\",\"payload\":{\"room_id\":\"routes-chat\"}}");
    assertThat(frame(ben).path("payload").path("count").asInt()).isEqualTo(2);
    JsonNode joined = frame(ann);
    assertThat(joined.path("type").asText()).isEqualTo("user_joined");
    assertThat(joined.path("sender").path("name").asText()).isEqualTo("Ben");

    ben.sendMessage("{\"type\":\"send_message\",\"room\":\"routes-chat\",\"id\":\"m1\","
        + "\"payload\":{\"content\":\"hi Ann\"},\"sender\":{\"id\":\"ann\",\"name\":\"forged\"}}");
    JsonNode ack = frame(ben);
    assertThat(ack.path("type").asText()).isEqualTo("ack");
    assertThat(ack.path("payload").path("seq").asLong()).isEqualTo(1);
    JsonNode message = frame(ann);
    assertThat(message.path("type").asText()).isEqualTo("new_message");
    assertThat(message.path("payload").path("content").asText()).isEqualTo("hi Ann");
    assertThat(message.path("sender").path("id").asText()).as("sender comes from the token").isEqualTo("ben");
    assertThat(message.path("sender").path("name").asText()).isEqualTo("Ben");

    ann.sendCompletion();
    ann.expectCompletion();
    JsonNode left = frame(ben);
    assertThat(left.path("type").asText()).isEqualTo("user_left");
    assertThat(left.path("payload").path("id").asText()).isEqualTo("ann");
    ben.sendCompletion();
    ben.expectCompletion();
  }

  // ---- refusals ----------------------------------------------------------------------------------

  private static RawWsClient.Reply upgrade(String query, Map<String, String> headers) throws Exception {
    return RawWsClient.upgrade(node.port(), "/ws" + query, headers);
  }

  private static void assertRefused(RawWsClient.Reply reply, int status, String error) throws Exception {
    assertThat(reply.status()).isEqualTo(status);
    assertThat(reply.headers().get("content-type")).isEqualTo("application/json");
    assertThat(JSON.readTree(reply.body())).isEqualTo(JSON.readTree("{\"error\":\"" + error + "\"}"));
    assertThat(reply.client()).isNull();
  }

  private static void assertUnauthorized(String query, Map<String, String> headers) throws Exception {
    RawWsClient.Reply reply = upgrade(query, headers);
    assertRefused(reply, 401, "authentication required");
    assertThat(reply.headers().get("www-authenticate")).isEqualTo("Bearer");
  }

  @Test
  void upgradeWithoutTokenIsRefusedWith401() throws Exception {
    assertUnauthorized("", Map.of());
  }

  @Test
  void tokenWithBadSignatureIsRefused() throws Exception {
    String forged = TestTokens.builder("ann", "Ann").withExpiresAt(Instant.now().plusSeconds(60))
        .sign(Algorithm.HMAC256("not-the-secret"));
    assertUnauthorized("?token=" + forged, Map.of());
  }

  @Test
  void unsignedTokenIsRefused() throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String none = b64.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
        + "." + b64.encodeToString(("{\"sub\":\"ann\",\"exp\":" + (Instant.now().getEpochSecond() + 60) + "}")
            .getBytes(StandardCharsets.UTF_8)) + ".";
    assertUnauthorized("?token=" + none, Map.of());
  }

  @Test
  void expiredTokenIsRefused() throws Exception {
    String expired = TestTokens.builder("ann", "Ann").withExpiresAt(Instant.now().minusSeconds(60))
        .sign(Algorithm.HMAC256(TestNode.SECRET));
    assertUnauthorized("?token=" + expired, Map.of());
  }

  @Test
  void tokenInTheAuthorizationHeaderMustBeValidToo() throws Exception {
    assertUnauthorized("", Map.of("Authorization", "Bearer not.a.token"));
  }

  @Test
  void plainGetWithoutUpgradeIsRefusedWith400() throws Exception {
    RawWsClient.Reply reply = RawWsClient.request(node.port(), "GET /ws", Map.of());
    assertRefused(reply, 400, "websocket upgrade required");
  }

  @Test
  void plainGetIsRefusedWith400EvenWithoutTokenAndFromAForeignOrigin() throws Exception {
    RawWsClient.Reply reply =
        RawWsClient.request(node.port(), "GET /ws", Map.of("Origin", "https://evil.example"));
    assertRefused(reply, 400, "websocket upgrade required");
  }

  @Test
  void foreignOriginIsRefusedWith403BeforeTheTokenIsLookedAt() throws Exception {
    assertRefused(upgrade("", Map.of("Origin", "https://evil.example")), 403, "origin not allowed");
    String valid = TestTokens.token("ann", "Ann");
    assertRefused(upgrade("?token=" + valid, Map.of("Origin", "https://evil.example")),
        403, "origin not allowed");
  }

  @Test
  void allowedOriginsMatchWithoutCaseOrTrailingSlash() throws Exception {
    String valid = TestTokens.token("ann", "Ann");
    for (String origin : new String[] {ALLOWED_ORIGIN, "HTTPS://Chat.Example.com", "http://other.example.com"}) {
      RawWsClient.Reply reply = upgrade("?token=" + valid, Map.of("Origin", origin));
      assertThat(reply.status()).as(origin).isEqualTo(101);
      reply.client().close();
    }
  }

  // ---- /ws/check: the upgrade's checks, answered as JSON -----------------------------------------

  private static HttpResponse<String> check(String query, Map<String, String> headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(TestNode.httpUri(node, "/ws/check" + query))
        .POST(HttpRequest.BodyPublishers.noBody());
    headers.forEach(request::header);
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String expiredToken() {
    return TestTokens.builder("ann", "Ann").withExpiresAt(Instant.now().minusSeconds(60))
        .sign(Algorithm.HMAC256(TestNode.SECRET));
  }

  @Test
  void checkAnswersOkWithTheUserForATokenInTheHeaderOrTheQuery() throws Exception {
    String token = TestTokens.token("checked-ann", "Ann");
    for (HttpResponse<String> reply : List.of(
        check("", Map.of("Authorization", "Bearer " + token, "Origin", ALLOWED_ORIGIN)),
        check("?token=" + token, Map.of()))) {
      assertThat(reply.statusCode()).isEqualTo(200);
      assertThat(reply.headers().firstValue("content-type")).contains("application/json");
      assertThat(JSON.readTree(reply.body()))
          .isEqualTo(JSON.readTree("{\"ok\":true,\"user\":{\"id\":\"checked-ann\",\"name\":\"Ann\"}}"));
    }
  }

  @Test
  void checkNamesAnOriginThatIsNotAllowed() throws Exception {
    HttpResponse<String> reply =
        check("?token=" + TestTokens.token("ann", "Ann"), Map.of("Origin", "https://evil.example"));
    assertThat(reply.statusCode()).isEqualTo(403);
    assertThat(JSON.readTree(reply.body()))
        .isEqualTo(JSON.readTree("{\"error\":\"origin not allowed\",\"reason\":\"origin_not_allowed\"}"));
  }

  @Test
  void checkSaysWhyATokenWasRejectedWithoutRepeatingIt() throws Exception {
    String expired = expiredToken();
    String forged = TestTokens.builder("ann", "Ann").withExpiresAt(Instant.now().plusSeconds(60))
        .sign(Algorithm.HMAC256("not-the-secret"));
    Map<String, String> details = Map.of("?token=" + expired, "expired", "?token=" + forged, "bad signature",
        "", "no token");
    for (Map.Entry<String, String> sent : details.entrySet()) {
      HttpResponse<String> reply = check(sent.getKey(), Map.of());
      assertThat(reply.statusCode()).as(sent.getValue()).isEqualTo(401);
      assertThat(reply.headers().firstValue("www-authenticate")).contains("Bearer");
      assertThat(JSON.readTree(reply.body())).as(sent.getValue()).isEqualTo(JSON.readTree(
          "{\"error\":\"authentication required\",\"reason\":\"token_rejected\",\"detail\":\""
              + sent.getValue() + "\"}"));
    }
  }

  /** For each request: the check's status and error are the upgrade's, in the upgrade's order. */
  @Test
  void checkAnswersWhatTheUpgradeWouldAnswer() throws Exception {
    String valid = TestTokens.token("agreeing-ann", "Ann");
    List<Map.Entry<String, Map<String, String>>> requests = List.of(
        Map.entry("?token=" + valid, Map.of("Origin", ALLOWED_ORIGIN)),
        Map.entry("", Map.of("Authorization", "Bearer " + valid)),
        Map.entry("", Map.of()),
        Map.entry("?token=" + expiredToken(), Map.of("Origin", ALLOWED_ORIGIN)),
        Map.entry("?token=" + valid, Map.of("Origin", "https://evil.example")),
        Map.entry("?token=not.a.token", Map.of("Origin", "https://evil.example")));
    for (Map.Entry<String, Map<String, String>> request : requests) {
      RawWsClient.Reply upgraded = upgrade(request.getKey(), request.getValue());
      if (upgraded.client() != null) upgraded.client().close();
      HttpResponse<String> checked = check(request.getKey(), request.getValue());
      String described = request.getKey() + " " + request.getValue();
      if (upgraded.status() == 101) {
        assertThat(checked.statusCode()).as(described).isEqualTo(200);
      } else {
        assertThat(checked.statusCode()).as(described).isEqualTo(upgraded.status());
        assertThat(JSON.readTree(checked.body()).path("error"))
            .as(described).isEqualTo(JSON.readTree(upgraded.body()).path("error"));
      }
    }
  }

  // ---- HTTP endpoints ----------------------------------------------------------------------------

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(TestNode.httpUri(node, path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void livenessAndReadinessAnswer200WhenTheNodeIsUp() throws Exception {
    assertThat(get("/alive").statusCode()).isEqualTo(200);
    clientKit.createTestProbe().awaitAssert(Duration.ofSeconds(15), () -> {
      assertThat(get("/ready").statusCode()).isEqualTo(200);
      return null;
    });
  }

  @Test
  void demoPageAndClientLibraryAreServed() throws Exception {
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-type").orElse("")).startsWith("text/html");
    assertThat(page.body()).contains("demo.js");
    HttpResponse<String> library = get("/parley.js");
    assertThat(library.statusCode()).isEqualTo(200);
    assertThat(library.headers().firstValue("content-type").orElse("")).contains("javascript");
    assertThat(get("/no-such-file.js").statusCode()).isEqualTo(404);
  }

  @Test
  void devTokenEndpointMintsTokensThatConnectAsTheSameUserForTheSameName() throws Exception {
    JsonNode first = devToken("{\"name\":\"  Ann Lee \"}");
    JsonNode second = devToken("{\"name\":\"Ann Lee\"}");
    assertThat(first.path("user").path("name").asText()).isEqualTo("Ann Lee");
    assertThat(first.path("user").path("id").asText()).isEqualTo("ann-lee")
        .isEqualTo(second.path("user").path("id").asText());
    assertThat(first.path("expires_in").asLong()).isEqualTo(3600);

    WSProbe probe = connect(first.path("token").asText());
    JsonNode connected = frame(probe);
    assertThat(connected.path("payload").path("user").path("id").asText()).isEqualTo("ann-lee");
    probe.sendCompletion();
    probe.expectCompletion();
  }

  @Test
  void devTokenEndpointRefusesAMissingName() throws Exception {
    HttpResponse<String> reply = HTTP.send(HttpRequest.newBuilder(TestNode.httpUri(node, "/dev/token"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"  \"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(reply.statusCode()).isEqualTo(400);
  }

  private static JsonNode devToken(String body) throws Exception {
    HttpResponse<String> reply = HTTP.send(HttpRequest.newBuilder(TestNode.httpUri(node, "/dev/token"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(reply.statusCode()).isEqualTo(200);
    return JSON.readTree(reply.body());
  }

  @Test
  void metricsCountFramesDeliveriesClosesAndRefusals() throws Exception {
    upgrade("", Map.of()); // a 401
    WSProbe ann = connect(TestTokens.token("metered-ann", "Ann"));
    WSProbe ben = connect(TestTokens.token("metered-ben", "Ben"));
    frame(ann);
    frame(ben);
    ann.sendMessage("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"metered\"}}");
    frame(ann);
    ben.sendMessage("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"metered\"}}");
    frame(ben);
    frame(ann); // user_joined
    ben.sendMessage("{\"type\":\"send_message\",\"room\":\"metered\",\"payload\":{\"content\":\"counted\"}}");
    frame(ben);
    frame(ann);
    ann.sendCompletion();
    ann.expectCompletion();
    clientKit.createTestProbe().awaitAssert(() -> {
      String metrics = get("/metrics").body();
      assertThat(metrics).contains("parley_frames_in_total{type=\"send_message\"}");
      assertThat(metrics).contains("parley_frames_out_total{type=\"new_message\"}");
      assertThat(metrics).containsPattern("parley_deliveries_total [1-9]");
      assertThat(metrics).containsPattern("parley_closes_total\\{code=\"1000\"} [1-9]");
      assertThat(metrics).containsPattern("parley_refusals_total\\{reason=\"token\",status=\"401\"} [1-9]");
      assertThat(metrics).contains("parley_broadcast_latency_seconds_count");
      assertThat(metrics).contains("parley_cluster_members{status=\"up\"} 1.0");
      assertThat(metrics).contains("jvm_memory_used_bytes");
      return null;
    });
    ben.sendCompletion();
  }

  @Test
  void adminViewShowsTheClusterInDevMode() throws Exception {
    assertThat(get("/admin").statusCode()).isEqualTo(200);
    WSProbe watched = connect(TestTokens.token("admin-watched", "Watched"));
    frame(watched);
    clientKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      JsonNode view = JSON.readTree(get("/admin/cluster").body());
      assertThat(view.path("nodes")).hasSize(1);
      JsonNode self = view.path("nodes").get(0);
      assertThat(self.path("status").asText()).isEqualTo("Up");
      assertThat(self.path("reachable").asBoolean()).isTrue();
      assertThat(self.path("address").asText()).isEqualTo(view.path("self").asText());
      assertThat(self.path("connections").asLong()).isGreaterThanOrEqualTo(1);
      return null;
    });
    watched.sendCompletion();
  }

  @Test
  void headIsAnsweredWhereverGetIs() throws Exception {
    for (String path : List.of("/", "/parley.js", "/favicon.ico", "/alive", "/ws/online")) {
      HttpResponse<String> head = HTTP.send(
          HttpRequest.newBuilder(TestNode.httpUri(node, path)).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(head.statusCode()).as("HEAD %s", path).isEqualTo(200);
      assertThat(head.body()).as("HEAD %s", path).isEmpty();
    }
    HttpResponse<String> missing = HTTP.send(
        HttpRequest.newBuilder(TestNode.httpUri(node, "/no-such-file.js")).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(missing.statusCode()).isEqualTo(404);
  }

  @Test
  void faviconIsServed() throws Exception {
    HttpResponse<byte[]> icon = HTTP.send(HttpRequest.newBuilder(TestNode.httpUri(node, "/favicon.ico")).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(icon.statusCode()).isEqualTo(200);
    assertThat(icon.headers().firstValue("content-type").orElse("")).startsWith("image/");
    assertThat(icon.body()).startsWith(0, 0, 1, 0); // an ICO file's header
  }

  @Test
  void unknownPathsAre404() throws Exception {
    assertThat(get("/nothing/here").statusCode()).isEqualTo(404);
  }
}
