package io.parley.protocol;

/**
 * A client frame decoded at the edge ({@link RequestDecoder}). Actors only ever see these.
 * {@code id} is the client's correlation id, or null.
 */
public sealed interface ClientRequest {
  RequestId id();

  /** The room the request concerns, or null. */
  String room();

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
