package io.parley.ws;

import io.micrometer.core.instrument.Counter;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.impl.engine.server.UpgradeToOtherProtocolResponseHeader;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import scala.Option;

/**
 * Accepts an upgrade: pekko-http answers the handshake (101, {@code Sec-WebSocket-Accept}) and
 * then hands the socket's bytes to Parley's own RFC 6455 code:
 *
 * <pre>
 *   socket ─▶ WebSocketStage (FrameDecoder) ─▶ text messages ─▶ incoming
 *   socket ◀─ WebSocketStage ◀─ Outbox (lanes: broadcast, reply, replay)
 * </pre>
 *
 * <p>pekko-http's public message API cannot close with a chosen code (akka/akka-http#2458: 1001,
 * 1008, 1009, 4001 are part of our protocol) and renders every text message again for every
 * recipient, so Parley takes the bytes after the upgrade through pekko-http's internal {@code
 * UpgradeToOtherProtocolResponseHeader}, the same hook its own WebSocket support uses. Only this
 * package touches pekko-http's internals; the pekko-http version is pinned in pom.xml and the
 * end-to-end tests exercise every path.
 */
public final class WebSocketHandler {
  /** Stands in for the frame handler that the response's upgrade header then replaces. */
  @SuppressWarnings("unchecked") // Scala's Graph is covariant in its materialized value; Java's is not
  private static final Graph<FlowShape<FrameEvent, FrameEvent>, Object> NO_FRAME_HANDLER =
      (Graph<FlowShape<FrameEvent, FrameEvent>, Object>) (Graph<?, ?>) Flow.<FrameEvent>create();
  private static final String UPGRADE_HEADER = "UpgradeToOtherProtocolResponseHeader";

  private WebSocketHandler() {}

  /**
   * The 101 response; {@code subprotocol} must be one the client offered. Once the socket is
   * open, {@code attached} gets its {@link Outbox} and how the connection will end.
   *
   * @param outgoingBuffer broadcast frames queued for the socket before further ones are dropped
   * @param droppedTotal the node-wide count of dropped frames
   */
  public static HttpResponse accept(
      WebSocketUpgrade upgrade,
      Optional<String> subprotocol,
      WebSocketSettings settings,
      Sink<String, NotUsed> incoming,
      int outgoingBuffer,
      Counter droppedTotal,
      BiConsumer<Outbox, CompletionStage<CloseReason>> attached) {
    Source<OutFrame, Outbox> outgoing = Outbox.source(outgoingBuffer, droppedTotal);
    Flow<ByteString, ByteString, NotUsed> handler = BidiFlow.fromGraph(new WebSocketStage(settings))
        .join(Flow.fromSinkAndSourceMat(incoming, outgoing, Keep.right()), (closed, outbox) -> {
          attached.accept(outbox, closed);
          return NotUsed.getInstance();
        });
    return accept(upgrade, handler, subprotocol);
  }

  /** pekko-http's handshake response, its frame handler replaced by {@code handler} on bytes. */
  @SuppressWarnings("unchecked")
  private static HttpResponse accept(
      WebSocketUpgrade upgrade, Flow<ByteString, ByteString, NotUsed> handler, Optional<String> subprotocol) {
    HttpResponse handshake = ((UpgradeToWebSocketLowLevel) upgrade)
        .handleFrames(NO_FRAME_HANDLER, Option.apply(subprotocol.orElse(null)));
    var bytes = (org.apache.pekko.stream.scaladsl.Flow<ByteString, ByteString, Object>) (Object) handler.asScala();
    return handshake
        .removeHeader(UPGRADE_HEADER)
        .addHeader(UpgradeToOtherProtocolResponseHeader.apply(bytes));
  }
}
