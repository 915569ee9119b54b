package io.parley.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The floor: a bare pekko-http WebSocket broadcast server, written for the benchmark. No actors,
 * no protocol, no authentication: {@code GET /ws?room=R} joins room R, and every text message a
 * socket sends is wrapped once in a {@link TextMessage} and offered to the bounded queue (256, as
 * Parley's outbox) of every other socket of the room. {@code /echo} echoes (pekko-http's bare
 * echo, for the density reference). Same pekko and pekko-http versions as Parley.
 *
 * <pre>java -cp parley-bench.jar io.parley.bench.BareServer --host 127.0.0.21 --port 18080</pre>
 */
public final class BareServer {
  private final Materializer materializer;
  private final ConcurrentHashMap<String, Set<BoundedSourceQueue<Message>>> rooms = new ConcurrentHashMap<>();
  private final LongAdder broadcasts = new LongAdder();
  private final LongAdder deliveries = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder sockets = new LongAdder();

  private BareServer(Materializer materializer) {
    this.materializer = materializer;
  }

  public static void main(String[] args) throws Exception {
    String host = Main.option(args, "--host", "127.0.0.1");
    int port = Integer.parseInt(Main.option(args, "--port", "18080"));
    // the pekko-http settings Parley's conf/http.conf uses for the same job
    Config config = ConfigFactory.parseString("""
        pekko.loglevel = WARNING
        pekko.http.server.idle-timeout = 120s
        pekko.http.server.max-connections = 65536
        pekko.http.server.backlog = 1024
        """).withFallback(ConfigFactory.load());
    ActorSystem system = ActorSystem.create("bare", config);
    BareServer server = new BareServer(Materializer.matFromSystem(system));
    Http.get(system).newServerAt(host, port).bindSync(server::handle).toCompletableFuture().get();
    System.out.println("bare server listening on " + host + ":" + port);
  }

  private HttpResponse handle(HttpRequest request) {
    String path = request.getUri().path();
    Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
    switch (path) {
      case "/ready", "/alive":
        return HttpResponse.create().withEntity("ready");
      case "/metrics":
        return HttpResponse.create().withEntity(
            "bare_broadcasts_total " + broadcasts.sum() + "\n"
                + "bare_deliveries_total " + deliveries.sum() + "\n"
                + "bare_dropped_frames_total " + dropped.sum() + "\n"
                + "bare_sockets " + sockets.sum() + "\n");
      case "/echo":
        if (upgrade.isEmpty()) return HttpResponse.create().withStatus(StatusCodes.BAD_REQUEST);
        return upgrade.get().handleMessagesWith(Flow.<Message>create());
      case "/ws":
        if (upgrade.isEmpty()) return HttpResponse.create().withStatus(StatusCodes.BAD_REQUEST);
        return upgrade.get().handleMessagesWith(room(request.getUri().query().get("room").orElse("all")));
      default:
        return HttpResponse.create().withStatus(StatusCodes.NOT_FOUND);
    }
  }

  private Flow<Message, Message, ?> room(String roomId) {
    Set<BoundedSourceQueue<Message>> members = rooms.computeIfAbsent(roomId, r -> ConcurrentHashMap.newKeySet());
    AtomicReference<BoundedSourceQueue<Message>> self = new AtomicReference<>();
    Sink<Message, ?> incoming = Flow.<Message>create()
        .mapAsync(1, this::strictText)
        .to(Sink.foreach(text -> {
          if (text.isEmpty()) return;
          broadcast(members, TextMessage.create(text), self.get());
        }));
    Source<Message, BoundedSourceQueue<Message>> outgoing = Source.<Message>queue(256)
        .mapMaterializedValue(queue -> {
          self.set(queue);
          members.add(queue);
          sockets.increment();
          return queue;
        })
        .watchTermination((queue, done) -> {
          done.whenComplete((ok, failure) -> {
            members.remove(queue);
            sockets.decrement();
          });
          return queue;
        });
    return Flow.fromSinkAndSourceCoupledMat(incoming, outgoing, Keep.right());
  }

  private CompletionStage<String> strictText(Message message) {
    if (!message.isText()) {
      message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer);
      return CompletableFuture.completedFuture("");
    }
    TextMessage text = message.asTextMessage();
    if (text.isStrict()) return CompletableFuture.completedFuture(text.getStrictText());
    return text.getStreamedText().runFold(new StringBuilder(), StringBuilder::append, materializer)
        .thenApply(StringBuilder::toString);
  }

  /** One message object for the whole room; only the queue offer per recipient. */
  private void broadcast(Set<BoundedSourceQueue<Message>> members, Message message, Object sender) {
    broadcasts.increment();
    long sent = 0;
    for (BoundedSourceQueue<Message> queue : members) {
      if (queue == sender) continue;
      QueueOfferResult result = queue.offer(message);
      if (result == QueueOfferResult.enqueued()) sent++;
      else if (result == QueueOfferResult.dropped()) dropped.increment();
    }
    deliveries.add(sent);
  }
}
