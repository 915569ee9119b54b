package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Client frames, as bytes, and what the decoder makes of them: each case lists the frames sent
 * and the events expected ({@code text:…}, {@code ping:…} (hex), {@code pong}, {@code close:code:reason},
 * {@code violation:code}). Every case also runs with the bytes fed one at a time.
 */
class FrameDecoderTest {
  private static final int MAX = 16;
  private static final int MASK = 0x37fa213d;

  /** A client frame: masked unless told otherwise. */
  private record Frame(boolean fin, int rsv, int opcode, byte[] payload, boolean masked, long claimedLength) {
    byte[] bytes() {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write((fin ? 0x80 : 0) | rsv << 4 | opcode);
      int maskBit = masked ? 0x80 : 0;
      long length = claimedLength;
      if (length >= 0 && length < 126) {
        out.write(maskBit | (int) length);
      } else if (length >= 0 && length <= 0xFFFF) {
        out.write(maskBit | 126);
        out.write((int) (length >> 8));
        out.write((int) length);
      } else {
        out.write(maskBit | 127);
        for (int i = 7; i >= 0; i--) out.write((int) (length >>> (8 * i)));
      }
      if (masked) {
        for (int i = 3; i >= 0; i--) out.write(MASK >>> (8 * i));
      }
      for (int i = 0; i < payload.length; i++) {
        out.write(masked ? payload[i] ^ (MASK >>> (24 - 8 * (i & 3))) : payload[i]);
      }
      return out.toByteArray();
    }
  }

  private static Frame frame(boolean fin, int opcode, byte[] payload) {
    return new Frame(fin, 0, opcode, payload, true, payload.length);
  }

  private static Frame text(String text) {
    return frame(true, 1, utf8(text));
  }

  private static Frame first(String text) {
    return frame(false, 1, utf8(text));
  }

  private static Frame more(String text) {
    return frame(false, 0, utf8(text));
  }

  private static Frame last(String text) {
    return frame(true, 0, utf8(text));
  }

