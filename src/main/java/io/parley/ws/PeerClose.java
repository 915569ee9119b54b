package io.parley.ws;

import java.nio.charset.StandardCharsets;

/**
 * The close frame a peer sent, judged (RFC 6455, 5.5.1 and 7.4): an empty payload is a normal
 * close; a code that may not be sent on the wire, a one-byte payload or a reason that is not
 * UTF-8 make it a protocol error ({@link CloseCodes#PROTOCOL_ERROR}, reason empty).
 */
record PeerClose(int code, String reason) {

  static PeerClose parse(byte[] payload, int length) {
    if (length == 0) return new PeerClose(CloseCodes.NORMAL, "");
    if (length == 1) return new PeerClose(CloseCodes.PROTOCOL_ERROR, "");
    int code = ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
    if (!CloseCodes.isValidOnWire(code) || !Utf8Validator.isValid(payload, 2, length - 2)) {
      return new PeerClose(CloseCodes.PROTOCOL_ERROR, "");
    }
    return new PeerClose(code, new String(payload, 2, length - 2, StandardCharsets.UTF_8));
  }
}
