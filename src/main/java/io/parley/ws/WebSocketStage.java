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
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * One server-side WebSocket connection after the upgrade, between the socket's bytes (the network
 * side) and Parley (the application side):
 *
 * <pre>
 *   socket bytes ─▶ netIn ─▶ FrameDecoder ─▶ [ping/pong/close, limits]  ─▶ appOut: text
 *   socket bytes ◀─ netOut ◀─ [control frames first, batches, write timeout] ◀─ appIn: frames
 * </pre>
 *
 * <ul>
 *   <li>what {@link FrameDecoder} refuses closes with its code: 1009 too big, 1003 binary, 1007
 *       bad UTF-8, 1002 any other protocol violation;
 *   <li>the server pings every {@code pingInterval}; when nothing at all arrives for {@code
 *       idleTimeout} it closes with 1001;
 *   <li>when the socket takes nothing for {@code writeTimeout} while something waits, the
 *       connection is aborted (the peer is not reading, so no close frame could reach it);
 *   <li>these deadlines are kept by the node's {@link ConnectionClock}, which wakes the stage only
 *       when one is due: an idle connection has no timer of its own;
 *   <li>the application closes the socket by completing appIn (1000) or failing it with a {@link
 *       CloseSignal} (its code; any other failure: 1011).
 * </ul>
 *
 * The materialized value completes with how the connection ended.
 */
final class WebSocketStage
    extends AbstractGraphStageWithMaterializedValue<
        BidiShape<ByteString, String, OutFrame, ByteString>, CompletionStage<CloseReason>> {

  private static final long NONE = Deadlines.NONE;
  /**
   * Data frames gathered while the socket is busy, written together in one write: beyond this
   * many bytes, no more are taken from the outbox until the socket takes them.
   */
  private static final int MAX_BATCH_BYTES = 32 * 1024;

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

  private final class Logic extends GraphStageLogic implements FrameDecoder.Handler {
    private final CompletableFuture<CloseReason> closed;
    private final FrameDecoder decoder = new FrameDecoder(settings.maxMessageBytes());
    private final AsyncCallback<Long> clockWoke = createAsyncCallback(this::onClock);
    private final Deadlines deadlines = new Deadlines(clockWoke::invoke);
    private ConnectionClock clock;
    private Phase phase = Phase.OPEN;
    private CloseReason closeReason;
    // a complete text message waiting for the application to pull
    private String pendingText;

    // waiting for the socket, written in this order: at most one pong (for the latest ping),
    // one ping, the data frames (gathered while the socket was busy), and the close frame
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
          if (phase == Phase.OPEN) deadlines.idle = System.nanoTime() + settings.idleTimeout().toNanos();
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
          ByteString frame = grab(appIn).bytes;
          data = data == null ? frame : data.concat(frame);
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
      long now = System.nanoTime();
      deadlines.ping = now + settings.pingInterval().toNanos();
      deadlines.idle = now + settings.idleTimeout().toNanos();
      clock = ConnectionClock.get(materializer().system());
      clock.ensureTick(ConnectionClock.tickFor(shortestTimeout()));
      clock.wakeAt(deadlines, deadlines.next());
      pull(netIn);
      pull(appIn);
    }

    private Duration shortestTimeout() {
      Duration shortest = settings.pingInterval();
      for (Duration d : new Duration[] {settings.idleTimeout(), settings.writeTimeout(), settings.closeTimeout()}) {
        if (d.compareTo(shortest) < 0) shortest = d;
      }
      return shortest;
    }

    @Override
    public void postStop() {
      if (clock != null) clock.forget(deadlines);
      closed.complete(
          closeReason != null ? closeReason : new CloseReason(CloseCodes.ABNORMAL, "", false));
    }

    private void onClock(long now) {
      if (Deadlines.due(deadlines.write, now)) {
        closeReason = new CloseReason(CloseCodes.ABNORMAL, "write timeout", true);
        failStage(new WriteTimeoutException(settings.writeTimeout()));
      } else if (Deadlines.due(deadlines.close, now)) {
        completeStage();
      } else if (Deadlines.due(deadlines.idle, now)) {
        closeWith(CloseCodes.GOING_AWAY, "idle timeout");
      } else if (Deadlines.due(deadlines.ping, now)) {
        deadlines.ping = now + settings.pingInterval().toNanos();
        ping = Frames.ping();
        flush();
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
      // only proves the peer is alive, which the idle deadline already recorded
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
      deadlines.ping = NONE;
      deadlines.idle = NONE;
      cancel(appIn);
      complete(appOut);
      flush();
      if (pendingText != null) {
        // reading waited for the application, which no longer listens: look for the peer's close
        pendingText = null;
        readFrames();
      }
    }

    /**
     * Writes the next thing waiting, if the socket takes it. The write deadline runs while
     * something waits for a socket that takes nothing, from the last time it took something.
     */
    private void flush() {
      boolean wrote = false;
      if (isAvailable(netOut)) {
        ByteString next = takeNext();
        if (next != null) {
          push(netOut, next);
          wrote = true;
          if (next == closeFrame) onCloseFramePushed();
        }
      }
      if (phase == Phase.OPEN && (data == null || data.length() < MAX_BATCH_BYTES) && !hasBeenPulled(appIn)) {
        pull(appIn);
      }
      if (pong == null && ping == null && data == null && closeFrame == null) {
        if (deadlines.write != NONE) deadlines.write = NONE;
      } else if (deadlines.write == NONE) {
        deadlines.write = System.nanoTime() + settings.writeTimeout().toNanos();
        clock.wakeAt(deadlines, deadlines.write);
      } else if (wrote) {
        deadlines.write = System.nanoTime() + settings.writeTimeout().toNanos(); // the clock finds it later
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
        deadlines.close = System.nanoTime() + settings.closeTimeout().toNanos();
        clock.wakeAt(deadlines, deadlines.close);
      }
    }
  }
}
