package io.parley.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestDecoder;
import io.parley.protocol.RoomIds;
import io.parley.protocol.User;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes a server API body into an {@link ApiCall}; never throws. What the WebSocket protocol
 * also has (room ids, a message's payload, a history query) is checked by the same code as there
 * ({@link RequestDecoder}), with the same error codes.
 */
final class ApiCallDecoder {
  static final int MAX_ROOMS = 100;
  static final int MAX_KEY_LENGTH = 128;
  static final int MAX_NAME_LENGTH = 128;
  /** The sender of a publish that names none. */
  static final User SERVER = new User("server", "server");
  private static final int MAX_NESTING = 32;

  private static final ObjectMapper MAPPER = new ObjectMapper(
      JsonFactory.builder()
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build())
          .build())
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private ApiCallDecoder() {}

  /** A value that is either decoded or the reason it is not. */
  private record Field<T>(T value, ApiCall.Invalid invalid) {
    static <T> Field<T> of(T value) {
      return new Field<>(value, null);
    }

    static <T> Field<T> refused(ErrorCode code, String message) {
      return new Field<>(null, new ApiCall.Invalid(code, message));
    }
  }

  static ApiCall decode(Endpoint endpoint, byte[] body) {
    JsonNode root;
    try {
      root = MAPPER.readTree(body);
    } catch (IOException | RuntimeException e) {
      return new ApiCall.Invalid(ErrorCode.INVALID_FORMAT, "the body is not valid JSON");
    }
    if (!(root instanceof ObjectNode fields)) {
      return new ApiCall.Invalid(ErrorCode.INVALID_FORMAT, "the body must be a JSON object");
    }
    return switch (endpoint) {
      case PUBLISH -> publish(fields);
      case BROADCAST -> broadcast(fields);
      case HISTORY -> history(fields);
      case PRESENCE -> presence(fields);
      case DISCONNECT -> disconnect(fields);
    };
  }

  private static ApiCall publish(ObjectNode fields) {
    Field<String> room = room(fields.get("room"), "room");
    if (room.invalid() != null) return room.invalid();
    return message(fields, (payload, sender, key) -> new ApiCall.Publish(room.value(), payload, sender, key));
  }

  private static ApiCall broadcast(ObjectNode fields) {
    JsonNode rooms = fields.get("rooms");
    if (absent(rooms)) return new ApiCall.Invalid(ErrorCode.MISSING_ROOM, "rooms is required");
    if (!rooms.isArray() || rooms.isEmpty() || rooms.size() > MAX_ROOMS) {
      return new ApiCall.Invalid(ErrorCode.INVALID_PAYLOAD, "rooms must be an array of 1-" + MAX_ROOMS + " room ids");
    }
    List<String> ids = new ArrayList<>(rooms.size());
    for (int i = 0; i < rooms.size(); i++) {
      Field<String> room = room(rooms.get(i), "rooms[" + i + "]");
      if (room.invalid() != null) return room.invalid();
      ids.add(room.value());
    }
    return message(fields, (payload, sender, key) -> new ApiCall.Broadcast(List.copyOf(ids), payload, sender, key));
  }

  private interface MessageCall {
    ApiCall of(String payload, User sender, String idempotencyKey);
  }

  /** The payload, sender and idempotency key of a publish or broadcast. */
  private static ApiCall message(ObjectNode fields, MessageCall call) {
    JsonNode payload = fields.get("payload");
    if (!(payload instanceof ObjectNode object)) {
      return new ApiCall.Invalid(ErrorCode.INVALID_PAYLOAD, "payload must be a JSON object");
    }
    if (RequestDecoder.message(null, null, object) instanceof ClientRequest.Invalid invalid) {
      return new ApiCall.Invalid(invalid.code(), invalid.message());
    }
    Field<User> sender = sender(fields.get("sender"));
    if (sender.invalid() != null) return sender.invalid();
    JsonNode key = fields.get("idempotency_key");
    if (!absent(key) && !(key.isTextual() && text(key, MAX_KEY_LENGTH))) {
      return new ApiCall.Invalid(ErrorCode.INVALID_PAYLOAD,
          "idempotency_key must be a string of 1-" + MAX_KEY_LENGTH + " characters");
    }
    return call.of(json(object), sender.value(), absent(key) ? null : key.textValue());
  }

  private static Field<User> sender(JsonNode sender) {
    if (absent(sender)) return Field.of(SERVER);
    JsonNode id = sender.get("id");
    JsonNode name = sender.get("name");
    if (!sender.isObject() || id == null || !id.isTextual() || !text(id, MAX_NAME_LENGTH)
        || !absent(name) && !(name.isTextual() && text(name, MAX_NAME_LENGTH))) {
      return Field.refused(ErrorCode.INVALID_PAYLOAD, "sender must be {\"id\": a string of 1-" + MAX_NAME_LENGTH
          + " characters, \"name\": the same, or absent for the id}");
    }
    return Field.of(new User(id.textValue(), absent(name) ? id.textValue() : name.textValue()));
  }

  private static ApiCall history(ObjectNode fields) {
    Field<String> room = room(fields.get("room"), "room");
    if (room.invalid() != null) return room.invalid();
    ClientRequest read = RequestDecoder.history(null, room.value(), fields);
    if (read instanceof ClientRequest.Invalid invalid) {
      // the same rules as the WebSocket request, whose fields sit in its payload
      return new ApiCall.Invalid(invalid.code(), invalid.message().replace("payload.", ""));
    }
    ClientRequest.History history = (ClientRequest.History) read;
    return new ApiCall.History(room.value(), history.before(), history.after(), history.limit());
  }

  private static ApiCall presence(ObjectNode fields) {
    Field<String> room = room(fields.get("room"), "room");
    return room.invalid() != null ? room.invalid() : new ApiCall.Presence(room.value());
  }

  private static ApiCall disconnect(ObjectNode fields) {
    JsonNode user = fields.get("user");
    if (absent(user) || !user.isTextual() || !text(user, MAX_NAME_LENGTH)) {
      return new ApiCall.Invalid(ErrorCode.INVALID_PAYLOAD,
          "user must be a user id (the tokens' sub) of 1-" + MAX_NAME_LENGTH + " characters");
    }
    return new ApiCall.Disconnect(user.textValue());
  }

  /** A room id; as on the WebSocket, an empty string counts as absent. */
  private static Field<String> room(JsonNode room, String field) {
    if (absent(room) || room.isTextual() && room.textValue().isEmpty()) {
      return Field.refused(ErrorCode.MISSING_ROOM, field + " is required");
    }
    if (!room.isTextual()) return Field.refused(ErrorCode.INVALID_ROOM, field + " must be a string");
    if (!RoomIds.isValid(room.textValue())) return Field.refused(ErrorCode.INVALID_ROOM, field + ": " + RoomIds.RULE);
    return Field.of(room.textValue());
  }

  private static boolean absent(JsonNode node) {
    return node == null || node.isNull();
  }

  /** 1 to {@code max} characters that can be written as UTF-8. */
  private static boolean text(JsonNode node, int max) {
    String value = node.textValue();
    return !value.isEmpty() && value.length() <= max && RequestDecoder.isWellFormedUtf16(value);
  }

  /** As Jackson's UTF-8 generator writes it: surrogates escaped, so rooms can write it raw. */
  private static String json(ObjectNode payload) {
    try {
      return new String(MAPPER.writeValueAsBytes(payload), StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
