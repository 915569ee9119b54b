package io.parley.ws;

import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameHeader;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.util.ByteString;
import scala.Option;

/**
 * Outgoing WebSocket frames, built once and shared by every connection they go to.
 *
 * <p>Parley speaks WebSocket at frame level through pekko-http's frame API ({@code
 * org.apache.pekko.http.impl.engine.ws}), which pekko-http marks internal: its public message API
 * cannot close with a chosen code (akka/akka-http#2458: 1001, 1008, 1009, 4001 are part of our
 * protocol) and re-encodes every text message for every recipient. Only this package uses that
 * API ({@link OutFrame} hides it from the rest of Parley); the pekko-http version is pinned in
 * pom.xml and the end-to-end tests exercise every path.
 */
final class Frames {
  static final Protocol.Opcode TEXT = opcode(0x1);
  static final Protocol.Opcode BINARY = opcode(0x2);
  static final Protocol.Opcode CONTINUATION = opcode(0x0);
  static final Protocol.Opcode CLOSE = opcode(0x8);
  static final Protocol.Opcode PING = opcode(0x9);
  static final Protocol.Opcode PONG = opcode(0xA);

  private static final Option<Object> UNMASKED = Option.empty();
  private static final FrameStart EMPTY_PING = control(PING, ByteString.emptyByteString());

  private Frames() {}

  private static Protocol.Opcode opcode(int code) {
    return Protocol.Opcode$.MODULE$.forCode((byte) code);
  }

  /** A complete text frame around UTF-8 JSON; the array must not be changed afterwards. */
  static FrameStart text(byte[] utf8) {
    return full(TEXT, ByteString.fromArrayUnsafe(utf8));
  }

  static FrameStart close(int code, String reason) {
    return FrameEvent$.MODULE$.closeFrame(code, reason, UNMASKED);
  }

  static FrameStart ping() {
    return EMPTY_PING;
  }

  static FrameStart pong(ByteString data) {
    return control(PONG, data);
  }

  private static FrameStart control(Protocol.Opcode opcode, ByteString data) {
    return full(opcode, data);
  }

  private static FrameStart full(Protocol.Opcode opcode, ByteString data) {
    return new FrameStart(
        new FrameHeader(opcode, UNMASKED, data.length(), true, false, false, false), data);
  }
}
