package io.parley.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The shape of every frame in docs/protocol.md's "Server frames", field for field. */
class ServerFramesTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TIMESTAMP = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";
  private static final User ANN = new User("u1", "Ann");
  private static final User BOB = new User("u2", "Bob");
  private static final RequestId STRING_ID = new RequestId("\"c-17\"");
  private static final RequestId NUMBER_ID = new RequestId("17");

  private static JsonNode parse(byte[] frame) {
    try {
      return JSON.readTree(frame);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Set<String> fields(JsonNode node) {
    Set<String> names = new TreeSet<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static void assertUser(JsonNode node, User user) {
    assertThat(fields(node)).containsExactlyInAnyOrder("id", "name");
    assertThat(node.get("id").textValue()).isEqualTo(user.id());
    assertThat(node.get("name").textValue()).isEqualTo(user.name());
  }

  private static List<byte[]> everyKindOfFrame() {
    List<byte[]> frames = new ArrayList<>();
    frames.add(ServerFrames.connected("conn-1", ANN, "node-a"));
    frames.add(ServerFrames.newMessage("general", "m-1", 1, ANN, "hi", null));
    frames.add(ServerFrames.presence(true, "general", ANN));
    frames.add(ServerFrames.presence(false, "general", ANN));
    frames.add(ServerFrames.userTyping("general", ANN, true));
    frames.add(ServerFrames.roomInfo("general", STRING_ID, List.of(ANN), 3, "e-1", true));
    frames.add(ServerFrames.history(STRING_ID, "general", "e-1", 3, List.of(ServerFrames.newMessage("general", "m-1", 1, ANN, "hi", null))));
    frames.add(ServerFrames.onlineUsers("general", null, List.of(ANN)));
    frames.add(ServerFrames.ack(STRING_ID, "general"));
    frames.add(ServerFrames.messageAck(STRING_ID, "general", "m-1", 1));
    frames.add(ServerFrames.error(null, null, ErrorCode.INVALID_FORMAT, "bad"));
    frames.add(ServerFrames.pong(null));
    return frames;
  }

  @Test
  void connectedCarriesConnectionIdUserAndNode() {
    JsonNode frame = parse(ServerFrames.connected("conn-1", ANN, "node-a"));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("connected");
    JsonNode payload = frame.get("payload");
    assertThat(fields(payload)).containsExactlyInAnyOrder("connection_id", "user", "node");
    assertThat(payload.get("connection_id").textValue()).isEqualTo("conn-1");
    assertUser(payload.get("user"), ANN);
    assertThat(payload.get("node").textValue()).isEqualTo("node-a");
  }

  @Test
  void newMessageCarriesRoomPayloadSenderIdSeqAndTimestamp() {
    JsonNode frame = parse(ServerFrames.newMessage("general", "m-1", 42, ANN, "Hello!", null));
    assertThat(fields(frame))
        .containsExactlyInAnyOrder("type", "room", "payload", "sender", "id", "seq", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("new_message");
    assertThat(frame.get("room").textValue()).isEqualTo("general");
    assertThat(frame.get("id").textValue()).isEqualTo("m-1");
    assertThat(frame.get("seq").isIntegralNumber()).isTrue();
    assertThat(frame.get("seq").longValue()).isEqualTo(42);
    assertUser(frame.get("sender"), ANN);
    assertThat(fields(frame.get("payload"))).containsExactly("content");
    assertThat(frame.get("payload").get("content").textValue()).isEqualTo("Hello!");
  }

  @Test
  void newMessageCarriesReplyToOnlyWhenGiven() {
    JsonNode reply = parse(ServerFrames.newMessage("general", "m-2", 2, BOB, "yes", "m-1"));
    assertThat(fields(reply.get("payload"))).containsExactlyInAnyOrder("content", "reply_to");
    assertThat(reply.get("payload").get("reply_to").textValue()).isEqualTo("m-1");
    JsonNode plain = parse(ServerFrames.newMessage("general", "m-3", 3, BOB, "no", null));
    assertThat(plain.get("payload").has("reply_to")).isFalse();
  }

  @Test
  void newMessageContentSurvivesEscapingAndNonAscii() {
    String content = "quote \" backslash \\ newline \n tab \t caf\u00e9 \u2713 \uD83D\uDE00 </script>";
    JsonNode frame = parse(ServerFrames.newMessage("general", "m-1", 1, new User("u\"1", "Zo\u00eb"), content, null));
    assertThat(frame.get("payload").get("content").textValue()).isEqualTo(content);
    assertUser(frame.get("sender"), new User("u\"1", "Zo\u00eb"));
  }

  @Test
  void userJoinedCarriesTheUserAsSenderAndPayload() {
    JsonNode frame = parse(ServerFrames.presence(true, "general", ANN));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "room", "sender", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("user_joined");
    assertThat(frame.get("room").textValue()).isEqualTo("general");
    assertUser(frame.get("sender"), ANN);
    assertUser(frame.get("payload"), ANN);
  }

  @Test
  void userLeftCarriesTheUserAsSenderAndPayload() {
    JsonNode frame = parse(ServerFrames.presence(false, "general", BOB));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "room", "sender", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("user_left");
    assertThat(frame.get("room").textValue()).isEqualTo("general");
    assertUser(frame.get("sender"), BOB);
    assertUser(frame.get("payload"), BOB);
  }

  @Test
  void userTypingCarriesRoomIdAndTypingFlag() {
    JsonNode typing = parse(ServerFrames.userTyping("general", ANN, true));
    assertThat(fields(typing)).containsExactlyInAnyOrder("type", "room", "sender", "payload", "timestamp");
    assertThat(typing.get("type").textValue()).isEqualTo("user_typing");
    assertThat(typing.get("room").textValue()).isEqualTo("general");
    assertUser(typing.get("sender"), ANN);
    assertThat(fields(typing.get("payload"))).containsExactlyInAnyOrder("room_id", "typing");
    assertThat(typing.get("payload").get("room_id").textValue()).isEqualTo("general");
    assertThat(typing.get("payload").get("typing").isBoolean()).isTrue();
    assertThat(typing.get("payload").get("typing").booleanValue()).isTrue();

    JsonNode stopped = parse(ServerFrames.userTyping("general", ANN, false));
    assertThat(stopped.get("type").textValue()).isEqualTo("user_typing");
    assertThat(stopped.get("payload").get("typing").isBoolean()).isTrue();
    assertThat(stopped.get("payload").get("typing").booleanValue()).isFalse();
  }

  @Test
  void roomInfoListsUsersWithCountTheLatestSeqAndTheEpochAndEchoesTheId() {
    JsonNode frame = parse(ServerFrames.roomInfo("general", STRING_ID, List.of(ANN, BOB), 42, "e-7", null));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "room", "id", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("room_info");
    assertThat(frame.get("room").textValue()).isEqualTo("general");
    assertThat(frame.get("id").textValue()).isEqualTo("c-17");
    JsonNode payload = frame.get("payload");
    assertThat(fields(payload)).containsExactlyInAnyOrder("room_id", "users", "count", "seq", "epoch");
    assertThat(payload.get("seq").isIntegralNumber()).isTrue();
    assertThat(payload.get("seq").longValue()).isEqualTo(42);
    assertThat(payload.get("epoch").textValue()).isEqualTo("e-7");
    assertThat(payload.get("room_id").textValue()).isEqualTo("general");
    assertThat(payload.get("users").isArray()).isTrue();
    assertThat(payload.get("users")).hasSize(2);
    assertUser(payload.get("users").get(0), ANN);
    assertUser(payload.get("users").get(1), BOB);
    assertThat(payload.get("count").isIntegralNumber()).isTrue();
    assertThat(payload.get("count").intValue()).isEqualTo(2);
  }

  @Test
  void roomInfoSaysWhetherItRecoveredOnlyWhenTheJoinAskedTo() {
    assertThat(parse(ServerFrames.roomInfo("general", null, List.of(), 0, "e", true)).at("/payload/recovered").asBoolean()).isTrue();
    assertThat(parse(ServerFrames.roomInfo("general", null, List.of(), 0, "e", false)).at("/payload/recovered").isBoolean()).isTrue();
    assertThat(parse(ServerFrames.roomInfo("general", null, List.of(), 0, "e", null)).get("payload").has("recovered")).isFalse();
  }

  @Test
  void historyCarriesEpochLatestSeqAndTheMessagesAsTheyWereDelivered() {
    byte[] first = ServerFrames.newMessage("general", "m-1", 1, ANN, "one", null);
    byte[] second = ServerFrames.newMessage("general", "m-2", 2, BOB, "two", "m-1");
    JsonNode frame = parse(ServerFrames.history(STRING_ID, "general", "e-7", 5, List.of(first, second)));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "room", "id", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("history");
    assertThat(frame.get("id").textValue()).isEqualTo("c-17");
    JsonNode payload = frame.get("payload");
    assertThat(fields(payload)).containsExactlyInAnyOrder("room_id", "epoch", "seq", "messages");
    assertThat(payload.get("epoch").textValue()).isEqualTo("e-7");
    assertThat(payload.get("seq").longValue()).isEqualTo(5);
    assertThat(payload.get("messages")).hasSize(2);
    assertThat(payload.get("messages").get(0)).isEqualTo(parse(first));
    assertThat(payload.get("messages").get(1)).isEqualTo(parse(second));
  }

  @Test
  void onlineUsersListsTheDistinctUsersUnderItsOwnType() {
    JsonNode frame = parse(ServerFrames.onlineUsers("general", NUMBER_ID, List.of(BOB)));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "room", "id", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("online_users");
    assertThat(frame.get("id").isIntegralNumber()).isTrue();
    assertThat(frame.get("id").intValue()).isEqualTo(17);
    JsonNode payload = frame.get("payload");
    assertThat(fields(payload)).containsExactlyInAnyOrder("room_id", "users", "count");
    assertThat(payload.get("users")).hasSize(1);
    assertUser(payload.get("users").get(0), BOB);
    assertThat(payload.get("count").intValue()).isEqualTo(1);
  }

  @Test
  void emptyUserListIsAnEmptyArrayWithCountZero() {
    JsonNode payload = parse(ServerFrames.onlineUsers("general", null, List.of())).get("payload");
    assertThat(payload.get("users").isArray()).isTrue();
    assertThat(payload.get("users")).isEmpty();
    assertThat(payload.get("count").intValue()).isZero();
  }

  @Test
  void ackCarriesIdAndRoomOnly() {
    JsonNode frame = parse(ServerFrames.ack(STRING_ID, "general"));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "id", "room", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("ack");
    assertThat(frame.get("id").textValue()).isEqualTo("c-17");
    assertThat(frame.get("room").textValue()).isEqualTo("general");
  }

  @Test
  void sendMessageAckCarriesMessageIdAndSeq() {
    JsonNode frame = parse(ServerFrames.messageAck(STRING_ID, "general", "m-9", 9));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "id", "room", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("ack");
    assertThat(frame.get("id").textValue()).isEqualTo("c-17");
    assertThat(frame.get("room").textValue()).isEqualTo("general");
    assertThat(fields(frame.get("payload"))).containsExactlyInAnyOrder("message_id", "seq");
    assertThat(frame.get("payload").get("message_id").textValue()).isEqualTo("m-9");
    assertThat(frame.get("payload").get("seq").isIntegralNumber()).isTrue();
    assertThat(frame.get("payload").get("seq").longValue()).isEqualTo(9);
  }

  @Test
  void errorCarriesCodeMessageIdAndRoom() {
    JsonNode frame = parse(ServerFrames.error(STRING_ID, "general", ErrorCode.NOT_IN_ROOM, "join first"));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "id", "room", "payload", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("error");
    assertThat(frame.get("id").textValue()).isEqualTo("c-17");
    assertThat(frame.get("room").textValue()).isEqualTo("general");
    assertThat(fields(frame.get("payload"))).containsExactlyInAnyOrder("code", "message");
    assertThat(frame.get("payload").get("code").textValue()).isEqualTo("NOT_IN_ROOM");
    assertThat(frame.get("payload").get("message").textValue()).isEqualTo("join first");
  }

  @Test
  void errorWithoutIdOrRoomHasNeitherField() {
    JsonNode frame = parse(ServerFrames.error(null, null, ErrorCode.INVALID_FORMAT, "not JSON"));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "payload", "timestamp");
    assertThat(frame.get("payload").get("code").textValue()).isEqualTo("INVALID_FORMAT");
  }

  @Test
  void everyErrorCodeIsWrittenByItsName() {
    for (ErrorCode code : ErrorCode.values()) {
      JsonNode frame = parse(ServerFrames.error(null, null, code, "m"));
      assertThat(frame.get("payload").get("code").textValue()).isEqualTo(code.name());
    }
    assertThat(ErrorCode.values()).extracting(ErrorCode::name).containsExactlyInAnyOrder(
        "INVALID_FORMAT", "UNKNOWN_TYPE", "INVALID_PAYLOAD", "MISSING_ROOM", "INVALID_ROOM",
        "NOT_IN_ROOM", "TOO_MANY_ROOMS", "RATE_LIMITED", "UNAVAILABLE", "INTERNAL");
  }

  @Test
  void pongEchoesTheIdAndNothingElse() {
    JsonNode frame = parse(ServerFrames.pong(STRING_ID));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "id", "timestamp");
    assertThat(frame.get("type").textValue()).isEqualTo("pong");
    assertThat(frame.get("id").textValue()).isEqualTo("c-17");
  }

  @Test
  void pongWithoutIdHasNoIdField() {
    JsonNode frame = parse(ServerFrames.pong(null));
    assertThat(fields(frame)).containsExactlyInAnyOrder("type", "timestamp");
  }

  @Test
  void numericIdIsEchoedAsANumber() {
    for (byte[] bytes : List.of(
        ServerFrames.pong(NUMBER_ID),
        ServerFrames.ack(NUMBER_ID, "general"),
        ServerFrames.messageAck(NUMBER_ID, "general", "m-1", 1),
        ServerFrames.error(NUMBER_ID, null, ErrorCode.RATE_LIMITED, "slow down"),
        ServerFrames.roomInfo("general", NUMBER_ID, List.of(ANN), 0, "e", null))) {
      JsonNode id = parse(bytes).get("id");
      assertThat(id.isIntegralNumber()).as(new String(bytes)).isTrue();
      assertThat(id.longValue()).isEqualTo(17);
    }
  }

  @Test
  void stringIdIsEchoedExactly() {
    RequestId tricky = new RequestId("\"a\\\"b \u00e9\"");
    JsonNode id = parse(ServerFrames.pong(tricky)).get("id");
    assertThat(id.isTextual()).isTrue();
    assertThat(id.textValue()).isEqualTo("a\"b \u00e9");
  }

  @Test
  void idDecodedFromAClientFrameIsEchoedUnchanged() {
    ClientRequest request = RequestDecoder.decode("{\"type\":\"ping\",\"id\":9007199254740993}");
    JsonNode id = parse(ServerFrames.pong(request.id())).get("id");
    assertThat(id.isIntegralNumber()).isTrue();
    assertThat(id.longValue()).isEqualTo(9007199254740993L);
  }

  @Test
  void everyServerFrameHasATypeAndAnRfc3339UtcTimestampWithMillis() {
    Instant before = Instant.now().minus(Duration.ofSeconds(1));
    for (byte[] bytes : everyKindOfFrame()) {
      JsonNode frame = parse(bytes);
      assertThat(frame.get("type").isTextual()).isTrue();
      String timestamp = frame.get("timestamp").textValue();
      assertThat(timestamp).as(frame.get("type").textValue()).matches(TIMESTAMP);
      assertThat(Instant.parse(timestamp)).isBetween(before, Instant.now().plusSeconds(1));
    }
  }

  @Test
  void timestampsAlwaysShowThreeDigitsOfMillisecondsInUtc() {
    assertThat(Timestamps.format(Instant.parse("2026-11-25T10:00:00Z")))
        .isEqualTo("2026-11-25T10:00:00.000Z");
    assertThat(Timestamps.format(Instant.parse("2026-11-25T10:00:00.123456789Z")))
        .isEqualTo("2026-11-25T10:00:00.123Z");
    assertThat(Timestamps.format(Instant.parse("2026-01-02T03:04:05.006Z")))
        .isEqualTo("2026-01-02T03:04:05.006Z");
  }

  @Test
  void framesAreSingleUtf8JsonObjects() {
    for (byte[] bytes : everyKindOfFrame()) {
      assertThat(parse(bytes).isObject()).isTrue();
    }
    byte[] bytes = ServerFrames.newMessage("general", "m-1", 1, ANN, "\u2713", null);
    assertThat(new String(bytes, java.nio.charset.StandardCharsets.UTF_8)).contains("\u2713");
  }
}
