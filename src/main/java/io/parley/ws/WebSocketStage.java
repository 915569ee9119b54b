package io.parley.ws;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
 * One server-side WebSocket connection after the upgrade, between the socket's bytes (the network
 * side) and Parley (the application side):
 *
 * <pre>
 *   socket bytes ─▶ netIn ─▶ FrameDecoder ─▶ [ping/pong/close, limits]  ─▶ appOut: text
 *   socket bytes ◀─ netOut ◀─ [control frames first, write timeout]       ◀─ appIn: frames
 * </pre>
 *
 * <ul>
 *   <li>what {@link FrameDecoder} refuses closes with its code: 1009 too big, 1003 binary, 1007
 *       bad UTF-8, 1002 any other protocol violation;
 *   <li>the server pings every {@code pingInterval}; when nothing at all arrives for {@code
 *       idleTimeout} it closes with 1001;
 *   <li>when the socket takes nothing for {@code writeTimeout} while something waits, the
 *       connection is aborted (the peer is not reading, so no close frame could reach it);
 *   <li>the application closes the socket by completing appIn (1000) or failing it with a {@link
 *       CloseSignal} (its code; any other failure: 1011).
 * </ul>
 *
 * The materialized value completes with how the connection ended.
 */
final class WebSocketStage
    extends AbstractGraphStageWithMaterializedValue<
        BidiShape<ByteString, String, OutFrame, ByteString>, CompletionStage<CloseReason>> {

  private static final String PING_TIMER = "ping";
  private static final String IDLE_TIMER = "idle";
  private static final String WRITE_TIMER = "write";
  private static final String CLOSE_TIMER = "close";

  private final WebSocketSettings settings;
  private final Inlet<ByteString> netIn = Inlet.create("WebSocket.netIn");
  private final Outlet<String> appOut = Outlet.create("WebSocket.appOut");
  private final Inlet<OutFrame> appIn = Inlet.create("WebSocket.appIn");
  private final Outlet<ByteString> netOut = Outlet.create("WebSocket.netOut");
  private final BidiShape<ByteString, String, OutFrame, ByteString> shape =
      BidiShape.of(netIn, appOut, appIn, netOut);

  WebSocketStage(WebSocketSettings settings) {
    this.settings = settings;
  }

  @Override
  public BidiShape<ByteString, String, OutFrame, ByteString> shape() {
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

  /** The close handshake (RFC 6455, 7.1.2 and 7.1.3). */
  private enum Phase {
    OPEN,
    /** this server closes: its close frame waits for the socket */
    CLOSING,
    /** the peer closed: the answering close frame waits for the socket */
    ANSWERING,
    /** this server's close frame is written; the peer's is awaited for {@code closeTimeout} */
    CLOSE_SENT
  }

  private final class Logic extends TimerGraphStageLogic implements FrameDecoder.Handler {
    private final CompletableFuture<CloseReason> closed;
    private final FrameDecoder decoder = new FrameDecoder(settings.maxMessageBytes());
    private Phase phase = Phase.OPEN;
    private CloseReason closeReason;
    // a complete text message waiting for the application to pull
    private String pendingText;
    private long lastInbound = System.nanoTime();

    // waiting for the socket, written in this order: at most one pong (for the latest ping),
    // one ping, one data frame, and the close frame
    private ByteString pong;
    private ByteString ping;
    private ByteString data;
    private ByteString closeFrame;

    Logic(CompletableFuture<CloseReason> closed) {
      super(shape);
      this.closed = closed;

      setHandler(netIn, new AbstractInHandler() {
        @Override
        public void onPush() {
          lastInbound = System.nanoTime();
          decoder.append(grab(netIn));
          readFrames();
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
            readFrames();
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
          data = grab(appIn).bytes;
          flush();
        }

        @Override
        public void onUpstreamFinish() {
          closeWith(CloseCodes.NORMAL, "");
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          if (ex instanceof CloseSignal signal) {
            data = null;
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
          ping = Frames.ping();
          flush();
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

    /** Reads frames while the application takes their messages; then asks for more bytes. */
    private void readFrames() {
      while (pendingText == null && !isClosed(netIn) && decoder.readNext(this)) {
        // each event was handled by a method below
      }
      if (pendingText == null && !isClosed(netIn) && !hasBeenPulled(netIn)) pull(netIn);
    }

    @Override
    public void onText(String text) {
      if (phase != Phase.OPEN) return; // closing: the application no longer listens
      if (isAvailable(appOut)) push(appOut, text);
      else pendingText = text;
    }

    @Override
    public void onPing(ByteString payload) {
      if (phase != Phase.OPEN) return;
      pong = Frames.pong(payload);
      flush();
    }

    @Override
    public void onPong() {
      // only proves the peer is alive, which lastInbound already recorded
    }

    @Override
    public void onClose(PeerClose close) {
      switch (phase) {
        case OPEN -> {
          // the peer started the close: answer with its code, then end the connection
          closeReason = new CloseReason(close.code(), close.reason(), false);
          data = null;
          boolean malformed = close.code() == CloseCodes.PROTOCOL_ERROR;
          startClose(Frames.close(close.code(), malformed ? "bad close frame" : ""), Phase.ANSWERING);
        }
        case CLOSING -> phase = Phase.ANSWERING;
        case CLOSE_SENT -> completeStage();
        case ANSWERING -> { } // a second close frame: ignored
      }
    }

    @Override
    public void onViolation(int code, String reason) {
      closeWith(code, reason);
    }

    // ---- outbound -----------------------------------------------------------------------------

    /** This server closes the connection with {@code code}; once closing, nothing changes. */
    private void closeWith(int code, String reason) {
      if (phase != Phase.OPEN) return;
      closeReason = new CloseReason(code, reason, true);
      // only a normal close by the application still sends the frame it queued last
      if (code != CloseCodes.NORMAL) data = null;
      startClose(Frames.close(code, reason), Phase.CLOSING);
    }

    private void startClose(ByteString frame, Phase next) {
      phase = next;
      closeFrame = frame;
      pong = null;
      ping = null;
      cancel(appIn);
      complete(appOut);
      cancelTimer(PING_TIMER);
      cancelTimer(IDLE_TIMER);
      flush();
      if (pendingText != null) {
        // reading waited for the application, which no longer listens: look for the peer's close
        pendingText = null;
        readFrames();
      }
    }

    /**
     * Writes the next thing waiting, if the socket takes it. Starts the write timer when
     * something waits for a socket that takes nothing, and stops it when nothing waits.
     */
    private void flush() {
      if (isAvailable(netOut)) {
        ByteString next = takeNext();
        if (next != null) {
          push(netOut, next);
          if (next == closeFrame) onCloseFramePushed();
        }
        if (data == null && phase == Phase.OPEN && !hasBeenPulled(appIn)) pull(appIn);
      }
      if (pong == null && ping == null && data == null && closeFrame == null) {
        // isTimerActive first: cancelTimer allocates even when no timer runs, and this runs per frame
        if (isTimerActive(WRITE_TIMER)) cancelTimer(WRITE_TIMER);
      } else if (!isAvailable(netOut) && !isTimerActive(WRITE_TIMER)) {
        scheduleOnce(WRITE_TIMER, settings.writeTimeout());
      }
    }

    private ByteString takeNext() {
      ByteString next;
      if (pong != null) {
        next = pong;
        pong = null;
      } else if (ping != null) {
        next = ping;
        ping = null;
      } else if (data != null) {
        next = data;
        data = null;
      } else {
        next = closeFrame;
      }
      return next;
    }

    private void onCloseFramePushed() {
      closeFrame = null;
      if (phase == Phase.ANSWERING) {
        completeStage();
      } else {
        phase = Phase.CLOSE_SENT;
        scheduleOnce(CLOSE_TIMER, settings.closeTimeout());
      }
    }
  }
}
