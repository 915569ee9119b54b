package io.parley.ws;

/**
 * Checks that bytes are UTF-8 as they arrive, across any number of chunks, so that a text
 * message can be refused (1007) at its first bad byte. Follows the well-formed byte sequences of
 * the Unicode standard (table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
 */
final class Utf8Validator {
  // continuation bytes still expected for the current character, and the range the next one
  // must be in (the first continuation byte's range depends on the lead byte)
  private int pending;
  private int low = 0x80;
  private int high = 0xBF;

  /** True when the bytes are UTF-8 on their own: complete characters only. */
  static boolean isValid(byte[] bytes, int offset, int length) {
    Utf8Validator validator = new Utf8Validator();
    return validator.update(bytes, offset, length) && validator.isComplete();
  }

  /** Reads more bytes of the text; false as soon as they cannot be UTF-8 (then stays false). */
  boolean update(byte[] bytes, int offset, int length) {
    int end = offset + length;
    for (int i = offset; i < end; i++) {
      int b = bytes[i] & 0xFF;
      if (pending == 0) {
        if (b < 0x80) continue;
        if (!lead(b)) return fail();
      } else {
        if (b < low || b > high) return fail();
        pending--;
        low = 0x80;
        high = 0xBF;
      }
    }
    return pending >= 0;
  }

  /** True when the bytes read so far end on a character boundary. */
  boolean isComplete() {
    return pending == 0;
  }

  void reset() {
    pending = 0;
    low = 0x80;
    high = 0xBF;
  }

  private boolean lead(int b) {
    if (b >= 0xC2 && b <= 0xDF) {
      pending = 1;
    } else if (b == 0xE0) {
      pending = 2;
      low = 0xA0; // below: overlong
    } else if (b >= 0xE1 && b <= 0xEC || b == 0xEE || b == 0xEF) {
      pending = 2;
    } else if (b == 0xED) {
      pending = 2;
      high = 0x9F; // above: surrogates
    } else if (b == 0xF0) {
      pending = 3;
      low = 0x90; // below: overlong
    } else if (b >= 0xF1 && b <= 0xF3) {
      pending = 3;
    } else if (b == 0xF4) {
      pending = 3;
      high = 0x8F; // above: beyond U+10FFFF
    } else {
      return false; // a continuation byte, C0/C1 (overlong) or F5-FF
    }
    return true;
  }

  private boolean fail() {
    pending = -1;
    low = 0x100; // nothing matches: every later byte fails too
    return false;
  }
}
