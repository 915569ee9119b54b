package io.parley.ws;

import io.micrometer.core.instrument.Counter;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import org.apache.pekko.NotUsed;
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
import scala.Option;

/**
 * Accepts an upgrade with Parley's frame-level handler (see {@link Frames} for why frame level):
 *
 * <pre>
 *   socket ─▶ WebSocketStage ─▶ text messages ─▶ incoming
 *   socket ◀─ WebSocketStage ◀─ Outbox (lanes: broadcast, reply, replay)
 * </pre>
 */
public final class WebSocketHandler {
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
    Flow<FrameEvent, FrameEvent, NotUsed> handler = BidiFlow.fromGraph(new WebSocketStage(settings))
        .join(Flow.fromSinkAndSourceMat(incoming, outgoing, Keep.right()), (closed, outbox) -> {
          attached.accept(outbox, closed);
          return NotUsed.getInstance();
        });
    return accept(upgrade, handler, subprotocol);
  }

  @SuppressWarnings("unchecked")
  private static HttpResponse accept(
      WebSocketUpgrade upgrade, Flow<FrameEvent, FrameEvent, ?> handler, Optional<String> subprotocol) {
    // Scala's Graph is covariant in its materialized value; Java's generics are not.
    Graph<FlowShape<FrameEvent, FrameEvent>, Object> graph =
        (Graph<FlowShape<FrameEvent, FrameEvent>, Object>) (Graph<?, ?>) handler;
    return ((UpgradeToWebSocketLowLevel) upgrade).handleFrames(graph, Option.apply(subprotocol.orElse(null)));
  }
}
