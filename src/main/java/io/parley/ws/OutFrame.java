package io.parley.ws;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * A frame on its way to one or more sockets: rendered once, header included, and shared by every
 * connection it goes to. Opaque outside this package.
 */
public final class OutFrame {
  /** The frame as it goes on the wire. */
  final ByteString bytes;
  private final int payloadOffset;

  private OutFrame(ByteString bytes, int payloadOffset) {
    this.bytes = bytes;
    this.payloadOffset = payloadOffset;
  }

  /** A text frame around UTF-8 JSON (copied: the array may be reused afterwards). */
  public static OutFrame text(byte[] utf8) {
    return new OutFrame(Frames.text(utf8), Frames.headerSize(utf8.length));
  }

  /** The frame's text (for tests and logs). */
  public String text() {
    return bytes.drop(payloadOffset).decodeString(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "OutFrame(" + text() + ")";
  }
}
