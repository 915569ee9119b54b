package io.parley.protocol;

/** The {@code payload.code} values of {@code error} frames (docs/protocol.md, "Error codes"). */
public enum ErrorCode {
  INVALID_FORMAT,
  UNKNOWN_TYPE,
  INVALID_PAYLOAD,
  MISSING_ROOM,
  INVALID_ROOM,
  NOT_IN_ROOM,
  TOO_MANY_ROOMS,
  RATE_LIMITED,
  /** The room cannot take the request now (moving to another node, or storage unreachable). */
  UNAVAILABLE,
  INTERNAL
}
