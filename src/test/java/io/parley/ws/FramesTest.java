package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What the server writes, read back with the same header parser that reads clients' frames. */
class FramesTest {
  @ParameterizedTest(name = "{0} bytes of payload: a {1}-byte header")
  @CsvSource({"0, 2", "125, 2", "126, 4", "65535, 4", "65536, 10", "100000, 10"})
  void aTextFrameCarriesItsLengthInTheShortestHeader(int length, int headerSize) {
    byte[] payload = "x".repeat(length).getBytes(StandardCharsets.UTF_8);
    ByteString frame = Frames.text(payload);
    FrameHeader header = FrameHeader.parse(frame);

    assertThat(header).isEqualTo(new FrameHeader(true, 0, FrameKind.OP_TEXT, false, 0, length, headerSize));
    assertThat(Frames.headerSize(length)).isEqualTo(headerSize);
    assertThat(frame.drop(headerSize)).isEqualTo(ByteString.fromArray(payload));
    for (int prefix = 0; prefix < headerSize; prefix++) {
      assertThat(FrameHeader.parse(frame.take(prefix))).as("header of %d bytes", prefix).isNull();
    }
  }

  @Test
  void anOutFrameIsTheRenderedFrameAndKnowsItsText() {
    OutFrame frame = OutFrame.text("{\"type\":\"pong\"}".getBytes(StandardCharsets.UTF_8));
    assertThat(frame.bytes.head()).isEqualTo((byte) 0x81);
    assertThat(frame.text()).isEqualTo("{\"type\":\"pong\"}");
  }

  @Test
  void aCloseFrameCarriesCodeAndReason() {
    ByteString frame = Frames.close(CloseCodes.TOKEN_EXPIRED, "token expired");
    assertThat(FrameHeader.parse(frame).opcode()).isEqualTo(FrameKind.OP_CLOSE);
    byte[] payload = frame.drop(2).toArray();
    assertThat(PeerClose.parse(payload, payload.length)).isEqualTo(new PeerClose(4001, "token expired"));
  }

  @Test
  void aLongCloseReasonIsCutToFitAControlFrameAtACharacterBoundary() {
    ByteString frame = Frames.close(CloseCodes.NORMAL, "é".repeat(100)); // 200 bytes of UTF-8
    FrameHeader header = FrameHeader.parse(frame);
    assertThat(header.length()).isLessThanOrEqualTo(FrameDecoder.MAX_CONTROL_PAYLOAD);
    byte[] payload = frame.drop(2).toArray();
    assertThat(PeerClose.parse(payload, payload.length).reason()).isEqualTo("é".repeat(61));
  }

  @Test
  void aPongSendsThePingsPayloadBack() {
    ByteString pong = Frames.pong(ByteString.fromString("are you there?"));
    assertThat(FrameHeader.parse(pong).opcode()).isEqualTo(FrameKind.OP_PONG);
    assertThat(pong.drop(2).utf8String()).isEqualTo("are you there?");
    assertThat(FrameHeader.parse(Frames.ping()))
        .isEqualTo(new FrameHeader(true, 0, FrameKind.OP_PING, false, 0, 0, 2));
  }
}
