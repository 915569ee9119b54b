package io.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestCluster;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The operator's caps: connections per user, rooms per node; each counted in /metrics. */
@ExtendWith(LogCapturingExtension.class)
class CapsEndToEndTest {
  private static ParleyNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.limits.max-connections-per-user = 2
        parley.limits.max-rooms-per-node = 1
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static String metrics() throws Exception {
    return TestCluster.get(node, "/metrics").body();
  }

  @Test
  void aUsersThirdConnectionIsRefusedWith503LikeAnyConnectionLimit() throws Exception {
    String token = TestTokens.token("greedy", "Greedy");
    try (WsClient first = WsClient.connected(TestNode.wsUri(node, token));
        WsClient second = WsClient.connected(TestNode.wsUri(node, token))) {
      RawWsClient.Reply third = RawWsClient.upgrade(node.port(), "/ws?token=" + token, Map.of());
      assertThat(third.status()).isEqualTo(503);
      assertThat(third.body()).isEqualTo("{\"error\":\"unavailable\"}");
      try (WsClient otherUser = WsClient.connected(TestNode.wsUri(node, TestTokens.token("modest", "M")))) {
        assertThat(otherUser.isClosed()).isFalse();
      }
      assertThat(first.isClosed() || second.isClosed()).isFalse();
    }
    assertThat(metrics()).contains("parley_refusals_total{reason=\"user_full\",status=\"503\"} 1.0");
  }

  @Test
  void aRoomStartedBeyondTheNodesRoomLimitRefusesWithTooManyRooms() throws Exception {
    try (WsClient client = WsClient.connected(TestNode.wsUri(node, TestTokens.token("roomy", "R")))) {
      client.send("{\"type\":\"join_room\",\"id\":\"a\",\"payload\":{\"room_id\":\"first-room\"}}");
      assertThat(client.expect("room_info").path("id").asText()).isEqualTo("a");
      client.send("{\"type\":\"join_room\",\"id\":\"b\",\"payload\":{\"room_id\":\"second-room\"}}");
      JsonNode refused = client.expect("error");
      assertThat(refused.path("payload").path("code").asText()).isEqualTo("TOO_MANY_ROOMS");
      assertThat(refused.path("id").asText()).isEqualTo("b");
      assertThat(refused.path("room").asText()).isEqualTo("second-room");
      // the refused join left no membership behind: the room is not the client's
      client.send("{\"type\":\"send_message\",\"id\":\"c\",\"room\":\"second-room\",\"payload\":{\"content\":\"x\"}}");
      JsonNode notIn = client.expect("error");
      assertThat(notIn.path("payload").path("code").asText()).isEqualTo("NOT_IN_ROOM");
      assertThat(notIn.path("id").asText()).isEqualTo("c");
    }
    assertThat(metrics()).containsPattern("parley_room_cap_refusals_total [1-9]");
  }
}
