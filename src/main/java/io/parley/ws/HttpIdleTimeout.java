package io.parley.ws;

import java.time.Duration;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * The idle timeout of an HTTP connection until it is upgraded: a connection with no request in
 * flight for {@code timeout} (since it opened, or since its last response) is closed. At the
 * upgrade, pekko-http ends the connection's HTTP side and this stage with it; from then on the
 * WebSocket's own deadlines ({@link WebSocketStage}) govern the socket.
 *
 * <p>It stands in for pekko-http's {@code idle-timeout} (turned off), which checks every
 * connection once a second for as long as it is open, upgraded or not. This one is kept by the
 * node's {@link ConnectionClock}, which looks at a connection only at its deadline. It sits
 * between pekko-http and the request handler of each connection:
 *
 * <pre>
 *   pekko-http ─▶ requests ─▶ [in flight +1] ─▶ handler
 *   pekko-http ◀─ responses ◀─ [in flight -1; none left: idle from now] ◀─ handler
 * </pre>
 */
public final class HttpIdleTimeout
    extends GraphStage<BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse>> {

  private static final long NONE = Deadlines.NONE;

  private final long timeoutNanos;
  private final Duration tick;
  private final Inlet<HttpRequest> requestIn = Inlet.create("HttpIdleTimeout.requestIn");
  private final Outlet<HttpRequest> requestOut = Outlet.create("HttpIdleTimeout.requestOut");
  private final Inlet<HttpResponse> responseIn = Inlet.create("HttpIdleTimeout.responseIn");
  private final Outlet<HttpResponse> responseOut = Outlet.create("HttpIdleTimeout.responseOut");
  private final BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse> shape =
      BidiShape.of(requestIn, requestOut, responseIn, responseOut);

  private HttpIdleTimeout(Duration timeout) {
    this.timeoutNanos = timeout.toNanos();
    this.tick = ConnectionClock.tickFor(timeout);
  }

  /** {@code handler}, each of its connections closed after {@code timeout} idle until it is upgraded. */
  public static Flow<HttpRequest, HttpResponse, NotUsed> around(
      Flow<HttpRequest, HttpResponse, ?> handler, Duration timeout) {
    return BidiFlow.fromGraph(new HttpIdleTimeout(timeout)).join(handler);
  }

  @Override
  public BidiShape<HttpRequest, HttpRequest, HttpResponse, HttpResponse> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new Logic();
  }

  private final class Logic extends GraphStageLogic {
    private final AsyncCallback<Long> clockWoke = createAsyncCallback(this::onClock);
    // only its idle deadline is used: NONE while a request is in flight
    private final Deadlines deadlines = new Deadlines(clockWoke::invoke);
    private ConnectionClock clock;
    private int inFlight;

    Logic() {
      super(shape);
      setHandler(requestIn, new AbstractInHandler() {
        @Override
        public void onPush() {
          inFlight++;
          deadlines.idle = NONE;
          push(requestOut, grab(requestIn));
        }

        @Override
        public void onUpstreamFinish() {
          complete(requestOut);
        }
      });
      setHandler(requestOut, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(requestIn);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(requestIn, cause);
        }
      });
      setHandler(responseIn, new AbstractInHandler() {
        @Override
        public void onPush() {
          inFlight--;
          if (inFlight == 0) watch();
          push(responseOut, grab(responseIn));
        }

        @Override
        public void onUpstreamFinish() {
          complete(responseOut);
        }
      });
      setHandler(responseOut, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(responseIn);
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          cancel(responseIn, cause);
        }
      });
    }

    @Override
    public void preStart() {
      clock = ConnectionClock.get(materializer().system());
      clock.ensureTick(tick);
      watch();
    }

    @Override
    public void postStop() {
      if (clock != null) clock.forget(deadlines);
    }

    private void watch() {
      deadlines.idle = System.nanoTime() + timeoutNanos;
      clock.wakeAt(deadlines, deadlines.idle);
    }

    private void onClock(long now) {
      // the deadline may have moved (a request came) since the clock saw it due
      if (Deadlines.due(deadlines.idle, now)) completeStage();
    }
  }
}
