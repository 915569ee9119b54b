package io.parley.ws;

/** What a frame's opcode says it is (RFC 6455, 5.2 and 11.8). */
enum FrameKind {
  CONTINUATION(false),
  TEXT(false),
  BINARY(false),
  /** 0x3-0x7: reserved for data frames no extension of ours defines. */
  RESERVED_DATA(false),
  CLOSE(true),
  PING(true),
  PONG(true),
  /** 0xB-0xF: reserved for control frames no extension of ours defines. */
  RESERVED_CONTROL(true);

  static final int OP_CONTINUATION = 0x0;
  static final int OP_TEXT = 0x1;
  static final int OP_BINARY = 0x2;
  static final int OP_CLOSE = 0x8;
  static final int OP_PING = 0x9;
  static final int OP_PONG = 0xA;

  private final boolean control;

  FrameKind(boolean control) {
    this.control = control;
  }

  /** Control frames (opcodes 0x8-0xF) may come between the fragments of a message. */
  boolean isControl() {
    return control;
  }

  /** The kind of a 4-bit opcode. */
  static FrameKind of(int opcode) {
    return switch (opcode) {
      case OP_CONTINUATION -> CONTINUATION;
      case OP_TEXT -> TEXT;
      case OP_BINARY -> BINARY;
      case OP_CLOSE -> CLOSE;
      case OP_PING -> PING;
      case OP_PONG -> PONG;
      default -> opcode < OP_CLOSE ? RESERVED_DATA : RESERVED_CONTROL;
    };
  }
}