  private static Frame control(int opcode, byte[] payload) {
    return frame(true, opcode, payload);
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex.replace(" ", ""));
  }

  private static Arguments when(String what, List<Frame> frames, String... events) {
    return Arguments.of(what, frames, List.of(events));
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        when("a text message", List.of(text("hello")), "text:hello"),
        when("an empty text message", List.of(text("")), "text:"),
        when("two messages", List.of(text("a"), text("b")), "text:a", "text:b"),
        when("a fragmented message", List.of(first("he"), more("l"), last("lo")), "text:hello"),
        when("empty fragments", List.of(first(""), last("")), "text:"),
        when("a ping between fragments", List.of(first("he"), control(9, hex("0102")), last("llo")),
            "ping:0102", "text:hello"),
        when("a pong", List.of(control(10, hex("ff"))), "pong"),
        when("a ping of 125 bytes", List.of(control(9, new byte[125])), "ping:" + "00".repeat(125)),
        when("a message of exactly the limit", List.of(text("x".repeat(MAX))), "text:" + "x".repeat(MAX)),
        when("a character split across fragments", List.of(first("a\u00e9".substring(0, 1)),
            frame(false, 0, hex("c3")), frame(true, 0, hex("a9"))), "text:a\u00e9"),
        when("a close without code", List.of(control(8, new byte[0])), "close:1000:"),
        when("a close with code and reason", List.of(control(8, hex("03e8 627965"))), "close:1000:bye"),
        when("a close with a code not allowed on the wire", List.of(control(8, hex("03ed"))), "close:1002:"),

        when("an unmasked frame", List.of(new Frame(true, 0, 1, utf8("hi"), false, 2)), "violation:1002"),
        when("a reserved bit", List.of(new Frame(true, 4, 1, utf8("hi"), true, 2)), "violation:1002"),
        when("a reserved data opcode", List.of(frame(true, 3, utf8("hi"))), "violation:1002"),
        when("a reserved control opcode", List.of(frame(true, 0xB, utf8("hi"))), "violation:1002"),
        when("a binary frame", List.of(frame(true, 2, hex("00"))), "violation:1003"),
        when("a fragmented ping", List.of(frame(false, 9, hex("00"))), "violation:1002"),
        when("a ping of 126 bytes", List.of(control(9, new byte[126])), "violation:1002"),
        when("a continuation with no message", List.of(last("x")), "violation:1002"),
        when("a text frame inside a message", List.of(first("a"), text("b")), "violation:1002"),
        when("a message one byte over the limit", List.of(text("x".repeat(MAX + 1))), "violation:1009"),
        when("fragments over the limit together", List.of(first("x".repeat(MAX)), last("y")), "violation:1009"),
        when("bad UTF-8", List.of(frame(true, 1, hex("41 c0 af"))), "violation:1007"),
        when("a message that ends inside a character", List.of(frame(true, 1, hex("41 e2 82"))), "violation:1007"),
        when("a 64-bit length with its top bit set", List.of(new Frame(true, 0, 1, new byte[0], true, Long.MIN_VALUE)),
            "violation:1002"),

        when("the close after a refused frame is still seen",
            List.of(text("x".repeat(MAX + 5)), control(8, hex("03e8"))), "violation:1009", "close:1000:"),
        when("the close after bad UTF-8 in a first fragment is still seen",
            List.of(frame(false, 1, hex("ff")), last("rest"), control(8, hex("03e9"))),
            "violation:1007", "violation:1002", "close:1001:"));
  }

  private static List<String> decode(List<Frame> frames, boolean byteByByte) {
    List<String> events = new ArrayList<>();
    Recorder handler = new Recorder(events);
    FrameDecoder decoder = new FrameDecoder(MAX);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (Frame frame : frames) all.writeBytes(frame.bytes());
    byte[] bytes = all.toByteArray();
    if (byteByByte) {
      for (byte b : bytes) {
        decoder.append(ByteString.fromArray(new byte[] {b}));
        while (decoder.readNext(handler)) { }
      }
    } else {
      decoder.append(ByteString.fromArray(bytes));
      while (decoder.readNext(handler)) { }
    }
    return events;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void framesMeanWhatRfc6455Says(String what, List<Frame> frames, List<String> expected) {
    assertThat(decode(frames, false)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}, one byte at a time")
  @MethodSource("cases")
  void theSameComesOutWhenTheBytesArriveOneByOne(String what, List<Frame> frames, List<String> expected) {
    assertThat(decode(frames, true)).isEqualTo(expected);
  }

  @Test
  void tooBigIsKnownFromTheHeaderAloneBeforeThePayloadArrives() {
    byte[] header = Arrays.copyOf(text("x".repeat(1000)).bytes(), 8); // 2 + 2 length + 4 mask
    List<String> events = new ArrayList<>();
    FrameDecoder decoder = new FrameDecoder(MAX);
    decoder.append(ByteString.fromArray(header));
    assertThat(decoder.readNext(new Recorder(events))).isTrue();
    assertThat(events).containsExactly("violation:1009");
  }

  @Test
  void badUtf8IsRefusedBeforeTheRestOfTheFrameArrives() {
    byte[] frame = frame(true, 1, hex("41 ff 41 41 41 41")).bytes();
    List<String> events = new ArrayList<>();
    FrameDecoder decoder = new FrameDecoder(MAX);
    decoder.append(ByteString.fromArray(frame).take(2 + 4 + 2));
    assertThat(decoder.readNext(new Recorder(events))).isTrue();
    assertThat(events).containsExactly("violation:1007");
  }

  @Test
  void eventsComeOneAtATimeSoTheReaderCanPause() {
    FrameDecoder decoder = new FrameDecoder(MAX);
    decoder.append(ByteString.fromArray(text("a").bytes()).concat(ByteString.fromArray(text("b").bytes())));
    List<String> events = new ArrayList<>();
    assertThat(decoder.readNext(new Recorder(events))).isTrue();
    assertThat(events).containsExactly("text:a");
    assertThat(decoder.readNext(new Recorder(events))).isTrue();
    assertThat(decoder.readNext(new Recorder(events))).isFalse();
    assertThat(events).containsExactly("text:a", "text:b");
  }

  /** Writes each event down as a string. */
  private record Recorder(List<String> events) implements FrameDecoder.Handler {
    @Override
    public void onText(String text) {
      events.add("text:" + text);
    }

    @Override
    public void onPing(ByteString payload) {
      events.add("ping:" + HexFormat.of().formatHex(payload.toArray()));
    }

    @Override
    public void onPong() {
      events.add("pong");
    }

    @Override
    public void onClose(PeerClose close) {
      events.add("close:" + close.code() + ":" + close.reason());
    }

    @Override
    public void onViolation(int code, String reason) {
      events.add("violation:" + code);
    }
  }
}
