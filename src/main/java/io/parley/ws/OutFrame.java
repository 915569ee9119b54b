package io.parley.ws;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.http.impl.engine.ws.FrameStart;

/**
 * A frame on its way to one or more sockets: built once per broadcast and shared by every
 * connection it goes to. Opaque outside this package, so that only {@code ws} depends on how
 * pekko-http represents frames.
 */
public final class OutFrame {
  final FrameStart frame;

  private OutFrame(FrameStart frame) {
    this.frame = frame;
  }

  /** A text frame around UTF-8 JSON; the array must not be changed afterwards. */
  public static OutFrame text(byte[] utf8) {
    return new OutFrame(Frames.text(utf8));
  }

  /** The frame's text (for tests and logs). */
  public String text() {
    return frame.data().decodeString(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "OutFrame(" + text() + ")";
  }
}
