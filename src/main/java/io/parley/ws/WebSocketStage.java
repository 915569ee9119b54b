package io.parley.ws;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.impl.engine.ws.FrameData;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameHeader;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractGraphStageWithMaterializedValue;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * RFC 6455 for one server-side connection, between pekko-http's frame parser/renderer (the
 * network side) and Parley (the application side):
 *
 * <pre>
 *   network frames ─▶ netIn ─▶ [unmask, reassemble, limits, ping/pong/close] ─▶ appOut: text
 *   network frames ◀─ netOut ◀─ [control frames first, write timeout]       ◀─ appIn: frames
 * </pre>
 *
 * <ul>
 *   <li>a text message over {@code maxMessageBytes} closes with 1009, as soon as a frame header
 *       announces it; a binary frame closes with 1003; invalid UTF-8 with 1007; any other protocol
 *       violation (unmasked frame, bad fragmentation, oversized control frame) with 1002;
 *   <li>the server pings every {@code pingInterval}; when nothing at all arrives for {@code
 *       idleTimeout} it closes with 1001;
 *   <li>when the socket takes no frame for {@code writeTimeout} while one is waiting, the
 *       connection is aborted (the peer is not reading, so no close frame could reach it);
 *   <li>the application closes the socket by completing appIn (1000) or failing it with a {@link
 *       CloseSignal} (its code; any other failure: 1011).
 * </ul>
 *
 * The materialized value completes with how the connection ended.
 */
