package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PeerCloseTest {
  @ParameterizedTest(name = "[{0}]: {1} {2}")
  @CsvSource({
      "'', 1000, ''",                 // no code: a normal close
      "03, 1002, ''",                 // one byte cannot hold a code
      "03e8, 1000, ''",
      "03e8 627965, 1000, bye",
      "03e9, 1001, ''",
      "03eb, 1003, ''",
      "03ec, 1002, ''",               // 1004: reserved
      "03ed, 1002, ''",               // 1005: never on the wire
      "03ee, 1002, ''",               // 1006: never on the wire
      "03ef, 1007, ''",
      "03f6, 1014, ''",               // IANA's 1012-1014 are accepted
      "03f7, 1002, ''",               // 1015: never on the wire
      "03f8, 1002, ''",               // 1016: unassigned
      "03e7, 1002, ''",               // 999
      "0bb8, 3000, ''",
      "1387, 4999, ''",
      "1388, 1002, ''",               // 5000
      "03e8 c3a9, 1000, é",
      "03e8 c0af, 1002, ''",          // reason not UTF-8
      "03e8 e282, 1002, ''",          // reason cut inside a character
  })
  void aCloseFrameIsJudgedByItsCodeAndReason(String payloadHex, int code, String reason) {
    byte[] payload = HexFormat.of().parseHex(payloadHex.replace(" ", ""));
    assertThat(PeerClose.parse(payload, payload.length)).isEqualTo(new PeerClose(code, reason));
  }
}
