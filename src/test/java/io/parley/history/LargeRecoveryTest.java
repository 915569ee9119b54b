package io.parley.history;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Replays are never dropped by the outgoing buffer (256 frames): they go out as fast as the
 * socket takes them. A client that rejoins ten rooms after missing a thousand messages in each
 * recovers all ten thousand, every one once, each room's in order.
 */
class LargeRecoveryTest {
  private static final int ROOMS = 10;
  private static final int MISSED = 1000;
  private static ParleyNode node;

  @BeforeAll
  static void start() throws Exception {
    // the poster is a backend-like client; the rate limit is not what this test is about
    node = TestNode.start("""
        parley.limits.rate-per-second = 100000
        parley.limits.rate-burst = 100000
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static WsClient connect(String user) {
    return WsClient.connected(TestNode.wsUri(node, TestTokens.token(user, user)));
  }

  @Test
  void aClientThatMissedAThousandMessagesInTenRoomsRecoversAllTenThousand() {
    Map<String, String> epochs = new HashMap<>();
    try (WsClient reader = connect("reader")) {
      for (int room = 0; room < ROOMS; room++) {
        reader.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"big-" + room + "\"}}");
        epochs.put("big-" + room, reader.expect("room_info").path("payload").path("epoch").asText());
      }
    }
    try (WsClient poster = connect("poster")) {
      for (int room = 0; room < ROOMS; room++) {
        poster.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"big-" + room + "\"}}");
        poster.skipTo("room_info");
        for (int i = 1; i <= MISSED; i++) {
          poster.send("{\"type\":\"send_message\",\"room\":\"big-" + room + "\",\"payload\":{\"content\":\"m" + i + "\"}}");
        }
        JsonNode ack;
        do {
          ack = poster.skipTo("ack");
        } while (ack.path("payload").path("seq").asLong() < MISSED);
      }
    }
    try (WsClient reader = connect("reader")) {
      for (int room = 0; room < ROOMS; room++) {
        String id = "big-" + room;
        reader.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + id
            + "\",\"since\":{\"seq\":0,\"epoch\":\"" + epochs.get(id) + "\"}}}");
      }
      Map<String, TreeSet<Long>> recovered = new HashMap<>();
      Map<String, Long> last = new HashMap<>();
      int infos = 0;
      int messages = 0;
      while (messages < ROOMS * MISSED || infos < ROOMS) {
        JsonNode frame = reader.next();
        String type = frame.path("type").asText();
        if (type.equals("room_info")) {
          assertThat(frame.path("payload").path("recovered").asBoolean()).isTrue();
          infos++;
        } else if (type.equals("new_message")) {
          String room = frame.path("room").asText();
          long seq = frame.path("seq").asLong();
          assertThat(seq).as("%s in order", room).isEqualTo(last.getOrDefault(room, 0L) + 1);
          last.put(room, seq);
          assertThat(recovered.computeIfAbsent(room, r -> new TreeSet<>()).add(seq)).isTrue();
          messages++;
        }
      }
      assertThat(recovered).hasSize(ROOMS);
      recovered.values().forEach(seqs -> assertThat(seqs).hasSize(MISSED).first().isEqualTo(1L));
    }
  }
}
