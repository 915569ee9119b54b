package io.parley.ws;

import org.apache.pekko.util.ByteString;

/**
 * The header of one frame as it came over the wire (RFC 6455, 5.2), before any rule is checked.
 *
 * @param rsv the three reserved bits (RSV1 is 4), 0 when no extension is in use
 * @param mask the masking key, meaningful when {@code masked}
 * @param length the payload length; negative when a 64-bit length has its top bit set
 * @param size the header's own length in bytes (2 to 14)
 */
record FrameHeader(boolean fin, int rsv, int opcode, boolean masked, int mask, long length, int size) {

  FrameKind kind() {
    return FrameKind.of(opcode);
  }

  /** The header at the start of {@code bytes}, or null when they do not hold all of it yet. */
  static FrameHeader parse(ByteString bytes) {
    int available = bytes.length();
    if (available < 2) return null;
    int first = bytes.apply(0) & 0xFF;
    int second = bytes.apply(1) & 0xFF;
    boolean masked = (second & 0x80) != 0;
    int lengthCode = second & 0x7F;
    int lengthBytes = lengthCode == 127 ? 8 : lengthCode == 126 ? 2 : 0;
    int size = 2 + lengthBytes + (masked ? 4 : 0);
    if (available < size) return null;
    long length = lengthCode < 126 ? lengthCode : readBigEndian(bytes, 2, lengthBytes);
    int mask = masked ? (int) readBigEndian(bytes, 2 + lengthBytes, 4) : 0;
    return new FrameHeader((first & 0x80) != 0, (first >> 4) & 0x7, first & 0x0F, masked, mask, length, size);
  }

  private static long readBigEndian(ByteString bytes, int offset, int count) {
    long value = 0;
    for (int i = 0; i < count; i++) value = (value << 8) | (bytes.apply(offset + i) & 0xFF);
    return value;
  }
}