final class WebSocketStage
    extends AbstractGraphStageWithMaterializedValue<
        BidiShape<FrameEvent, String, OutFrame, FrameEvent>, CompletionStage<CloseReason>> {

  private static final int MAX_CONTROL_PAYLOAD = 125;
  private static final byte[] NO_BYTES = new byte[0];
  private static final String PING_TIMER = "ping";
  private static final String IDLE_TIMER = "idle";
  private static final String WRITE_TIMER = "write";
  private static final String CLOSE_TIMER = "close";

  private final WebSocketSettings settings;
  private final Inlet<FrameEvent> netIn = Inlet.create("WebSocket.netIn");
  private final Outlet<String> appOut = Outlet.create("WebSocket.appOut");
  private final Inlet<OutFrame> appIn = Inlet.create("WebSocket.appIn");
  private final Outlet<FrameEvent> netOut = Outlet.create("WebSocket.netOut");
  private final BidiShape<FrameEvent, String, OutFrame, FrameEvent> shape =
      BidiShape.of(netIn, appOut, appIn, netOut);

  WebSocketStage(WebSocketSettings settings) {
    this.settings = settings;
  }

  @Override
  public BidiShape<FrameEvent, String, OutFrame, FrameEvent> shape() {
    return shape;
  }

  @Override
  public Pair<GraphStageLogic, CompletionStage<CloseReason>> createLogicAndMaterializedValuePair(
      Attributes attributes) {
    CompletableFuture<CloseReason> closed = new CompletableFuture<>();
    return Pair.create(new Logic(closed), closed);
  }

  /** Thrown when the peer stopped reading: the connection is aborted. */
  private static final class WriteTimeoutException extends RuntimeException {
    WriteTimeoutException(Duration timeout) {
      super("no write possible for " + timeout, null, false, false);
    }
  }

  private final class Logic extends TimerGraphStageLogic {
    private final CompletableFuture<CloseReason> closed;

    // the message being reassembled from text (and continuation) frames
    private byte[] message = NO_BYTES;
    private int messageLength;
    private boolean inMessage;
    // the frame whose data is still arriving in FrameData parts
    private boolean inFrame;
    private Protocol.Opcode frameOpcode;
    private boolean frameFin;
    private int frameMask;
    private long frameOffset;
    private final byte[] control = new byte[MAX_CONTROL_PAYLOAD];
    private int controlLength;
    // a complete text message waiting for the application to pull
    private String pendingText;
    private long lastInbound = System.nanoTime();

    // outgoing: control frames go before data; one data frame waits while the socket is busy
    private final ArrayDeque<FrameStart> controlOut = new ArrayDeque<>(2);
    private FrameStart pendingData;
    private FrameStart closeFrame;
    private boolean closeFramePushed;
    private boolean peerClosed;
    private CloseReason closeReason;

    Logic(CompletableFuture<CloseReason> closed) {
      super(shape);
      this.closed = closed;

      setHandler(netIn, new AbstractInHandler() {
        @Override
        public void onPush() {
          lastInbound = System.nanoTime();
          FrameEvent event = grab(netIn);
          if (event instanceof FrameStart start) onFrameStart(start);
          else onFrameData(((FrameData) event).data(), event.lastPart());
          pullNetIfReady();
        }

        @Override
        public void onUpstreamFinish() {
          completeStage();
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          if (closeReason == null) {
            closeReason = new CloseReason(CloseCodes.ABNORMAL, String.valueOf(ex.getMessage()), false);
          }
          failStage(ex);
        }
      });

      setHandler(appOut, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (pendingText != null) {
            String text = pendingText;
            pendingText = null;
            push(appOut, text);
            pullNetIfReady();
          }
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          // The application stopped listening without closing first: a bug on our side.
          closeWith(CloseCodes.INTERNAL_ERROR, "internal error");
        }
      });

      setHandler(appIn, new AbstractInHandler() {
        @Override
        public void onPush() {
          pendingData = grab(appIn).frame;
          flush();
        }

        @Override
        public void onUpstreamFinish() {
          closeWith(CloseCodes.NORMAL, "");
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          if (ex instanceof CloseSignal signal) {
            pendingData = null;
            closeWith(signal.code(), signal.reason());
          } else {
            closeWith(CloseCodes.INTERNAL_ERROR, "internal error");
          }
        }
      });

      setHandler(netOut, new AbstractOutHandler() {
        @Override
        public void onPull() {
          flush();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          completeStage();
        }
      });
    }

    @Override
    public void preStart() {
      pull(netIn);
      pull(appIn);
      scheduleWithFixedDelay(PING_TIMER, settings.pingInterval(), settings.pingInterval());
      scheduleOnce(IDLE_TIMER, settings.idleTimeout());
    }

    @Override
    public void postStop() {
      closed.complete(
          closeReason != null ? closeReason : new CloseReason(CloseCodes.ABNORMAL, "", false));
    }

    @Override
    public void onTimer(Object key) {
      switch ((String) key) {
        case PING_TIMER -> {
          if (closeFrame == null && !controlOut.contains(Frames.ping())) {
            controlOut.add(Frames.ping());
            flush();
          }
        }
        case IDLE_TIMER -> {
          long idle = System.nanoTime() - lastInbound;
          long timeout = settings.idleTimeout().toNanos();
          if (idle >= timeout) closeWith(CloseCodes.GOING_AWAY, "idle timeout");
          else scheduleOnce(IDLE_TIMER, Duration.ofNanos(timeout - idle));
        }
        case WRITE_TIMER -> {
          closeReason = new CloseReason(CloseCodes.ABNORMAL, "write timeout", true);
          failStage(new WriteTimeoutException(settings.writeTimeout()));
        }
        case CLOSE_TIMER -> completeStage();
        default -> throw new IllegalStateException("unknown timer " + key);
      }
    }

    // ---- inbound ------------------------------------------------------------------------------

    private void onFrameStart(FrameStart start) {
      FrameHeader header = start.header();
      if (header.mask().isEmpty()) {
        closeWith(CloseCodes.PROTOCOL_ERROR, "frames from clients must be masked");
        return;
      }
      if (header.rsv1() || header.rsv2() || header.rsv3()) {
        closeWith(CloseCodes.PROTOCOL_ERROR, "reserved bits set");
        return;
      }
      Protocol.Opcode opcode = header.opcode();
      if (opcode.isControl()) {
        // 0xB-0xF are reserved control opcodes: unknown, so the connection fails (RFC 6455, 5.2)
        if (opcode != Frames.PING && opcode != Frames.PONG && opcode != Frames.CLOSE) {
          closeWith(CloseCodes.PROTOCOL_ERROR, "unknown opcode");
          return;
        }
        if (!header.fin() || header.length() > MAX_CONTROL_PAYLOAD) {
          closeWith(CloseCodes.PROTOCOL_ERROR, "control frames must be final and short");
          return;
        }
        controlLength = 0;
      } else if (opcode == Frames.BINARY) {
        closeWith(CloseCodes.BINARY_NOT_ACCEPTED, "binary frames are not accepted");
        return;
      } else if (opcode == Frames.TEXT || opcode == Frames.CONTINUATION) {
        if ((opcode == Frames.TEXT) == inMessage) {
          closeWith(CloseCodes.PROTOCOL_ERROR, "bad fragmentation");
          return;
        }
        if (messageLength + header.length() > settings.maxMessageBytes()) {
          closeWith(CloseCodes.TOO_BIG, "message larger than " + settings.maxMessageBytes() + " bytes");
          return;
        }
        if (opcode == Frames.TEXT) message = new byte[(int) header.length()];
        inMessage = true;
      } else {
        closeWith(CloseCodes.PROTOCOL_ERROR, "unknown opcode");
        return;
      }
      inFrame = true;
      frameOpcode = opcode;
      frameFin = header.fin();
      frameMask = (Integer) header.mask().get();
      frameOffset = 0;
      onFrameData(start.data(), start.lastPart());
    }

    private void onFrameData(ByteString data, boolean lastPart) {
      if (!inFrame) return; // the rest of a frame that was refused
      if (frameOpcode.isControl()) {
        controlLength = unmaskInto(data, control, controlLength);
      } else {
        if (message.length < messageLength + data.length()) { // a continuation frame
          byte[] grown = new byte[messageLength + data.length()];
          System.arraycopy(message, 0, grown, 0, messageLength);
          message = grown;
        }
        messageLength = unmaskInto(data, message, messageLength);
      }
      if (lastPart) {
        inFrame = false;
        if (frameOpcode.isControl()) onControlFrame(frameOpcode);
        else if (frameFin) onMessage();
      }
    }

    /** Copies masked frame data into {@code target} at {@code position}, unmasking it. */
    private int unmaskInto(ByteString data, byte[] target, int position) {
      int length = data.length();
      data.copyToArray(target, position, length);
      for (int i = 0; i < length; i++) {
        int shift = 24 - 8 * (int) ((frameOffset + i) & 3);
        target[position + i] ^= (byte) (frameMask >>> shift);
      }
      frameOffset += length;
      return position + length;
    }

    private void onMessage() {
      String text;
      try {
        text = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(message, 0, messageLength))
            .toString();
      } catch (CharacterCodingException e) {
        closeWith(CloseCodes.INVALID_UTF8, "text must be UTF-8");
        return;
      }
      inMessage = false;
      messageLength = 0;
      message = NO_BYTES;
      if (closeFrame != null) return; // closing: the application no longer listens
      pendingText = text;
      if (isAvailable(appOut)) {
        pendingText = null;
        push(appOut, text);
      }
    }

    private void onControlFrame(Protocol.Opcode opcode) {
      if (opcode == Frames.PING) {
        if (closeFrame == null) {
          controlOut.removeIf(frame -> frame.header().opcode() == Frames.PONG);
          controlOut.add(Frames.pong(ByteString.fromArray(control, 0, controlLength)));
          flush();
        }
      } else if (opcode == Frames.CLOSE) {
        onPeerClose();
      }
      // PONG: only proves the peer is alive, which lastInbound already recorded
    }

    private void onPeerClose() {
      int code = CloseCodes.NORMAL;
      String reason = "";
      if (controlLength == 1) {
        code = CloseCodes.PROTOCOL_ERROR;
      } else if (controlLength >= 2) {
        int received = ((control[0] & 0xFF) << 8) | (control[1] & 0xFF);
        try {
          reason = StandardCharsets.UTF_8.newDecoder()
              .decode(ByteBuffer.wrap(control, 2, controlLength - 2)).toString();
          code = CloseCodes.isValidOnWire(received) ? received : CloseCodes.PROTOCOL_ERROR;
        } catch (CharacterCodingException e) {
          code = CloseCodes.PROTOCOL_ERROR;
        }
      }
      peerClosed = true;
      if (closeFrame == null) {
        // the peer started the close: answer with its code, then end the connection
        closeReason = new CloseReason(code, reason, false);
        startClose(Frames.close(code, code == CloseCodes.PROTOCOL_ERROR ? "bad close frame" : ""));
      } else if (closeFramePushed) {
        completeStage();
      }
    }

    private void pullNetIfReady() {
      if (pendingText == null && !isClosed(netIn) && !hasBeenPulled(netIn)) pull(netIn);
    }

    // ---- outbound -----------------------------------------------------------------------------

    /** This server closes the connection with {@code code}; later calls change nothing. */
    private void closeWith(int code, String reason) {
      if (closeFrame != null) return;
      closeReason = new CloseReason(code, reason, true);
      startClose(Frames.close(code, reason));
    }

    private void startClose(FrameStart frame) {
      closeFrame = frame;
      inFrame = false;
      inMessage = false;
      pendingText = null;
      controlOut.clear();
      controlOut.add(frame);
      // only a normal close by the application still sends the frame it queued last
      if (!closeReason.byServer() || closeReason.code() != CloseCodes.NORMAL) pendingData = null;
      cancel(appIn);
      complete(appOut);
      cancelTimer(PING_TIMER);
      cancelTimer(IDLE_TIMER);
      flush();
      pullNetIfReady();
    }

    /**
     * Writes what is waiting: control frames first, then data; our close frame last. Starts the
     * write timer when something waits for a socket that takes nothing.
     */
    private void flush() {
      if (isAvailable(netOut)) {
        FrameStart next = null;
        if (!controlOut.isEmpty() && (controlOut.peek() != closeFrame || pendingData == null)) {
          next = controlOut.poll();
        } else if (pendingData != null) {
          next = pendingData;
          pendingData = null;
        }
        if (next != null) {
          push(netOut, next);
          if (next == closeFrame) onCloseFramePushed();
        }
        if (pendingData == null && closeFrame == null && !hasBeenPulled(appIn)) pull(appIn);
      }
      if (pendingData == null && controlOut.isEmpty()) {
        // isTimerActive first: cancelTimer allocates even when no timer runs, and this runs per frame
        if (isTimerActive(WRITE_TIMER)) cancelTimer(WRITE_TIMER);
      } else if (!isAvailable(netOut) && !isTimerActive(WRITE_TIMER)) {
        scheduleOnce(WRITE_TIMER, settings.writeTimeout());
      }
    }

    private void onCloseFramePushed() {
      closeFramePushed = true;
      if (peerClosed) completeStage();
      else scheduleOnce(CLOSE_TIMER, settings.closeTimeout());
    }

  }
}
