package io.parley.client;

import io.micrometer.core.instrument.Counter;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.RequestDecoder;
import io.parley.ws.WebSocketHandler;
import io.parley.ws.WebSocketSettings;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/**
 * The stream between one socket and its {@link ClientActor}:
 *
 * <pre>
 *   socket ─▶ WebSocketHandler ─▶ text ─▶ RequestDecoder ─▶ ActorSink (one frame at a time) ─▶ ClientActor
 *   socket ◀─ WebSocketHandler ◀─ Outbox (bounded) ◀─ ClientActor, the node's rooms
 * </pre>
 *
 * Frames are decoded once, here; the actor gets typed requests and acknowledges each, so a client
 * that floods is slowed by TCP backpressure instead of filling a mailbox.
 */
public final class StreamBridge {
  private StreamBridge() {}

  /**
   * Accepts the upgrade with a handler bound to {@code client}: once the socket is open, {@code
   * client} gets {@link ClientActor.Attached}. {@code droppedTotal} counts frames dropped for slow
   * clients node-wide.
   */
  public static HttpResponse accept(
      WebSocketUpgrade upgrade,
      Optional<String> subprotocol,
      ActorRef<ClientActor.Command> client,
      WebSocketSettings websocket,
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
    return WebSocketHandler.accept(upgrade, subprotocol, websocket, incoming, outgoingBuffer,
        droppedTotal, (outbox, closed) -> client.tell(new ClientActor.Attached(outbox, closed)));
  }
}
