package io.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.app.ParleyNode;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestCluster;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.Kill;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node that admits two upgrades and then one every 100 seconds: a storm beyond the connect rate
 * is refused with 503 and Retry-After before its tokens are checked; and {@code /ws/online}
 * without its tracker answers 503, not 500.
 */
@ExtendWith(LogCapturingExtension.class)
class AdmissionEndToEndTest {
  private static ParleyNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.limits.max-connect-rate = 0.01
        parley.limits.connect-burst = 2
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void upgradesBeyondTheConnectRateGet503WithRetryAfterBeforeTheTokenCheck() throws Exception {
    String token = TestTokens.token("stormy", "Stormy");
    RawWsClient.Reply first = RawWsClient.upgrade(node.port(), "/ws?token=" + token, Map.of());
    RawWsClient.Reply badToken = RawWsClient.upgrade(node.port(), "/ws?token=forged", Map.of());
    assertThat(first.status()).isEqualTo(101);
    assertThat(badToken.status()).as("within the burst: on to the token check").isEqualTo(401);

    RawWsClient.Reply refused = RawWsClient.upgrade(node.port(), "/ws?token=" + token, Map.of());
    assertThat(refused.status()).isEqualTo(503);
    assertThat(refused.body()).isEqualTo("{\"error\":\"unavailable\"}");
    long retryAfter = Long.parseLong(refused.headers().get("retry-after"));
    assertThat(retryAfter).isBetween(1L, 60L);
    RawWsClient.Reply forged = RawWsClient.upgrade(node.port(), "/ws?token=forged", Map.of());
    assertThat(forged.status()).as("refused before the token is looked at").isEqualTo(503);
    assertThat(Long.parseLong(forged.headers().get("retry-after"))).isGreaterThanOrEqualTo(retryAfter);

    first.client().close();
    assertThat(TestCluster.get(node, "/metrics").body())
        .contains("parley_refusals_total{reason=\"connect_rate\",status=\"503\"} 2.0");
    assertThat(TestCluster.get(node, "/ready").statusCode()).as("readiness takes no token").isEqualTo(200);
  }

  @Test
  void onlineCountAnswers503NotA500WhenItsTrackerIsGone() throws Exception {
    assertThat(TestCluster.get(node, "/ws/online").statusCode()).isEqualTo(200);
    node.system().classicSystem().actorSelection("/user/online").tell(Kill.getInstance(), null);
    ActorTestKit.create(node.system()).createTestProbe().awaitAssert(Duration.ofSeconds(15), () -> {
      HttpResponse<String> online = TestCluster.get(node, "/ws/online");
      assertThat(online.statusCode()).isEqualTo(503);
      assertThat(online.body()).isEqualTo("{\"error\":\"unavailable\"}");
      return null;
    });
  }
}
