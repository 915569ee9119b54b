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
    if (this instanceof History) return "history";
    return "invalid";
  }

  /**
   * {@code history}: how many of the room's newest messages to replay after {@code room_info}
   * (0-100); {@code since}: what the client last saw of the room, to recover what it missed, or
   * null.
   */
  record JoinRoom(RequestId id, String room, int history, Since since) implements ClientRequest {
    public JoinRoom(RequestId id, String room) {
      this(id, room, 0, null);
    }
  }

  /** The last message a client saw of a room: its seq, in the room log's epoch. */
  record Since(long seq, String epoch) {}

  record LeaveRoom(RequestId id, String room) implements ClientRequest {}

  /** {@code replyTo} is the message id this one answers, or null. */
  record SendMessage(RequestId id, String room, String content, String replyTo)
      implements ClientRequest {}

  /** {@code typing} and {@code stop_typing}. */
  record Typing(RequestId id, String room, boolean typing) implements ClientRequest {}

  record OnlineUsers(RequestId id, String room) implements ClientRequest {}

  /**
   * Kept messages of a room: at most {@code limit} just before seq {@code before}, just after
   * {@code after}, or (both null) the newest.
   */
  record History(RequestId id, String room, Long before, Long after, int limit) implements ClientRequest {}

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
