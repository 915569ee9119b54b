package io.parley.history;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * History and recovery (docs/protocol.md) on a running node with its embedded store, through
 * real WebSocket clients: join with history, recovery with {@code since}, the {@code history}
 * request, and what survives a restart of the node.
 */
class HistoryEndToEndTest {
  private static final AtomicInteger ROOMS = new AtomicInteger();
  private static String dataDir;
  private static ParleyNode node;

  @BeforeAll
  static void start() throws Exception {
    dataDir = TestNode.dataDir();
    node = TestNode.start("parley.storage.data-dir = \"" + dataDir + "\"");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static String room() {
    return "history-" + ROOMS.incrementAndGet();
  }

  private static WsClient connect(String user) {
    return WsClient.connected(TestNode.wsUri(node, TestTokens.token(user, user)));
  }

  private static JsonNode join(WsClient client, String room, String extra) {
    client.send("{\"type\":\"join_room\",\"id\":\"j\",\"payload\":{\"room_id\":\"" + room + "\"" + extra + "}}");
    return client.expect("room_info");
  }

  /** Posts {@code count} messages and returns their acks. */
  private static List<JsonNode> post(WsClient client, String room, int count) {
    List<JsonNode> acks = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      client.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"p" + i
          + "\",\"payload\":{\"content\":\"message " + i + "\"}}");
      acks.add(client.skipTo("ack"));
    }
    return acks;
  }

  private static List<Long> seqs(List<JsonNode> messages) {
    return messages.stream().map(message -> message.path("seq").asLong()).toList();
  }

  private static List<JsonNode> frames(WsClient client, int count, String type) {
    List<JsonNode> frames = new ArrayList<>();
    for (int i = 0; i < count; i++) frames.add(client.expect(type));
    return frames;
  }

  @Test
  void roomInfoCarriesTheLatestSeqAndTheEpoch() {
    String room = room();
    try (WsClient ann = connect("ann")) {
      JsonNode first = join(ann, room, "").path("payload");
      assertThat(first.path("seq").asLong()).isZero();
      assertThat(first.path("epoch").asText()).hasSizeBetween(1, 64);
      assertThat(first.has("recovered")).isFalse();
      post(ann, room, 3);
      ann.send("{\"type\":\"leave_room\",\"id\":\"l\",\"payload\":{\"room_id\":\"" + room + "\"}}");
      ann.expect("ack");
      JsonNode again = join(ann, room, "").path("payload");
      assertThat(again.path("seq").asLong()).as("the seq survives the room emptying").isEqualTo(3);
      assertThat(again.path("epoch").asText()).isEqualTo(first.path("epoch").asText());
    }
  }

  @Test
  void joinWithHistoryReplaysTheNewestMessagesOldestFirstThenTheLiveStream() {
    String room = room();
    try (WsClient ann = connect("ann"); WsClient ben = connect("ben")) {
      join(ann, room, "");
      post(ann, room, 5);
      JsonNode info = join(ben, room, ",\"history\":3");
      assertThat(info.path("payload").path("seq").asLong()).isEqualTo(5);
      List<JsonNode> replayed = frames(ben, 3, "new_message");
      assertThat(seqs(replayed)).containsExactly(3L, 4L, 5L);
      assertThat(replayed.get(0).path("payload").path("content").asText()).isEqualTo("message 3");
      assertThat(replayed.get(0).path("sender").path("id").asText()).isEqualTo("ann");
      post(ann, room, 1);
      assertThat(ben.expect("new_message").path("seq").asLong()).as("then live, no gap").isEqualTo(6);
    }
  }

  @Test
  void sinceRecoversEveryMissedMessageExactlyOnce() {
    String room = room();
    try (WsClient ann = connect("ann")) {
      join(ann, room, "");
      String epoch;
      try (WsClient ben = connect("ben")) {
        epoch = join(ben, room, "").path("payload").path("epoch").asText();
        post(ann, room, 2);
        frames(ben, 2, "new_message");
      }
      post(ann, room, 4); // seq 3-6 while Ben is away
      try (WsClient ben = connect("ben")) {
        JsonNode info = join(ben, room, ",\"since\":{\"seq\":2,\"epoch\":\"" + epoch + "\"}");
        assertThat(info.path("payload").path("recovered").asBoolean()).isTrue();
        assertThat(seqs(frames(ben, 4, "new_message"))).containsExactly(3L, 4L, 5L, 6L);
        post(ann, room, 1);
        assertThat(ben.expect("new_message").path("seq").asLong()).isEqualTo(7);
      }
    }
  }

  @Test
  void sinceInAnotherEpochIsNotRecoveredAndReplaysTheNewestAsked() {
    String room = room();
    try (WsClient ann = connect("ann"); WsClient ben = connect("ben")) {
      join(ann, room, "");
      post(ann, room, 3);
      JsonNode info = join(ben, room, ",\"history\":2,\"since\":{\"seq\":1,\"epoch\":\"elsewhere\"}");
      assertThat(info.path("payload").path("recovered").asBoolean()).isFalse();
      assertThat(seqs(frames(ben, 2, "new_message"))).containsExactly(2L, 3L);
    }
  }

  @Test
  void sinceBeyondTheLatestSeqIsNotRecovered() {
    String room = room();
    try (WsClient ann = connect("ann")) {
      String epoch = join(ann, room, "").path("payload").path("epoch").asText();
      post(ann, room, 1);
      try (WsClient ben = connect("ben")) {
        JsonNode info = join(ben, room, ",\"since\":{\"seq\":9,\"epoch\":\"" + epoch + "\"}");
        assertThat(info.path("payload").path("recovered").asBoolean()).isFalse();
        ben.expectNoFrame(java.time.Duration.ofMillis(300));
      }
    }
  }

  @Test
  void joiningAgainAnswersRoomInfoAndReplaysNothing() {
    String room = room();
    try (WsClient ann = connect("ann")) {
      join(ann, room, "");
      post(ann, room, 2);
      JsonNode again = join(ann, room, ",\"history\":2");
      assertThat(again.path("payload").path("seq").asLong()).isEqualTo(2);
      ann.expectNoFrame(java.time.Duration.ofMillis(300));
    }
  }

  @Test
  void historyRequestReadsBackwardsForwardsAndTheNewest() {
    String room = room();
    try (WsClient ann = connect("ann")) {
      join(ann, room, "");
      post(ann, room, 8);
      ann.send("{\"type\":\"history\",\"id\":\"h1\",\"room\":\"" + room + "\",\"payload\":{\"before\":6,\"limit\":3}}");
      JsonNode before = ann.expect("history");
      assertThat(before.path("id").asText()).isEqualTo("h1");
      assertThat(before.path("payload").path("seq").asLong()).isEqualTo(8);
      List<JsonNode> messages = new ArrayList<>();
      before.path("payload").path("messages").forEach(messages::add);
      assertThat(seqs(messages)).containsExactly(3L, 4L, 5L);
      assertThat(messages.get(0).path("type").asText()).isEqualTo("new_message");

      ann.send("{\"type\":\"history\",\"id\":\"h2\",\"room\":\"" + room + "\",\"payload\":{\"after\":6}}");
      messages.clear();
      ann.expect("history").path("payload").path("messages").forEach(messages::add);
      assertThat(seqs(messages)).containsExactly(7L, 8L);

      ann.send("{\"type\":\"history\",\"id\":\"h3\",\"room\":\"" + room + "\",\"payload\":{\"limit\":2}}");
      messages.clear();
      ann.expect("history").path("payload").path("messages").forEach(messages::add);
      assertThat(seqs(messages)).containsExactly(7L, 8L);
    }
  }

  @Test
  void historyOfARoomOneIsNotInIsRefused() {
    String room = room();
    try (WsClient ann = connect("ann")) {
      ann.send("{\"type\":\"history\",\"id\":\"h\",\"room\":\"" + room + "\"}");
      assertThat(ann.expect("error").path("payload").path("code").asText()).isEqualTo("NOT_IN_ROOM");
    }
  }

  @Test
  void badHistoryAndSinceAreInvalidPayloadAndTheJoinDoesNotHappen() {
    String room = room();
    try (WsClient ann = connect("ann")) {
      for (String extra : List.of(",\"history\":101", ",\"history\":-1", ",\"history\":\"5\"",
          ",\"since\":{\"seq\":-1,\"epoch\":\"e\"}", ",\"since\":{\"seq\":1}", ",\"since\":5")) {
        ann.send("{\"type\":\"join_room\",\"id\":\"j\",\"payload\":{\"room_id\":\"" + room + "\"" + extra + "}}");
        assertThat(ann.expect("error").path("payload").path("code").asText()).as(extra).isEqualTo("INVALID_PAYLOAD");
      }
      ann.send("{\"type\":\"send_message\",\"id\":\"s\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"x\"}}");
      assertThat(ann.expect("error").path("payload").path("code").asText()).isEqualTo("NOT_IN_ROOM");
    }
  }

  @Test
  void aRestartOfTheNodeKeepsHistorySeqAndEpoch() throws Exception {
    String room = room();
    String epoch;
    try (WsClient ann = connect("ann")) {
      epoch = join(ann, room, "").path("payload").path("epoch").asText();
      post(ann, room, 3);
    }
    node.close();
    node = TestNode.start("parley.storage.data-dir = \"" + dataDir + "\"");
    try (WsClient ben = connect("ben")) {
      JsonNode info = join(ben, room, ",\"history\":10").path("payload");
      assertThat(info.path("epoch").asText()).isEqualTo(epoch);
      assertThat(info.path("seq").asLong()).isEqualTo(3);
      assertThat(seqs(frames(ben, 3, "new_message"))).containsExactly(1L, 2L, 3L);
      List<JsonNode> acks = post(ben, room, 1);
      assertThat(acks.get(0).path("payload").path("seq").asLong()).as("no seq is reused").isEqualTo(4);
    }
  }
}
