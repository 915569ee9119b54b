package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.app.ParleyNode;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Admission: the connection limit, and the drain on shutdown (503 for new upgrades, 1001 for open
 * sockets). The drain ends the node, so it runs last.
 */
@ExtendWith(LogCapturingExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DrainEndToEndTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static ParleyNode node;
  private static ActorTestKit kit;
  private static CompletableFuture<Void> stopped;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.limits.max-connections = 2
        parley.shutdown.drain-delay = 3s
        """);
    kit = ActorTestKit.create("DrainEndToEndTestProbes");
  }

  @AfterAll
  static void stop() throws Exception {
    kit.shutdownTestKit();
    if (stopped == null) node.close();
    else stopped.join();
  }

  private static RawWsClient.Reply upgrade(String user) throws Exception {
    return RawWsClient.upgrade(node.port(), "/ws?token=" + TestTokens.token(user, user), Map.of());
  }

  private static void assertUnavailable(RawWsClient.Reply reply) {
    assertThat(reply.status()).isEqualTo(503);
    assertThat(reply.body()).isEqualTo("{\"error\":\"unavailable\"}");
  }

  /** POST /ws/check answers what the upgrade would: 503, and says so. */
  private static void assertCheckUnavailable() throws Exception {
    HttpResponse<String> check = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(TestNode.httpUri(node, "/ws/check?token=" + TestTokens.token("checker", "Checker")))
            .POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(check.statusCode()).isEqualTo(503);
    assertThat(check.body()).isEqualTo("{\"error\":\"unavailable\",\"reason\":\"unavailable\"}");
  }

  @Test
  @Order(1)
  void upgradesBeyondTheConnectionLimitGet503UntilASlotFrees() throws Exception {
    WsClient first = WsClient.connected(TestNode.wsUri(node, TestTokens.token("one", "One")));
    try (WsClient second = WsClient.connected(TestNode.wsUri(node, TestTokens.token("two", "Two")))) {
      assertUnavailable(upgrade("three"));
      assertCheckUnavailable();
      first.close();
      kit.createTestProbe().awaitAssert(WAIT, () -> {
        RawWsClient.Reply reply = upgrade("three");
        assertThat(reply.status()).isEqualTo(101);
        reply.client().close();
        return null;
      });
    }
  }

  @Test
  @Order(2)
  void shutdownRefusesNewUpgradesWith503AndClosesOpenSocketsWith1001() throws Exception {
    WsClient client = kit.createTestProbe().awaitAssert(WAIT,
        () -> WsClient.connected(TestNode.wsUri(node, TestTokens.token("stayer", "Stayer"))));
    stopped = CompletableFuture.runAsync(() -> {
      try {
        node.close();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });

    HttpClient http = HttpClient.newHttpClient();
    kit.createTestProbe().awaitAssert(WAIT, () -> {
      HttpResponse<String> ready = http.send(
          HttpRequest.newBuilder(TestNode.httpUri(node, "/ready")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(ready.statusCode()).as("readiness while draining").isEqualTo(503);
      return null;
    });
    assertUnavailable(upgrade("latecomer"));
    assertUnavailable(RawWsClient.request(node.port(), "GET /ws", Map.of()));
    assertCheckUnavailable();
    assertThat(client.isClosed()).as("open sockets wait for the drain delay").isFalse();

    assertThat(client.awaitClose(WAIT).code()).isEqualTo(CloseCodes.GOING_AWAY);
    stopped.join();
  }
}
