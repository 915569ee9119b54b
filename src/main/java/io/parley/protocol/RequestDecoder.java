package io.parley.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.protocol.ClientRequest.Invalid;
import java.util.function.Function;

/**
 * Decodes one client text frame into a {@link ClientRequest}; never throws. Invalid frames become
 * {@link Invalid} carrying the error code docs/protocol.md assigns and whatever id/room was readable.
 */
public final class RequestDecoder {
  static final int MAX_ID_LENGTH = 128;
  /** Most messages a join replays or a history request returns. */
  static final int MAX_HISTORY = 100;
  static final int DEFAULT_HISTORY_LIMIT = 50;
  private static final int MAX_NESTING = 32;

  private static final ObjectMapper MAPPER =
      new ObjectMapper(
          JsonFactory.builder()
              .streamReadConstraints(
                  StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build())
              .build())
          // one JSON object per frame: `{...} trailing` or `{...}{...}` is not a frame
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private RequestDecoder() {}

  public static ClientRequest decode(String text) {
    JsonNode root;
    try {
      root = MAPPER.readTree(text);
    } catch (JsonProcessingException | RuntimeException e) {
      return invalid(null, null, ErrorCode.INVALID_FORMAT, "frame is not valid JSON");
    }
    if (!(root instanceof ObjectNode frame)) {
      return invalid(null, null, ErrorCode.INVALID_FORMAT, "frame must be a JSON object");
    }

    JsonNode idNode = frame.get("id");
    boolean hasId = idNode != null && !idNode.isNull();
    // replies echo the id as raw JSON, so it must encode to UTF-8: no unpaired surrogate ("\ud800")
    if (hasId && !(idNode.isTextual() && idNode.textValue().length() <= MAX_ID_LENGTH
            && isWellFormedUtf16(idNode.textValue())
        || idNode.isIntegralNumber() && idNode.canConvertToLong())) {
      return invalid(null, null, ErrorCode.INVALID_FORMAT,
          "id must be a string of at most " + MAX_ID_LENGTH + " characters or an integer");
    }
    RequestId id = hasId ? new RequestId(idNode.toString()) : null;

    JsonNode typeNode = frame.get("type");
    if (typeNode == null || !typeNode.isTextual() || typeNode.textValue().isEmpty()) {
      return invalid(id, null, ErrorCode.INVALID_FORMAT, "type is required");
    }
    String type = typeNode.textValue();

    JsonNode roomNode = frame.get("room");
    if (roomNode != null && !roomNode.isNull() && !roomNode.isTextual()) {
      return invalid(id, null, ErrorCode.INVALID_ROOM, "room must be a string");
    }
    String room = roomNode == null || roomNode.isNull() || roomNode.textValue().isEmpty()
        ? null : roomNode.textValue();

    JsonNode payloadNode = frame.get("payload");
    if (payloadNode != null && !payloadNode.isNull() && !payloadNode.isObject()) {
      return invalid(id, room, ErrorCode.INVALID_PAYLOAD, "payload must be a JSON object");
    }
    ObjectNode payload = payloadNode instanceof ObjectNode p ? p : null;

    return switch (type) {
      case "join_room" -> payloadRoom(id, payload, true);
      case "leave_room" -> payloadRoom(id, payload, false);
      case "send_message" -> sendMessage(id, room, payload);
      case "typing" -> roomScoped(id, room, payload, true, r -> new ClientRequest.Typing(id, r, true));
      case "stop_typing" ->
          roomScoped(id, room, payload, true, r -> new ClientRequest.Typing(id, r, false));
      case "online_users" ->
          roomScoped(id, room, payload, false, r -> new ClientRequest.OnlineUsers(id, r));
      case "history" -> roomScoped(id, room, payload, false, r -> history(id, r, payload));
      case "ping" -> new ClientRequest.Ping(id);
      default -> invalid(id, room, ErrorCode.UNKNOWN_TYPE, "unknown type '" + clip(type) + "'");
    };
  }

  /** join_room and leave_room name their room in {@code payload.room_id}. */
  private static ClientRequest payloadRoom(RequestId id, ObjectNode payload, boolean join) {
    JsonNode roomId = payload == null ? null : payload.get("room_id");
    if (roomId == null || !roomId.isTextual() || roomId.textValue().isEmpty()) {
      return invalid(id, null, ErrorCode.INVALID_PAYLOAD, "payload.room_id is required");
    }
    String room = roomId.textValue();
    if (!RoomIds.isValid(room)) return invalidRoom(id, room);
    if (!join) return new ClientRequest.LeaveRoom(id, room);
    JsonNode history = payload.get("history");
    if (present(history) && !isIntegerIn(history, 0, MAX_HISTORY)) {
      return invalid(id, room, ErrorCode.INVALID_PAYLOAD, "payload.history must be an integer 0-" + MAX_HISTORY);
    }
    JsonNode since = payload.get("since");
    if (!present(since)) return new ClientRequest.JoinRoom(id, room, present(history) ? history.intValue() : 0, null);
    JsonNode seq = since.get("seq");
    JsonNode epoch = since.get("epoch");
    if (!since.isObject() || seq == null || !isIntegerIn(seq, 0, Long.MAX_VALUE) || epoch == null || !epoch.isTextual()) {
      return invalid(id, room, ErrorCode.INVALID_PAYLOAD,
          "payload.since must be {\"seq\": a non-negative integer, \"epoch\": a string}");
    }
    return new ClientRequest.JoinRoom(id, room, present(history) ? history.intValue() : 0,
        new ClientRequest.Since(seq.longValue(), epoch.textValue()));
  }

