package io.parley.client;

import io.parley.protocol.ClientRequest;
import io.parley.protocol.RequestDecoder;
import io.parley.ws.Outbox;
import io.parley.ws.WebSocketStage;
import io.micrometer.core.instrument.Counter;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/**
 * The stream between one socket and its {@link ClientActor}:
 *
 * <pre>
 *   frames ─▶ WebSocketStage ─▶ text ─▶ RequestDecoder ─▶ ActorSink (one frame at a time) ─▶ ClientActor
 *   frames ◀─ WebSocketStage ◀─ Source.queue(outgoing-buffer) ◀─ Outbox ◀─ ClientActor, NodeFanout
 * </pre>
 *
 * Frames are decoded once, here; the actor gets typed requests and acknowledges each, so a client
 * that floods is slowed by TCP backpressure instead of filling a mailbox.
 */
public final class StreamBridge {
  private StreamBridge() {}

  /**
   * The frame handler for one upgrade. Materializing it sends {@link ClientActor.Attached} to
   * {@code client}; {@code droppedTotal} counts frames dropped for slow clients node-wide.
   */
  public static Flow<FrameEvent, FrameEvent, NotUsed> flow(
      ActorRef<ClientActor.Command> client,
      WebSocketStage.Settings websocket,
      int outgoingBuffer,
      Counter droppedTotal) {
    Sink<String, NotUsed> incoming = Flow.of(String.class)
        .map(RequestDecoder::decode)
        .to(ActorSink.<ClientRequest, ClientActor.Command, ClientActor.Ack>actorRefWithBackpressure(
            client,
            (ackTo, request) -> new ClientActor.Inbound(ackTo, request),
            ClientActor.InboundStarted::new,
            ClientActor.Ack.INSTANCE,
            ClientActor.InboundEnded.INSTANCE,
            failure -> ClientActor.InboundEnded.INSTANCE));
    Source<FrameStart, BoundedSourceQueue<FrameStart>> outgoing =
        Source.queue(outgoingBuffer);
    return BidiFlow.fromGraph(new WebSocketStage(websocket))
        .join(Flow.fromSinkAndSourceMat(incoming, outgoing, Keep.right()), (closed, queue) -> {
          client.tell(new ClientActor.Attached(new Outbox(queue, droppedTotal), closed));
          return NotUsed.getInstance();
        });
  }
}
