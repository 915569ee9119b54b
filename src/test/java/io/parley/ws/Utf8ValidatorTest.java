package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class Utf8ValidatorTest {
  private static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex.replace(" ", ""));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource({
      "'', empty",
      "41 7f, ASCII",
      "c2 80, U+0080: smallest two-byte",
      "df bf, U+07FF: largest two-byte",
      "e0 a0 80, U+0800: smallest three-byte",
      "e2 82 ac, euro sign",
      "ed 9f bf, U+D7FF: just below the surrogates",
      "ee 80 80, U+E000: just above the surrogates",
      "ef bf bd, replacement character",
      "f0 90 80 80, U+10000: smallest four-byte",
      "f0 9f 98 80, an emoji",
      "f4 8f bf bf, U+10FFFF: the largest code point",
  })
  void wellFormedTextIsAccepted(String bytes, String what) {
    byte[] text = hex(bytes);
    assertThat(Utf8Validator.isValid(text, 0, text.length)).isTrue();
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource({
      "80, a continuation byte alone",
      "41 bf, a continuation byte after ASCII",
      "c0 af, overlong '/' in two bytes",
      "c1 bf, overlong in two bytes",
      "e0 80 af, overlong '/' in three bytes",
      "e0 9f bf, overlong in three bytes",
      "ed a0 80, U+D800: a surrogate",
      "ed bf bf, U+DFFF: a surrogate",
      "f0 80 80 af, overlong '/' in four bytes",
      "f0 8f bf bf, overlong in four bytes",
      "f4 90 80 80, U+110000: beyond Unicode",
      "f5 80 80 80, a lead byte that cannot occur",
      "ff, a byte that cannot occur",
      "c2 41, a lead byte without its continuation",
      "e2 82 41, a three-byte character cut by ASCII",
      "c2, a character cut by the end",
      "f0 9f 98, a four-byte character cut by the end",
  })
  void malformedTextIsRefused(String bytes, String what) {
    byte[] text = hex(bytes);
    assertThat(Utf8Validator.isValid(text, 0, text.length)).isFalse();
  }

  @Test
  void aCharacterMayBeSplitAnywhereAcrossChunks() {
    byte[] text = "a€😀é".getBytes(StandardCharsets.UTF_8);
    for (int split = 0; split <= text.length; split++) {
      Utf8Validator validator = new Utf8Validator();
      assertThat(validator.update(text, 0, split)).isTrue();
      assertThat(validator.isComplete()).as("complete after %d bytes", split)
          .isEqualTo(split == 0 || split == 1 || split == 4 || split == 8 || split == 10);
      assertThat(validator.update(text, split, text.length - split)).isTrue();
      assertThat(validator.isComplete()).isTrue();
    }
  }

  @Test
  void theFirstBadByteFailsAtOnceAndEverythingAfterItFailsToo() {
    Utf8Validator validator = new Utf8Validator();
    assertThat(validator.update(hex("41 e2 82"), 0, 3)).isTrue();
    assertThat(validator.update(hex("41"), 0, 1)).as("ASCII where a continuation byte belongs").isFalse();
    assertThat(validator.update(hex("41"), 0, 1)).isFalse();
    assertThat(validator.update(new byte[0], 0, 0)).isFalse();
    assertThat(validator.isComplete()).isFalse();
    validator.reset();
    assertThat(validator.update(hex("41"), 0, 1)).isTrue();
    assertThat(validator.isComplete()).isTrue();
  }

  @Test
  void agreesWithTheJdksStrictDecoderOnRandomBytes() {
    SplittableRandom random = new SplittableRandom(6455);
    for (int n = 0; n < 50_000; n++) {
      byte[] bytes = new byte[random.nextInt(1, 9)];
      for (int i = 0; i < bytes.length; i++) {
        // mostly bytes that matter: lead and continuation bytes, some ASCII
        bytes[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(0x80) : random.nextInt(0x80, 0x100));
      }
      assertThat(Utf8Validator.isValid(bytes, 0, bytes.length))
          .as("%s", HexFormat.ofDelimiter(" ").formatHex(bytes))
          .isEqualTo(jdkAccepts(bytes));
    }
  }

  private static boolean jdkAccepts(byte[] bytes) {
    try {
      StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }
}
