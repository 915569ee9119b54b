package io.parley.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.parley.protocol.ClientRequest.Invalid;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every decode rule of docs/protocol.md ("Frames", "Requests and replies", "Errors"). */
class RequestDecoderTest {

  private static final RequestId C17 = new RequestId("\"c-17\"");

  private static ClientRequest decode(String json) {
    return RequestDecoder.decode(json);
  }

  /** The frame must be refused with this code; returns the refusal for further checks. */
  private static Invalid assertInvalid(String json, ErrorCode code) {
    ClientRequest request = decode(json);
    assertThat(request).as(json).isInstanceOf(Invalid.class);
    Invalid invalid = (Invalid) request;
    assertThat(invalid.code()).as(json).isEqualTo(code);
    assertThat(invalid.message()).as(json).isNotBlank();
    return invalid;
  }

  private static String repeat(char c, int n) {
    return String.valueOf(c).repeat(n);
  }

  // --- envelope: INVALID_FORMAT ---

  @Test
  void textThatIsNotJsonIsInvalidFormat() {
    assertInvalid("{\"type\":\"ping\"", ErrorCode.INVALID_FORMAT);
    assertInvalid("hello", ErrorCode.INVALID_FORMAT);
  }

  @Test
  void objectFollowedByMoreTextIsInvalidFormat() {
    // one frame is one JSON object: "{...} tail" and two objects in a row are not JSON
    assertInvalid("{\"type\":\"ping\",\"id\":\"p\"} trailing", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":\"ping\"}{\"type\":\"ping\"}", ErrorCode.INVALID_FORMAT);
  }

  @Test
  void emptyFrameIsInvalidFormat() {
    assertInvalid("", ErrorCode.INVALID_FORMAT);
  }

  @Test
  void jsonThatIsNotAnObjectIsInvalidFormat() {
    assertInvalid("[{\"type\":\"ping\"}]", ErrorCode.INVALID_FORMAT);
    assertInvalid("\"ping\"", ErrorCode.INVALID_FORMAT);
    assertInvalid("42", ErrorCode.INVALID_FORMAT);
    assertInvalid("null", ErrorCode.INVALID_FORMAT);
  }

  @Test
  void frameWithoutTypeIsInvalidFormatAndKeepsItsId() {
    Invalid invalid = assertInvalid("{\"id\":\"c-17\",\"room\":\"general\"}", ErrorCode.INVALID_FORMAT);
    assertThat(invalid.id()).isEqualTo(C17);
  }

