package io.parley.ws;

import java.util.Optional;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.javadsl.Flow;
import scala.Option;

/** Answers an upgrade with a frame-level handler (see {@link Frames} for why frame level). */
public final class FrameLevelUpgrade {
  private FrameLevelUpgrade() {}

  /** The 101 response; {@code subprotocol} must be one the client offered. */
  @SuppressWarnings("unchecked")
  public static HttpResponse accept(
      WebSocketUpgrade upgrade, Flow<FrameEvent, FrameEvent, ?> handler, Optional<String> subprotocol) {
    // Scala's Graph is covariant in its materialized value; Java's generics are not.
    Graph<FlowShape<FrameEvent, FrameEvent>, Object> graph =
        (Graph<FlowShape<FrameEvent, FrameEvent>, Object>) (Graph<?, ?>) handler;
    return ((UpgradeToWebSocketLowLevel) upgrade).handleFrames(graph, Option.apply(subprotocol.orElse(null)));
  }
}
