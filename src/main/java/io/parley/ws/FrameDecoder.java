package io.parley.ws;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * Turns a client's bytes into what they mean (RFC 6455, 5): complete text messages, pings,
 * pongs and a close, or the violation that ends the connection. Unmasks, reassembles fragmented
 * messages, checks UTF-8 as the bytes arrive, and refuses a message with 1009 as soon as a header
 * announces more than {@code maxMessageBytes} in all.
 *
 * <p>Bytes go in with {@link #append}; {@link #readNext} hands over one event at a time, so the
 * caller can stop reading while its reader is busy. After a violation the decoder skips the
 * refused frame and goes on, so that the peer's close frame is still recognised.
 */
final class FrameDecoder {
  static final int MAX_CONTROL_PAYLOAD = 125;

  /** What the frames mean, one call per {@link #readNext}. */
  interface Handler {
    void onText(String text);

    void onPing(ByteString payload);

    void onPong();

    void onClose(PeerClose close);

    /** The connection must be closed with {@code code}. */
    void onViolation(int code, String reason);
  }

  private enum State {
    HEADER,
    PAYLOAD,
    /** a 64-bit length no frame can have: the stream cannot be framed any more */
    BROKEN
  }

  /** Where the payload of the frame being read goes. */
  private enum Target {
    MESSAGE,
    CONTROL,
    DISCARD
  }

  private final int maxMessageBytes;
  private ByteString input = ByteString.emptyByteString();
  private State state = State.HEADER;

  // the frame being read
  private FrameHeader frame;
  private Target target;
  private long remaining;
  private long offset;

  private final byte[] control = new byte[MAX_CONTROL_PAYLOAD];
  private int controlLength;

  // the message being reassembled: null between messages
  private byte[] message;
  private int messageLength;
  private final Utf8Validator utf8 = new Utf8Validator();

  FrameDecoder(int maxMessageBytes) {
    this.maxMessageBytes = maxMessageBytes;
  }

  void append(ByteString bytes) {
    input = input.isEmpty() ? bytes : input.concat(bytes);
  }

  /**
   * Reads until one event went to {@code handler} (true) or the bytes ran out before the next
   * one (false: append more).
   */
  boolean readNext(Handler handler) {
    while (state != State.BROKEN) {
      if (state == State.HEADER) {
        FrameHeader header = FrameHeader.parse(input);
        if (header == null) return false;
        input = input.drop(header.size());
        if (!startFrame(header, handler)) return true;
      }
      if (!readPayload(handler)) return true;
      if (remaining > 0) return false;
      state = State.HEADER;
      if (endFrame(handler)) return true;
    }
    return false;
  }

  /** Checks a header and gets ready for its payload; false when it was refused (a violation). */
  private boolean startFrame(FrameHeader header, Handler handler) {
    if (header.length() < 0) {
      state = State.BROKEN;
      handler.onViolation(CloseCodes.PROTOCOL_ERROR, "frame length out of range");
      return false;
    }
    frame = header;
    remaining = header.length();
    offset = 0;
    state = State.PAYLOAD;
    String refusal = null;
    int code = CloseCodes.PROTOCOL_ERROR;
    FrameKind kind = header.kind();
    if (!header.masked()) {
      refusal = "frames from clients must be masked";
    } else if (header.rsv() != 0) {
      refusal = "reserved bits set";
    } else if (kind == FrameKind.RESERVED_CONTROL || kind == FrameKind.RESERVED_DATA) {
      refusal = "unknown opcode";
    } else if (kind.isControl()) {
      if (!header.fin() || header.length() > MAX_CONTROL_PAYLOAD) refusal = "control frames must be final and short";
    } else if (kind == FrameKind.BINARY) {
      code = CloseCodes.BINARY_NOT_ACCEPTED;
      refusal = "binary frames are not accepted";
    } else if ((kind == FrameKind.TEXT) == (message != null)) {
      refusal = "bad fragmentation";
    } else if (messageLength + header.length() > maxMessageBytes) {
      code = CloseCodes.TOO_BIG;
      refusal = "message larger than " + maxMessageBytes + " bytes";
    }
    if (refusal != null) {
      refuse(code, refusal, handler);
      return false;
    }
    if (kind.isControl()) {
      target = Target.CONTROL;
      controlLength = 0;
    } else {
      target = Target.MESSAGE;
      growMessage((int) header.length());
    }
    return true;
  }

  private void growMessage(int frameLength) {
    if (message == null) {
      message = new byte[frameLength];
    } else if (message.length < messageLength + frameLength) {
      byte[] grown = new byte[messageLength + frameLength];
      System.arraycopy(message, 0, grown, 0, messageLength);
      message = grown;
    }
  }

  /** Takes what has arrived of the payload; false when it broke the rules (a violation). */
  private boolean readPayload(Handler handler) {
    int count = (int) Math.min(remaining, input.length());
    if (count == 0) return true;
    switch (target) {
      case CONTROL -> controlLength = unmaskInto(control, controlLength, count);
      case MESSAGE -> {
        int start = messageLength;
        messageLength = unmaskInto(message, messageLength, count);
        if (!utf8.update(message, start, count)) {
          refuse(CloseCodes.INVALID_UTF8, "text must be UTF-8", handler);
          return false;
        }
      }
      case DISCARD -> skip(count);
    }
    return true;
  }

  private int unmaskInto(byte[] into, int position, int count) {
    input.copyToArray(into, position, count);
    int mask = frame.mask();
    for (int i = 0; i < count; i++) {
      into[position + i] ^= (byte) (mask >>> (24 - 8 * (int) ((offset + i) & 3)));
    }
    skip(count);
    return position + count;
  }

  private void skip(int count) {
    input = input.drop(count);
    offset += count;
    remaining -= count;
  }

  /** A whole frame was read; true when that made an event. */
  private boolean endFrame(Handler handler) {
    switch (target) {
      case CONTROL -> {
        switch (frame.kind()) {
          case PING -> handler.onPing(ByteString.fromArray(control, 0, controlLength));
          case PONG -> handler.onPong();
          default -> handler.onClose(PeerClose.parse(control, controlLength));
        }
        return true;
      }
      case MESSAGE -> {
        if (!frame.fin()) return false;
        if (!utf8.isComplete()) {
          refuse(CloseCodes.INVALID_UTF8, "text must be UTF-8", handler);
          return true;
        }
        String text = new String(message, 0, messageLength, StandardCharsets.UTF_8);
        endMessage();
        handler.onText(text);
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  /** Reports a violation and discards the rest of the frame and of its message. */
  private void refuse(int code, String reason, Handler handler) {
    target = Target.DISCARD;
    endMessage();
    handler.onViolation(code, reason);
  }

  private void endMessage() {
    message = null;
    messageLength = 0;
    utf8.reset();
  }
}
