package io.parley.ws;

/** WebSocket close codes Parley sends (docs/protocol.md, "Close codes", plus RFC 6455's own). */
public final class CloseCodes {
  public static final int NORMAL = 1000;
  public static final int GOING_AWAY = 1001;
  public static final int PROTOCOL_ERROR = 1002;
  public static final int BINARY_NOT_ACCEPTED = 1003;
  /** No close frame was exchanged (never sent on the wire). */
  public static final int ABNORMAL = 1006;
  public static final int INVALID_UTF8 = 1007;
  public static final int POLICY_VIOLATION = 1008;
  public static final int TOO_BIG = 1009;
  public static final int INTERNAL_ERROR = 1011;
  public static final int TOKEN_EXPIRED = 4001;
  /** Disconnected through the server API: the client must not reconnect with the same token. */
  public static final int DISCONNECTED = 4003;

  private CloseCodes() {}

  /** Codes a peer may put in a close frame (RFC 6455, 7.4, and IANA's 1012-1014). */
  static boolean isValidOnWire(int code) {
    return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014
        || code >= 3000 && code <= 4999;
  }
}
