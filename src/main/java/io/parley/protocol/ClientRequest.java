package io.parley.protocol;

/**
 * A client frame decoded at the edge ({@link RequestDecoder}). Actors only ever see these.
 * {@code id} is the client's correlation id, or null.
 */
public sealed interface ClientRequest {
  RequestId id();

  /** The room the request concerns, or null. */
  String room();

  /** The frame's {@code type} as the client sent it; {@code "invalid"} for a refused frame. */
  default String type() {
    if (this instanceof JoinRoom) return "join_room";
    if (this instanceof LeaveRoom) return "leave_room";
    if (this instanceof SendMessage) return "send_message";
    if (this instanceof Typing typing) return typing.typing() ? "typing" : "stop_typing";
    if (this instanceof OnlineUsers) return "online_users";
    if (this instanceof Ping) return "ping";
    return "invalid";
  }

  record JoinRoom(RequestId id, String room) implements ClientRequest {}

  record LeaveRoom(RequestId id, String room) implements ClientRequest {}

  /** {@code replyTo} is the message id this one answers, or null. */
  record SendMessage(RequestId id, String room, String content, String replyTo)
      implements ClientRequest {}

  /** {@code typing} and {@code stop_typing}. */
  record Typing(RequestId id, String room, boolean typing) implements ClientRequest {}

  record OnlineUsers(RequestId id, String room) implements ClientRequest {}

  record Ping(RequestId id) implements ClientRequest {
    @Override
    public String room() {
      return null;
    }
  }

  /** A frame that failed validation; {@code room} is set when it was known. */
  record Invalid(RequestId id, String room, ErrorCode code, String message)
      implements ClientRequest {}
}
