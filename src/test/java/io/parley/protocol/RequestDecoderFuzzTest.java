package io.parley.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.testing.FrameFuzz;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Property: for any text at all, {@link RequestDecoder#decode} returns a request (never throws),
 * refusals carry a code docs/protocol.md gives the decoder, well-formed requests keep their fields, and
 * whatever the server answers to the request renders as valid UTF-8 JSON that echoes the id.
 *
 * <p>{@link #FRAMES} frames from {@link FrameFuzz} (valid, one defect, mutated), seeded: the same
 * seed gives the same frames. Failures name the seed and the frame's index; run another seed with
 * {@code -Dparley.fuzz.seed=<n>} ({@code random} for a fresh one).
 */
class RequestDecoderFuzzTest {
  static final int FRAMES = 120_000;
  private static final Set<ErrorCode> DECODER_CODES = EnumSet.of(ErrorCode.INVALID_FORMAT,
      ErrorCode.UNKNOWN_TYPE, ErrorCode.INVALID_PAYLOAD, ErrorCode.MISSING_ROOM, ErrorCode.INVALID_ROOM);
  private static final Set<String> KNOWN_TYPES = Set.of(
      "join_room", "leave_room", "send_message", "typing", "stop_typing", "online_users", "ping");
  private static final User USER = new User("fuzz", "Fuzz");
  private static final ObjectMapper JSON = new ObjectMapper();
  /** An independent reading of the frame: Jackson's defaults, one value per frame. */
  private static final ObjectMapper ORACLE =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  @Test
  void everyFrameDecodesToARequestTheServerCanAnswer() {
    long seed = FrameFuzz.seed();
    FrameFuzz fuzz = new FrameFuzz(seed);
    Map<String, Integer> kinds = new TreeMap<>();
    Map<ErrorCode, Integer> codes = new EnumMap<>(ErrorCode.class);
    Map<String, Integer> requests = new TreeMap<>();
    for (int i = 0; i < FRAMES; i++) {
      FrameFuzz.Case frame = fuzz.next();
      ClientRequest request;
      try {
        request = RequestDecoder.decode(frame.text());
        check(frame, request);
      } catch (Throwable e) {
        throw new AssertionError("seed " + seed + ", frame " + i + " (" + frame.kind() + "): "
            + FrameFuzz.printable(frame.text()) + "\n  -> " + FrameFuzz.printable(String.valueOf(e.getMessage())), e);
      }
      kinds.merge(frame.kind(), 1, Integer::sum);
      if (request instanceof ClientRequest.Invalid invalid) codes.merge(invalid.code(), 1, Integer::sum);
      else requests.merge(request.getClass().getSimpleName(), 1, Integer::sum);
    }
    System.out.printf("RequestDecoderFuzzTest seed=%d frames=%d kinds=%s requests=%s refusals=%s%n",
        seed, FRAMES, kinds, requests, codes);
    // the generator reaches every outcome, so the property is not vacuous
    assertThat(codes.keySet()).containsExactlyInAnyOrderElementsOf(DECODER_CODES);
    assertThat(requests.keySet()).containsExactlyInAnyOrder("JoinRoom", "LeaveRoom", "OnlineUsers",
        "Ping", "SendMessage", "Typing");
  }

  private static void check(FrameFuzz.Case frame, ClientRequest request) throws Exception {
    assertThat(request).isNotNull();
    if (frame.expected() != null) assertSameRequest(request, frame.expected());
    if (frame.code() != null) {
      assertThat(request).isInstanceOf(ClientRequest.Invalid.class);
      assertThat(((ClientRequest.Invalid) request).code()).isEqualTo(frame.code());
    }
    checkInvariants(request);
    if (frame.expected() == null && frame.code() == null) checkAgainstOracle(frame.text(), request);
    for (byte[] reply : replies(request)) checkReply(reply, request.id());
  }

  private static void assertSameRequest(ClientRequest actual, ClientRequest expected) throws Exception {
    assertThat(actual.getClass()).isEqualTo(expected.getClass());
    assertThat(actual.room()).isEqualTo(expected.room());
    assertSameId(actual.id(), expected.id());
    if (expected instanceof ClientRequest.SendMessage message) {
      ClientRequest.SendMessage got = (ClientRequest.SendMessage) actual;
      assertThat(got.content()).isEqualTo(message.content());
      assertThat(got.replyTo()).isEqualTo(message.replyTo());
    } else if (expected instanceof ClientRequest.Typing typing) {
      assertThat(((ClientRequest.Typing) actual).typing()).isEqualTo(typing.typing());
    }
  }

  /** Ids are compared as JSON values: {@code "\u00e9"} and {@code "é"} are the same id. */
  private static void assertSameId(RequestId actual, RequestId expected) throws Exception {
    if (expected == null) {
      assertThat(actual).isNull();
    } else {
      assertThat(actual).isNotNull();
      assertThat(JSON.readTree(actual.json())).isEqualTo(JSON.readTree(expected.json()));
    }
  }

  private static void checkInvariants(ClientRequest request) throws Exception {
    if (request.id() != null) {
      JsonNode id = JSON.readTree(request.id().json());
      if (id.isTextual()) {
        assertThat(id.textValue().length()).isLessThanOrEqualTo(RequestDecoder.MAX_ID_LENGTH);
      } else {
        assertThat(id.isIntegralNumber() && id.canConvertToLong()).as("id %s", id).isTrue();
      }
    }
    if (request instanceof ClientRequest.Invalid invalid) {
      assertThat(DECODER_CODES).contains(invalid.code());
      assertThat(invalid.message()).isNotBlank();
      // a refused room is echoed clipped (other refusals echo the room as sent, within the frame limit)
      if (invalid.code() == ErrorCode.INVALID_ROOM && invalid.room() != null) {
        assertThat(invalid.room().length()).isLessThanOrEqualTo(RoomIds.MAX_LENGTH + 1);
      }
    } else {
      if (!(request instanceof ClientRequest.Ping)) assertThat(RoomIds.isValid(request.room())).isTrue();
      if (request instanceof ClientRequest.SendMessage message) assertThat(message.content()).isNotEmpty();
    }
  }

  /** Where an independent parse of the frame settles the outcome, the decoder must agree. */
  private static void checkAgainstOracle(String text, ClientRequest request) {
    JsonNode root;
    try {
      root = ORACLE.readTree(text);
    } catch (Exception notJson) {
      assertThat(request).isInstanceOf(ClientRequest.Invalid.class);
      assertThat(((ClientRequest.Invalid) request).code()).isEqualTo(ErrorCode.INVALID_FORMAT);
      return;
    }
    if (root == null || !root.isObject()) {
      assertThat(request).isInstanceOf(ClientRequest.Invalid.class);
      assertThat(((ClientRequest.Invalid) request).code()).isEqualTo(ErrorCode.INVALID_FORMAT);
      return;
    }
    if (depth(root) > 30) return; // the decoder's nesting limit is stricter than the oracle's
    JsonNode type = root.get("type");
    if (type == null || !type.isTextual() || type.textValue().isEmpty()) {
      assertThat(request).isInstanceOf(ClientRequest.Invalid.class);
      assertThat(((ClientRequest.Invalid) request).code()).isEqualTo(ErrorCode.INVALID_FORMAT);
      return;
    }
    if (request instanceof ClientRequest.Invalid invalid) {
      if (KNOWN_TYPES.contains(type.textValue())) assertThat(invalid.code()).isNotEqualTo(ErrorCode.UNKNOWN_TYPE);
      return;
    }
    assertThat(KNOWN_TYPES).contains(type.textValue());
    String expectedClass = switch (type.textValue()) {
      case "join_room" -> "JoinRoom";
      case "leave_room" -> "LeaveRoom";
      case "send_message" -> "SendMessage";
      case "typing", "stop_typing" -> "Typing";
      case "online_users" -> "OnlineUsers";
      default -> "Ping";
    };
    assertThat(request.getClass().getSimpleName()).isEqualTo(expectedClass);
    JsonNode payload = root.path("payload");
    String room = root.path("room").asText("");
    if (request instanceof ClientRequest.JoinRoom || request instanceof ClientRequest.LeaveRoom) {
      assertThat(request.room()).isEqualTo(payload.path("room_id").textValue());
    } else if (request instanceof ClientRequest.Typing) {
      assertThat(request.room()).isEqualTo(room.isEmpty() ? payload.path("room_id").textValue() : room);
    } else if (!(request instanceof ClientRequest.Ping)) {
      assertThat(request.room()).isEqualTo(room);
    }
    if (request instanceof ClientRequest.SendMessage message) {
      assertThat(message.content()).isEqualTo(payload.path("content").textValue());
    }
  }

  private static int depth(JsonNode node) {
    int deepest = 0;
    for (JsonNode child : node) deepest = Math.max(deepest, depth(child));
    return 1 + deepest;
  }

  /** What the server sends because of this request: the reply, and the room's frame. */
  private static List<byte[]> replies(ClientRequest request) {
    RequestId id = request.id();
    String room = request.room();
    if (request instanceof ClientRequest.Invalid invalid) {
      return List.of(ServerFrames.error(id, room, invalid.code(), invalid.message()));
    } else if (request instanceof ClientRequest.Ping) {
      return List.of(ServerFrames.pong(id));
    } else if (request instanceof ClientRequest.JoinRoom) {
      return List.of(ServerFrames.roomInfo(room, id, List.of(USER), 0, "e", null), ServerFrames.presence(true, room, USER));
    } else if (request instanceof ClientRequest.SendMessage message) {
      return List.of(ServerFrames.messageAck(id, room, "m-1", 1),
          ServerFrames.newMessage(room, "m-1", 1, USER, message.content(), message.replyTo()));
    } else if (request instanceof ClientRequest.Typing typing) {
      return List.of(ServerFrames.error(id, room, ErrorCode.NOT_IN_ROOM, "join the room first"),
          ServerFrames.userTyping(room, USER, typing.typing()));
    } else if (request instanceof ClientRequest.OnlineUsers) {
      return List.of(ServerFrames.onlineUsers(room, id, List.of(USER)));
    }
    return List.of(ServerFrames.ack(id, room), ServerFrames.presence(false, room, USER));
  }

  private static void checkReply(byte[] reply, RequestId id) throws Exception {
    try {
      StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(reply));
    } catch (CharacterCodingException e) {
      fail("reply is not UTF-8: " + new String(reply, StandardCharsets.UTF_8));
    }
    JsonNode frame = ORACLE.readTree(reply);
    assertThat(frame.isObject()).isTrue();
    assertThat(frame.path("type").isTextual()).isTrue();
    if (id != null && frame.has("id") && !frame.path("type").asText().equals("new_message")) {
      assertThat(frame.get("id")).isEqualTo(JSON.readTree(id.json()));
    }
  }
}
