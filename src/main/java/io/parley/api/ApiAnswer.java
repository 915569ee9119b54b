package io.parley.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.User;
import io.parley.room.RoomActor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What a server API call answers: an HTTP status and a JSON body, {@code {"result": …}} or
 * {@code {"error":{"code","message"}}} (docs/protocol.md, "Server API"). {@code code} names the
 * error for logs; null on success. Codes are the protocol's ({@link ErrorCode}), and three that
 * only the API has.
 */
record ApiAnswer(int status, String code, byte[] body) {
  private static final JsonFactory JSON = new JsonFactory();

  static final int OK = 200;
  static final String UNAUTHORIZED = "UNAUTHORIZED";
  static final String NOT_FOUND = "NOT_FOUND";
  static final String TOO_LARGE = "TOO_LARGE";

  static ApiAnswer error(int status, ErrorCode code, String message) {
    return error(status, code.name(), message);
  }

  static ApiAnswer error(int status, String code, String message) {
    return new ApiAnswer(status, code, render(g -> {
      g.writeFieldName("error");
      writeError(g, code, message);
    }));
  }

  /** 400 for a body that is not a valid call. */
  static ApiAnswer invalid(ApiCall.Invalid invalid) {
    return error(400, invalid.code(), invalid.message());
  }

  /** A room's answer to a publish, history or presence call. */
  static ApiAnswer of(String room, RoomActor.ApiReply reply) {
    if (reply instanceof RoomActor.Failed failed) return error(503, failed.code(), failed.message());
    return new ApiAnswer(OK, null, render(g -> {
      g.writeFieldName("result");
      writeResult(g, room, reply);
    }));
  }

  /** A broadcast: each room's result or error, in the order of {@code rooms}. */
  static ApiAnswer broadcast(List<String> rooms, List<RoomActor.ApiReply> replies) {
    return new ApiAnswer(OK, null, render(g -> {
      g.writeObjectFieldStart("result");
      g.writeArrayFieldStart("responses");
      for (int i = 0; i < rooms.size(); i++) {
        g.writeStartObject();
        g.writeStringField("room", rooms.get(i));
        if (replies.get(i) instanceof RoomActor.Failed failed) {
          g.writeFieldName("error");
          writeError(g, failed.code().name(), failed.message());
        } else {
          g.writeFieldName("result");
          writeResult(g, rooms.get(i), replies.get(i));
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }));
  }

  static ApiAnswer disconnected(int connections) {
    return new ApiAnswer(OK, null, render(g -> {
      g.writeObjectFieldStart("result");
      g.writeNumberField("connections", connections);
      g.writeEndObject();
    }));
  }

  private static void writeResult(JsonGenerator g, String room, RoomActor.ApiReply reply) throws IOException {
    g.writeStartObject();
    if (reply instanceof RoomActor.Published published) {
      g.writeStringField("message_id", published.messageId());
      g.writeNumberField("seq", published.seq());
      g.writeStringField("epoch", published.epoch());
    } else if (reply instanceof RoomActor.HistoryPage page) {
      g.writeStringField("room_id", room);
      g.writeStringField("epoch", page.epoch());
      g.writeNumberField("seq", page.seq());
      g.writeArrayFieldStart("messages");
      for (byte[] message : page.messages()) g.writeRawValue(new String(message, StandardCharsets.UTF_8));
      g.writeEndArray();
    } else {
      List<User> users = ((RoomActor.Users) reply).users();
      g.writeStringField("room_id", room);
      g.writeArrayFieldStart("users");
      for (User user : users) {
        g.writeStartObject();
        g.writeStringField("id", user.id());
        g.writeStringField("name", user.name());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeNumberField("count", users.size());
    }
    g.writeEndObject();
  }

  private static void writeError(JsonGenerator g, String code, String message) throws IOException {
    g.writeStartObject();
    g.writeStringField("code", code);
    g.writeStringField("message", message);
    g.writeEndObject();
  }

  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static byte[] render(Body body) {
    ByteArrayBuilder out = new ByteArrayBuilder(128);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      body.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