  /**
   * {@code history}: {@code before} or {@code after} (not both), and {@code limit} 1-100 (50).
   * The server API's history call reads its fields the same way.
   */
  public static ClientRequest history(RequestId id, String room, ObjectNode payload) {
    JsonNode before = payload == null ? null : payload.get("before");
    JsonNode after = payload == null ? null : payload.get("after");
    JsonNode limit = payload == null ? null : payload.get("limit");
    if (present(before) && !isIntegerIn(before, 0, Long.MAX_VALUE)
        || present(after) && !isIntegerIn(after, 0, Long.MAX_VALUE)) {
      return invalid(id, room, ErrorCode.INVALID_PAYLOAD, "payload.before and payload.after must be non-negative integers");
    }
    if (present(before) && present(after)) {
      return invalid(id, room, ErrorCode.INVALID_PAYLOAD, "payload.before and payload.after cannot be combined");
    }
    if (present(limit) && !isIntegerIn(limit, 1, MAX_HISTORY)) {
      return invalid(id, room, ErrorCode.INVALID_PAYLOAD, "payload.limit must be an integer 1-" + MAX_HISTORY);
    }
    return new ClientRequest.History(id, room,
        present(before) ? before.longValue() : null,
        present(after) ? after.longValue() : null,
        present(limit) ? limit.intValue() : DEFAULT_HISTORY_LIMIT);
  }

  private static boolean present(JsonNode node) {
    return node != null && !node.isNull();
  }

  private static boolean isIntegerIn(JsonNode node, long min, long max) {
    return node.isIntegralNumber() && node.canConvertToLong() && node.longValue() >= min && node.longValue() <= max;
  }

  private static ClientRequest sendMessage(RequestId id, String room, ObjectNode payload) {
    return roomScoped(id, room, payload, false, target -> message(id, target, payload));
  }

  /**
   * A message's payload: a non-empty string {@code content}, and {@code reply_to} a string when
   * present. The server API's publish checks its payload the same way.
   */
  public static ClientRequest message(RequestId id, String target, ObjectNode payload) {
    JsonNode content = payload == null ? null : payload.get("content");
    if (content == null || !content.isTextual() || content.textValue().isEmpty()) {
      return invalid(id, target, ErrorCode.INVALID_PAYLOAD,
          "payload.content must be a non-empty string");
    }
    JsonNode replyTo = payload.get("reply_to");
    if (replyTo != null && !replyTo.isNull() && !replyTo.isTextual()) {
      return invalid(id, target, ErrorCode.INVALID_PAYLOAD, "payload.reply_to must be a string");
    }
    return new ClientRequest.SendMessage(id, target, content.textValue(),
        replyTo == null || replyTo.isNull() ? null : replyTo.textValue());
  }

  /**
   * Room-scoped requests name their room in {@code room}; typing and stop_typing may name it in
   * {@code payload.room_id} instead ({@code payloadRoomAllowed}).
   */
  private static ClientRequest roomScoped(
      RequestId id, String room, ObjectNode payload, boolean payloadRoomAllowed,
      Function<String, ClientRequest> request) {
    String target = room;
    if (target == null && payloadRoomAllowed && payload != null) {
      JsonNode roomId = payload.get("room_id");
      if (roomId != null && roomId.isTextual() && !roomId.textValue().isEmpty()) {
        target = roomId.textValue();
      }
    }
    if (target == null) return invalid(id, null, ErrorCode.MISSING_ROOM, "room is required");
    return RoomIds.isValid(target) ? request.apply(target) : invalidRoom(id, target);
  }

  private static ClientRequest invalidRoom(RequestId id, String room) {
    return invalid(id, room, ErrorCode.INVALID_ROOM, RoomIds.RULE);
  }

  /** No unpaired surrogate: the string can be written as UTF-8. */
  public static boolean isWellFormedUtf16(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 == s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return false;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  /** An error echoes the room as sent, clipped to the longest valid room id. */
  private static Invalid invalid(RequestId id, String room, ErrorCode code, String message) {
    return new Invalid(id, room == null ? null : clip(room), code, message);
  }

  private static String clip(String s) {
    return s.length() <= RoomIds.MAX_LENGTH ? s : s.substring(0, RoomIds.MAX_LENGTH) + "…";
  }
}