  @Test
  void typeThatIsNotANonEmptyStringIsInvalidFormat() {
    assertInvalid("{\"type\":7}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":\"\"}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":null}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":{\"name\":\"ping\"}}", ErrorCode.INVALID_FORMAT);
  }

  @Test
  void unknownTypeIsUnknownTypeWithIdAndRoom() {
    Invalid invalid = assertInvalid(
        "{\"type\":\"shout\",\"id\":\"c-17\",\"room\":\"general\"}", ErrorCode.UNKNOWN_TYPE);
    assertThat(invalid.id()).isEqualTo(C17);
    assertThat(invalid.room()).isEqualTo("general");
  }

  @Test
  void typeIsCaseSensitive() {
    assertInvalid("{\"type\":\"PING\"}", ErrorCode.UNKNOWN_TYPE);
  }

  // --- ids ---

  @Test
  void stringIdIsKeptExactlyAsJson() {
    assertThat(decode("{\"type\":\"ping\",\"id\":\"c-17\"}"))
        .isEqualTo(new ClientRequest.Ping(new RequestId("\"c-17\"")));
  }

  @Test
  void stringIdWithEscapesIsKeptAsValidJson() {
    ClientRequest request = decode("{\"type\":\"ping\",\"id\":\"a\\\"b\"}");
    assertThat(request.id()).isEqualTo(new RequestId("\"a\\\"b\""));
  }

  @Test
  void integerIdIsKeptAsANumber() {
    assertThat(decode("{\"type\":\"ping\",\"id\":17}"))
        .isEqualTo(new ClientRequest.Ping(new RequestId("17")));
    assertThat(decode("{\"type\":\"ping\",\"id\":-3}").id()).isEqualTo(new RequestId("-3"));
    assertThat(decode("{\"type\":\"ping\",\"id\":0}").id()).isEqualTo(new RequestId("0"));
  }

  @Test
  void nullOrAbsentIdMeansNoId() {
    assertThat(decode("{\"type\":\"ping\"}")).isEqualTo(new ClientRequest.Ping(null));
    assertThat(decode("{\"type\":\"ping\",\"id\":null}")).isEqualTo(new ClientRequest.Ping(null));
  }

  @Test
  void idThatIsNeitherStringNorIntegerIsInvalidFormat() {
    assertInvalid("{\"type\":\"ping\",\"id\":1.5}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":\"ping\",\"id\":true}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":\"ping\",\"id\":{\"n\":1}}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":\"ping\",\"id\":[1]}", ErrorCode.INVALID_FORMAT);
  }

  @Test
  void integerIdBeyondLongIsInvalidFormat() {
    assertInvalid("{\"type\":\"ping\",\"id\":123456789012345678901234567890}",
        ErrorCode.INVALID_FORMAT);
  }

  @Test
  void stringIdOf128CharactersIsAcceptedAnd129IsInvalidFormat() {
    String ok = repeat('i', RequestDecoder.MAX_ID_LENGTH);
    assertThat(decode("{\"type\":\"ping\",\"id\":\"" + ok + "\"}"))
        .isEqualTo(new ClientRequest.Ping(new RequestId("\"" + ok + "\"")));
    assertInvalid("{\"type\":\"ping\",\"id\":\"" + ok + "i\"}", ErrorCode.INVALID_FORMAT);
  }

  @Test
  void stringIdWithAnUnpairedSurrogateIsInvalidFormatAndAPairIsKept() {
    // replies echo the id as raw JSON: "\ud800" alone cannot be written as UTF-8
    assertInvalid("{\"type\":\"ping\",\"id\":\"\\ud800\"}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":\"ping\",\"id\":\"a\\udc00b\"}", ErrorCode.INVALID_FORMAT);
    assertInvalid("{\"type\":\"ping\",\"id\":\"\\ude00\\ud83d\"}", ErrorCode.INVALID_FORMAT);
    ClientRequest pair = decode("{\"type\":\"ping\",\"id\":\"\\ud83d\\ude00\"}");
    assertThat(pair).isInstanceOf(ClientRequest.Ping.class);
    assertThatCode(() -> ServerFrames.pong(pair.id())).doesNotThrowAnyException();
  }

  // --- join_room / leave_room ---

  @Test
  void joinRoomNamesItsRoomInPayloadRoomId() {
    assertThat(decode("{\"type\":\"join_room\",\"id\":\"c-17\",\"payload\":{\"room_id\":\"general\"}}"))
        .isEqualTo(new ClientRequest.JoinRoom(C17, "general"));
  }

  @Test
  void joinFrameWithAnEmptyRoomAsTheGoHubFormatSendsDecodesToJoinRoom() {
    assertThat(decode("{\"type\":\"join_room\",\"room\":\"\",\"payload\":{\"room_id\":\"general\"}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general"));
  }

  @Test
  void leaveFrameWithAnEmptyRoomAsTheGoHubFormatSendsDecodesToLeaveRoom() {
    assertThat(decode("{\"type\":\"leave_room\",\"room\":\"\",\"payload\":{\"room_id\":\"general\"}}"))
        .isEqualTo(new ClientRequest.LeaveRoom(null, "general"));
  }

  @Test
  void joinRoomWithoutPayloadRoomIdIsInvalidPayload() {
    Invalid invalid = assertInvalid("{\"type\":\"join_room\",\"id\":\"c-17\"}", ErrorCode.INVALID_PAYLOAD);
    assertThat(invalid.id()).isEqualTo(C17);
    assertInvalid("{\"type\":\"join_room\",\"payload\":{}}", ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"\"}}", ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"join_room\",\"payload\":{\"room_id\":5}}", ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"join_room\",\"payload\":{\"room_id\":null}}", ErrorCode.INVALID_PAYLOAD);
  }

  @Test
  void joinRoomWithOnlyTheEnvelopeRoomIsInvalidPayload() {
    assertInvalid("{\"type\":\"join_room\",\"room\":\"general\"}", ErrorCode.INVALID_PAYLOAD);
  }

  @Test
  void leaveRoomWithoutPayloadRoomIdIsInvalidPayload() {
    assertInvalid("{\"type\":\"leave_room\",\"room\":\"general\"}", ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"leave_room\",\"payload\":{\"room_id\":\"\"}}", ErrorCode.INVALID_PAYLOAD);
  }

  @Test
  void leaveRoomNamesItsRoomInPayloadRoomId() {
    assertThat(decode("{\"type\":\"leave_room\",\"id\":7,\"payload\":{\"room_id\":\"general\"}}"))
        .isEqualTo(new ClientRequest.LeaveRoom(new RequestId("7"), "general"));
  }

  @Test
  void joinRoomWithAMalformedRoomIdIsInvalidRoom() {
    Invalid invalid = assertInvalid(
        "{\"type\":\"join_room\",\"id\":\"c-17\",\"payload\":{\"room_id\":\"my room\"}}",
        ErrorCode.INVALID_ROOM);
    assertThat(invalid.id()).isEqualTo(C17);
    assertThat(invalid.room()).isEqualTo("my room");
    assertInvalid("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + repeat('r', 65) + "\"}}",
        ErrorCode.INVALID_ROOM);
  }

  @Test
  void leaveRoomWithAMalformedRoomIdIsInvalidRoom() {
    assertInvalid("{\"type\":\"leave_room\",\"payload\":{\"room_id\":\"a/b\"}}", ErrorCode.INVALID_ROOM);
  }

  // --- send_message ---

  @Test
  void sendMessageDecodesRoomContentAndId() {
    assertThat(decode("{\"type\":\"send_message\",\"id\":\"c-17\",\"room\":\"general\","
            + "\"payload\":{\"content\":\"Hello!\"}}"))
        .isEqualTo(new ClientRequest.SendMessage(C17, "general", "Hello!", null));
  }

  @Test
  void sendMessageWithoutRoomIsMissingRoom() {
    Invalid invalid = assertInvalid(
        "{\"type\":\"send_message\",\"id\":\"c-17\",\"payload\":{\"content\":\"hi\"}}",
        ErrorCode.MISSING_ROOM);
    assertThat(invalid.id()).isEqualTo(C17);
    assertInvalid("{\"type\":\"send_message\",\"room\":null,\"payload\":{\"content\":\"hi\"}}",
        ErrorCode.MISSING_ROOM);
  }

  @Test
  void sendMessageWithEmptyRoomCountsAsMissingRoom() {
    assertInvalid("{\"type\":\"send_message\",\"room\":\"\",\"payload\":{\"content\":\"hi\"}}",
        ErrorCode.MISSING_ROOM);
  }

  @Test
  void roomOf64CharactersIsAcceptedAnd65IsInvalidRoom() {
    String ok = repeat('r', 64);
    assertThat(decode("{\"type\":\"send_message\",\"room\":\"" + ok + "\",\"payload\":{\"content\":\"hi\"}}"))
        .isEqualTo(new ClientRequest.SendMessage(null, ok, "hi", null));
    assertInvalid("{\"type\":\"send_message\",\"room\":\"" + ok + "r\",\"payload\":{\"content\":\"hi\"}}",
        ErrorCode.INVALID_ROOM);
  }

  @Test
  void roomMayUseLettersDigitsAndUnderscoreDotColonDash() {
    String room = "Team_1.ops:eu-WEST-9";
    assertThat(decode("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"hi\"}}"))
        .isEqualTo(new ClientRequest.SendMessage(null, room, "hi", null));
  }

  @Test
  void roomWithASpaceOrOtherCharacterIsInvalidRoom() {
    for (String room : new String[] {"my room", " general", "a/b", "caf\u00e9", "a#b", "a\\tb"}) {
      Invalid invalid = assertInvalid(
          "{\"type\":\"send_message\",\"id\":\"c-17\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"hi\"}}",
          ErrorCode.INVALID_ROOM);
      assertThat(invalid.id()).isEqualTo(C17);
    }
  }

  @Test
  void roomThatIsNotAStringIsInvalidRoom() {
    assertInvalid("{\"type\":\"send_message\",\"room\":5,\"payload\":{\"content\":\"hi\"}}",
        ErrorCode.INVALID_ROOM);
  }

  @Test
  void everyErrorClipsTheEchoedRoomToTheMaximumLength() {
    String longRoom = "r".repeat(500);
    Invalid unknown = assertInvalid("{\"type\":\"fly\",\"room\":\"" + longRoom + "\"}", ErrorCode.UNKNOWN_TYPE);
    assertThat(unknown.room()).hasSize(RoomIds.MAX_LENGTH + 1).startsWith("rrr").endsWith("…");
  }

  @Test
  void invalidRoomInAnErrorIsClippedToTheMaximumLength() {
    Invalid invalid = assertInvalid(
        "{\"type\":\"send_message\",\"room\":\"" + repeat('r', 1000) + "\",\"payload\":{\"content\":\"hi\"}}",
        ErrorCode.INVALID_ROOM);
    assertThat(invalid.room()).startsWith(repeat('r', 64)).hasSizeLessThanOrEqualTo(65);
  }

  @Test
  void sendMessageWithoutNonEmptyStringContentIsInvalidPayload() {
    Invalid invalid = assertInvalid(
        "{\"type\":\"send_message\",\"id\":\"c-17\",\"room\":\"general\",\"payload\":{}}",
        ErrorCode.INVALID_PAYLOAD);
    assertThat(invalid.id()).isEqualTo(C17);
    assertThat(invalid.room()).isEqualTo("general");
    assertInvalid("{\"type\":\"send_message\",\"room\":\"general\"}", ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"send_message\",\"room\":\"general\",\"payload\":{\"content\":\"\"}}",
        ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"send_message\",\"room\":\"general\",\"payload\":{\"content\":42}}",
        ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"send_message\",\"room\":\"general\",\"payload\":{\"content\":{\"text\":\"hi\"}}}",
        ErrorCode.INVALID_PAYLOAD);
  }

  @Test
  void sendMessageKeepsReplyTo() {
    assertThat(decode("{\"type\":\"send_message\",\"room\":\"general\","
            + "\"payload\":{\"content\":\"yes\",\"reply_to\":\"m-1\"}}"))
        .isEqualTo(new ClientRequest.SendMessage(null, "general", "yes", "m-1"));
    assertThat(decode("{\"type\":\"send_message\",\"room\":\"general\","
            + "\"payload\":{\"content\":\"yes\",\"reply_to\":null}}"))
        .isEqualTo(new ClientRequest.SendMessage(null, "general", "yes", null));
  }

  @Test
  void replyToThatIsNotAStringIsInvalidPayload() {
    assertInvalid("{\"type\":\"send_message\",\"room\":\"general\","
        + "\"payload\":{\"content\":\"yes\",\"reply_to\":12}}", ErrorCode.INVALID_PAYLOAD);
  }

  @Test
  void payloadSentAsAJsonEncodedStringIsInvalidPayload() {
    Invalid invalid = assertInvalid("{\"type\":\"send_message\",\"id\":\"c-17\",\"room\":\"general\","
        + "\"payload\":\"{\\\"content\\\":\\\"hi\\\"}\"}", ErrorCode.INVALID_PAYLOAD);
    assertThat(invalid.id()).isEqualTo(C17);
    assertThat(invalid.room()).isEqualTo("general");
    assertInvalid("{\"type\":\"join_room\",\"payload\":\"{\\\"room_id\\\":\\\"general\\\"}\"}",
        ErrorCode.INVALID_PAYLOAD);
    // where the payload is optional, a string payload is refused rather than ignored
    assertInvalid("{\"type\":\"typing\",\"room\":\"general\",\"payload\":\"{}\"}", ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"ping\",\"payload\":\"{}\"}", ErrorCode.INVALID_PAYLOAD);
  }

  @Test
  void payloadThatIsAnArrayOrNumberIsInvalidPayload() {
    assertInvalid("{\"type\":\"send_message\",\"room\":\"general\",\"payload\":[\"hi\"]}",
        ErrorCode.INVALID_PAYLOAD);
    assertInvalid("{\"type\":\"typing\",\"room\":\"general\",\"payload\":1}", ErrorCode.INVALID_PAYLOAD);
  }

  // --- typing / stop_typing / online_users ---

  @Test
  void typingAcceptsRoomOrPayloadRoomId() {
    assertThat(decode("{\"type\":\"typing\",\"room\":\"general\"}"))
        .isEqualTo(new ClientRequest.Typing(null, "general", true));
    assertThat(decode("{\"type\":\"typing\",\"payload\":{\"room_id\":\"general\"}}"))
        .isEqualTo(new ClientRequest.Typing(null, "general", true));
    assertThat(decode("{\"type\":\"typing\",\"room\":\"\",\"payload\":{\"room_id\":\"general\"}}"))
        .isEqualTo(new ClientRequest.Typing(null, "general", true));
  }

  @Test
  void stopTypingDecodesToTypingFalse() {
    assertThat(decode("{\"type\":\"stop_typing\",\"room\":\"general\"}"))
        .isEqualTo(new ClientRequest.Typing(null, "general", false));
    assertThat(decode("{\"type\":\"stop_typing\",\"payload\":{\"room_id\":\"general\"}}"))
        .isEqualTo(new ClientRequest.Typing(null, "general", false));
  }

  @Test
  void typingWithoutAnyRoomIsMissingRoom() {
    assertInvalid("{\"type\":\"typing\"}", ErrorCode.MISSING_ROOM);
    assertInvalid("{\"type\":\"stop_typing\",\"payload\":{\"room_id\":\"\"}}", ErrorCode.MISSING_ROOM);
  }

  @Test
  void typingWithAMalformedRoomIsInvalidRoom() {
    assertInvalid("{\"type\":\"typing\",\"payload\":{\"room_id\":\"my room\"}}", ErrorCode.INVALID_ROOM);
  }

  @Test
  void onlineUsersAndSendMessageNameTheirRoomInRoomOnly() {
    assertThat(decode("{\"type\":\"online_users\",\"id\":\"c-17\",\"room\":\"general\"}"))
        .isEqualTo(new ClientRequest.OnlineUsers(C17, "general"));
    assertInvalid("{\"type\":\"online_users\",\"id\":\"c-17\",\"payload\":{\"room_id\":\"general\"}}",
        ErrorCode.MISSING_ROOM);
    assertInvalid("{\"type\":\"send_message\",\"payload\":{\"room_id\":\"general\",\"content\":\"x\"}}",
        ErrorCode.MISSING_ROOM);
  }

  @Test
  void onlineUsersWithoutRoomIsMissingRoom() {
    Invalid invalid = assertInvalid("{\"type\":\"online_users\",\"id\":\"c-17\"}", ErrorCode.MISSING_ROOM);
    assertThat(invalid.id()).isEqualTo(C17);
  }

  // --- ping ---

  @Test
  void pingNeedsNothingButItsType() {
    assertThat(decode("{\"type\":\"ping\",\"room\":\"\",\"payload\":{}}")).isEqualTo(new ClientRequest.Ping(null));
  }

  // --- leniency and robustness ---

  @Test
  void unknownExtraFieldsAreIgnored() {
    assertThat(decode("{\"type\":\"send_message\",\"room\":\"general\",\"version\":2,\"meta\":{\"a\":[1,2]},"
            + "\"payload\":{\"content\":\"hi\",\"format\":\"markdown\"}}"))
        .isEqualTo(new ClientRequest.SendMessage(null, "general", "hi", null));
    assertThat(decode("{\"type\":\"join_room\",\"extra\":true,\"payload\":{\"room_id\":\"general\",\"x\":1}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general"));
  }

  @Test
  void senderSentByAClientIsIgnored() {
    assertThat(decode("{\"type\":\"send_message\",\"room\":\"general\","
            + "\"sender\":{\"id\":\"admin\",\"name\":\"Admin\"},\"payload\":{\"content\":\"hi\"}}"))
        .isEqualTo(new ClientRequest.SendMessage(null, "general", "hi", null));
    for (Class<?> type : ClientRequest.class.getPermittedSubclasses()) {
      assertThat(Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName))
          .as("components of %s", type.getSimpleName())
          .doesNotContain("sender", "user");
    }
  }

  // --- version 2: join with history and since, the history request ---

  @Test
  void joinAsksForTheNewestMessagesWithHistory() {
    assertThat(decode("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\",\"history\":50}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general", 50, null));
    assertThat(decode("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\",\"history\":0}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general"));
    assertThat(decode("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\",\"history\":100}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general", 100, null));
  }

  @Test
  void historyOutsideZeroToAHundredOrNotAnIntegerIsInvalidPayload() {
    for (String history : List.of("101", "-1", "2.5", "\"5\"", "true", "{}")) {
      Invalid invalid = assertInvalid("{\"type\":\"join_room\",\"id\":\"c-17\",\"payload\":{\"room_id\":\"general\","
          + "\"history\":" + history + "}}", ErrorCode.INVALID_PAYLOAD);
      assertThat(invalid.id()).isEqualTo(C17);
      assertThat(invalid.room()).isEqualTo("general");
    }
  }

  @Test
  void joinRecoversWithSinceSeqAndEpoch() {
    assertThat(decode("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\",\"history\":20,"
            + "\"since\":{\"seq\":41,\"epoch\":\"e-1\"}}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general", 20, new ClientRequest.Since(41, "e-1")));
    assertThat(decode("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\",\"since\":{\"seq\":0,\"epoch\":\"e\"}}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general", 0, new ClientRequest.Since(0, "e")));
    assertThat(decode("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\",\"since\":null}}"))
        .isEqualTo(new ClientRequest.JoinRoom(null, "general"));
  }

  @Test
  void sinceThatIsNotASeqAndAnEpochIsInvalidPayload() {
    for (String since : List.of("5", "\"x\"", "{}", "{\"seq\":1}", "{\"epoch\":\"e\"}", "{\"seq\":-1,\"epoch\":\"e\"}",
        "{\"seq\":1.5,\"epoch\":\"e\"}", "{\"seq\":\"1\",\"epoch\":\"e\"}", "{\"seq\":1,\"epoch\":7}")) {
      assertInvalid("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\",\"since\":" + since + "}}",
          ErrorCode.INVALID_PAYLOAD);
    }
  }

  @Test
  void historyRequestReadsBeforeAfterOrTheNewestWithALimit() {
    assertThat(decode("{\"type\":\"history\",\"id\":\"c-17\",\"room\":\"general\",\"payload\":{\"before\":40,\"limit\":10}}"))
        .isEqualTo(new ClientRequest.History(C17, "general", 40L, null, 10));
    assertThat(decode("{\"type\":\"history\",\"room\":\"general\",\"payload\":{\"after\":0}}"))
        .isEqualTo(new ClientRequest.History(null, "general", null, 0L, 50));
    assertThat(decode("{\"type\":\"history\",\"room\":\"general\"}"))
        .isEqualTo(new ClientRequest.History(null, "general", null, null, 50));
    assertThat(decode("{\"type\":\"history\",\"room\":\"general\"}").type()).isEqualTo("history");
  }

  @Test
  void historyNeedsTheRoomInTheEnvelope() {
    assertInvalid("{\"type\":\"history\",\"payload\":{\"room_id\":\"general\"}}", ErrorCode.MISSING_ROOM);
    assertInvalid("{\"type\":\"history\",\"room\":\"no spaces\"}", ErrorCode.INVALID_ROOM);
  }

  @Test
  void historyWithBadBoundsOrLimitIsInvalidPayload() {
    for (String payload : List.of("{\"before\":-1}", "{\"after\":\"3\"}", "{\"before\":1,\"after\":2}",
        "{\"limit\":0}", "{\"limit\":101}", "{\"limit\":2.5}")) {
      Invalid invalid = assertInvalid("{\"type\":\"history\",\"id\":\"c-17\",\"room\":\"general\",\"payload\":"
          + payload + "}", ErrorCode.INVALID_PAYLOAD);
      assertThat(invalid.room()).isEqualTo("general");
    }
  }

  @Test
  void deeplyNestedJsonIsRefusedWithoutThrowing() {
    String deep = "{\"type\":\"send_message\",\"room\":\"general\",\"payload\":{\"content\":\"hi\",\"x\":"
        + "[".repeat(100_000) + "]".repeat(100_000) + "}}";
    assertThatCode(() -> decode(deep)).doesNotThrowAnyException();
    assertThat(decode(deep)).isInstanceOf(Invalid.class);
    String unclosed = "[".repeat(100_000);
    assertThatCode(() -> decode(unclosed)).doesNotThrowAnyException();
    assertThat(decode(unclosed)).isInstanceOf(Invalid.class);
  }
}
