package io.parley.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;

/**
 * Renders server frames (docs/protocol.md, "Server frames") to UTF-8 JSON. A broadcast is rendered
 * once, by its room, and the same bytes go to every recipient.
 */
public final class ServerFrames {
  private static final JsonFactory JSON = new JsonFactory();

  private ServerFrames() {}

  public static byte[] connected(String connectionId, User user, String node) {
    return frame("connected", null, null, g -> {
      g.writeObjectFieldStart("payload");
      g.writeStringField("connection_id", connectionId);
      g.writeFieldName("user");
      writeUser(g, user);
      g.writeStringField("node", node);
      g.writeEndObject();
    });
  }

  /** A member's message: {@code payload} = {@code content}, and {@code reply_to} when given. */
  public static byte[] newMessage(
      String room, String messageId, long seq, User sender, String content, String replyTo) {
    return message(room, messageId, seq, sender, g -> {
      g.writeObjectFieldStart("payload");
      g.writeStringField("content", content);
      if (replyTo != null) g.writeStringField("reply_to", replyTo);
      g.writeEndObject();
    });
  }

  /**
   * A message published through the server API: {@code payloadJson}, a JSON object, is written as
   * given. It must be plain JSON text as Jackson's UTF-8 generator writes it (surrogates escaped).
   */
  public static byte[] publishedMessage(String room, String messageId, long seq, User sender, String payloadJson) {
    return message(room, messageId, seq, sender, g -> {
      g.writeFieldName("payload");
      g.writeRawValue(payloadJson);
    });
  }

  private static byte[] message(String room, String messageId, long seq, User sender, Body payload) {
    return frame("new_message", room, null, g -> {
      g.writeStringField("id", messageId);
      g.writeNumberField("seq", seq);
      g.writeFieldName("sender");
      writeUser(g, sender);
      payload.write(g);
    });
  }

  /** {@code user_joined} or {@code user_left}: both sender and payload carry the user. */
  public static byte[] presence(boolean joined, String room, User user) {
    return frame(joined ? "user_joined" : "user_left", room, null, g -> {
      g.writeFieldName("sender");
      writeUser(g, user);
      g.writeFieldName("payload");
      writeUser(g, user);
    });
  }

  public static byte[] userTyping(String room, User user, boolean typing) {
    return frame("user_typing", room, null, g -> {
      g.writeFieldName("sender");
      writeUser(g, user);
      g.writeObjectFieldStart("payload");
      g.writeStringField("room_id", room);
      g.writeBooleanField("typing", typing);
      g.writeEndObject();
    });
  }

  /** {@code online_users}: the distinct users of a room. */
  public static byte[] onlineUsers(String room, RequestId id, Collection<User> users) {
    return frame("online_users", room, id, g -> {
      g.writeObjectFieldStart("payload");
      writeUsers(g, room, users);
      g.writeEndObject();
    });
  }

  private static void writeUsers(JsonGenerator g, String room, Collection<User> users) throws IOException {
    g.writeStringField("room_id", room);
    g.writeArrayFieldStart("users");
    for (User user : users) writeUser(g, user);
    g.writeEndArray();
    g.writeNumberField("count", users.size());
  }

  /**
   * {@code room_info}: the room's distinct users, its latest {@code seq} and its log's {@code
   * epoch}, and {@code recovered} when the join asked to recover (null otherwise).
   */
  public static byte[] roomInfo(
      String room, RequestId id, Collection<User> users, long seq, String epoch, Boolean recovered) {
    return frame("room_info", room, id, g -> {
      g.writeObjectFieldStart("payload");
      writeUsers(g, room, users);
      g.writeNumberField("seq", seq);
      g.writeStringField("epoch", epoch);
      if (recovered != null) g.writeBooleanField("recovered", recovered);
      g.writeEndObject();
    });
  }

  /** {@code history}: kept messages (rendered {@code new_message} frames), oldest first. */
  public static byte[] history(RequestId id, String room, String epoch, long seq, List<byte[]> messages) {
    return frame("history", room, id, g -> {
      g.writeObjectFieldStart("payload");
      g.writeStringField("room_id", room);
      g.writeStringField("epoch", epoch);
      g.writeNumberField("seq", seq);
      g.writeArrayFieldStart("messages");
      for (byte[] message : messages) g.writeRawValue(new String(message, StandardCharsets.UTF_8));
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  public static byte[] ack(RequestId id, String room) {
    return frame("ack", room, id, g -> {});
  }

  public static byte[] messageAck(RequestId id, String room, String messageId, long seq) {
    return frame("ack", room, id, g -> {
      g.writeObjectFieldStart("payload");
      g.writeStringField("message_id", messageId);
      g.writeNumberField("seq", seq);
      g.writeEndObject();
    });
  }

  public static byte[] error(RequestId id, String room, ErrorCode code, String message) {
    return frame("error", room, id, g -> {
      g.writeObjectFieldStart("payload");
      g.writeStringField("code", code.name());
      g.writeStringField("message", message);
      g.writeEndObject();
    });
  }

  public static byte[] pong(RequestId id) {
    return frame("pong", null, id, g -> {});
  }

  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static byte[] frame(String type, String room, RequestId id, Body body) {
    ByteArrayBuilder out = new ByteArrayBuilder(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("type", type);
      if (room != null) g.writeStringField("room", room);
      if (id != null) {
        g.writeFieldName("id");
        g.writeRawValue(id.json());
      }
      body.write(g);
      g.writeStringField("timestamp", Timestamps.now());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeUser(JsonGenerator g, User user) throws IOException {
    g.writeStartObject();
    g.writeStringField("id", user.id());
    g.writeStringField("name", user.name());
    g.writeEndObject();
  }
}
