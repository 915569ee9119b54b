package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FrameKindTest {
  @ParameterizedTest(name = "opcode {0}: {1}")
  @CsvSource({
      "0, CONTINUATION, false",
      "1, TEXT, false",
      "2, BINARY, false",
      "3, RESERVED_DATA, false",
      "7, RESERVED_DATA, false",
      "8, CLOSE, true",
      "9, PING, true",
      "10, PONG, true",
      "11, RESERVED_CONTROL, true",
      "15, RESERVED_CONTROL, true",
  })
  void everyOpcodeHasItsKind(int opcode, FrameKind kind, boolean control) {
    assertThat(FrameKind.of(opcode)).isEqualTo(kind);
    assertThat(kind.isControl()).isEqualTo(control);
  }
}
