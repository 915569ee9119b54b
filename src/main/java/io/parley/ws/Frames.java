package io.parley.ws;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * Frames as the server writes them (RFC 6455, 5.2): final, unmasked, header and payload in one
 * array, rendered once and then shared by every socket they go to.
 */
final class Frames {
  private static final int MAX_CLOSE_REASON = FrameDecoder.MAX_CONTROL_PAYLOAD - 2;
  private static final ByteString EMPTY_PING = render(FrameKind.OP_PING, ByteString.emptyByteString());

  private Frames() {}

  /** A text frame around UTF-8. */
  static ByteString text(byte[] utf8) {
    return render(FrameKind.OP_TEXT, ByteString.fromArrayUnsafe(utf8));
  }

  /** A close frame; a reason longer than a control frame allows is cut at a character boundary. */
  static ByteString close(int code, String reason) {
    byte[] text = reason.getBytes(StandardCharsets.UTF_8);
    int length = text.length;
    if (length > MAX_CLOSE_REASON) {
      length = MAX_CLOSE_REASON;
      while ((text[length] & 0xC0) == 0x80) length--; // not inside a character
    }
    byte[] payload = new byte[2 + length];
    payload[0] = (byte) (code >> 8);
    payload[1] = (byte) code;
    System.arraycopy(text, 0, payload, 2, length);
    return render(FrameKind.OP_CLOSE, ByteString.fromArrayUnsafe(payload));
  }

  static ByteString ping() {
    return EMPTY_PING;
  }

  /** The answer to a ping: its payload (at most 125 bytes) sent back. */
  static ByteString pong(ByteString payload) {
    return render(FrameKind.OP_PONG, payload);
  }

  /** The length of the header in front of a payload of {@code length} bytes. */
  static int headerSize(long length) {
    return length < 126 ? 2 : length <= 0xFFFF ? 4 : 10;
  }

  private static ByteString render(int opcode, ByteString payload) {
    int length = payload.length();
    int header = headerSize(length);
    byte[] frame = new byte[header + length];
    frame[0] = (byte) (0x80 | opcode);
    if (header == 2) {
      frame[1] = (byte) length;
    } else if (header == 4) {
      frame[1] = 126;
      frame[2] = (byte) (length >> 8);
      frame[3] = (byte) length;
    } else {
      frame[1] = 127;
      for (int i = 0; i < 8; i++) frame[2 + i] = (byte) ((long) length >>> (56 - 8 * i));
    }
    payload.copyToArray(frame, header, length);
    return ByteString.fromArrayUnsafe(frame);
  }
}
