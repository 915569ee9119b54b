package io.parley.client;

import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.ServerFrames;
import io.parley.protocol.User;
import io.parley.room.NodeRooms;
import io.parley.ws.CloseCodes;
import io.parley.ws.CloseReason;
import io.parley.ws.OutFrame;
import io.parley.ws.Outbox;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One WebSocket connection. It receives the client's frames already decoded ({@link
 * ClientRequest}, from {@link StreamBridge}), enforces the per-connection rate limit, answers what
 * needs no room (pong, errors for bad frames) and hands every room request to its node's {@link
 * NodeRooms}, which owns the connection's memberships. It never sees the rooms' broadcasts: those
 * go from the node's rooms straight to this connection's {@link Outbox}. It closes the socket
 * when the token expires, on abuse and on drain.
 */
public final class ClientActor extends AbstractBehavior<ClientActor.Command> {

  public sealed interface Command {}

  /** The socket is open: its outbox, and how it will end. */
  public record Attached(Outbox outbox, CompletionStage<CloseReason> closed) implements Command {}

  /** From the stream's ActorSink: each frame is acknowledged before the next one comes. */
  public record InboundStarted(ActorRef<Ack> ackTo) implements Command {}

  public record Inbound(ActorRef<Ack> ackTo, ClientRequest request) implements Command {}

  /** The incoming stream ended: every request the socket read has been handed over. */
  public enum InboundEnded implements Command { INSTANCE }

  /** Close the socket with this code (drain: 1001). */
  public record Close(int code, String reason) implements Command {}

  public enum Ack { INSTANCE }

  private record SocketClosed(CloseReason reason) implements Command {}

  private enum TokenExpired implements Command { INSTANCE }

  private enum AttachTimeout implements Command { INSTANCE }

  private enum LastRequestsTimeout implements Command { INSTANCE }

  /**
   * After the socket closed, how long the actor waits for the requests the socket read before it
   * closed (they come by another route than the news of the close, and may come after it).
   */
  private static final Duration LAST_REQUESTS = Duration.ofSeconds(5);

  private static final Duration MAX_TIMER = Duration.ofDays(1);

  /** What a connection is, fixed at the upgrade. {@code expiresAt} may be null. */
  public record Connection(String id, User user, Instant expiresAt, String remote) {}

  /** What every connection of a node shares. */
  public record Node(
      String name,
      ActorRef<NodeRooms.ClientCommand> rooms,
      ClientSettings settings,
      Duration attachTimeout,
      LongSupplier nanoClock) {}

  public static Behavior<Command> create(Connection connection, Node node) {
    Map<String, String> mdc = Map.of(
        "userId", connection.user().id(), "connectionId", connection.id(), "node", node.name());
    return Behaviors.withMdc(Command.class, mdc, Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startSingleTimer(AttachTimeout.INSTANCE, node.attachTimeout());
      return awaitingSocket(ctx, timers, connection, node, null);
    })));
  }

  /** Before the upgrade response has been materialized into a socket. */
  private static Behavior<Command> awaitingSocket(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      Connection connection,
      Node node,
      Close closeOnAttach) {
    return Behaviors.receive(Command.class)
        .onMessage(Attached.class, attached -> {
          timers.cancel(AttachTimeout.INSTANCE);
          ClientActor actor = new ClientActor(ctx, timers, connection, node, attached);
          return closeOnAttach == null ? actor : actor.onClose(closeOnAttach);
        })
        .onMessage(Close.class, close -> awaitingSocket(ctx, timers, connection, node, close))
        .onMessageEquals(AttachTimeout.INSTANCE, () -> {
          ctx.getLog().info("upgrade not completed user={} connection={}",
              connection.user().id(), connection.id());
          return Behaviors.stopped();
        })
        .build();
  }

  private final Connection connection;
  private final Node node;
  private final Outbox outbox;
  private final RateLimiter limiter;
  private final TimerScheduler<Command> timers;
  private final ParleyMetrics metrics;
  private final String rateLimitMessage;
  private boolean closing;

  private ClientActor(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      Connection connection,
      Node node,
      Attached attached) {
    super(context);
    this.connection = connection;
    this.node = node;
    this.outbox = attached.outbox();
    this.limiter = new RateLimiter(node.settings(), node.nanoClock());
    this.metrics = ParleyMetrics.get(context.getSystem());
    this.timers = timers;
    this.rateLimitMessage = "more than " + perSecond(node.settings().ratePerSecond()) + " frames per second";

    node.rooms().tell(new NodeRooms.Connect(connection.id(), connection.user(), outbox));
    send("connected", ServerFrames.connected(connection.id(), connection.user(), node.name()));
    context.pipeToSelf(attached.closed(), (reason, error) -> new SocketClosed(
        reason != null ? reason : new CloseReason(CloseCodes.ABNORMAL, String.valueOf(error), false)));
    scheduleExpiry();
    context.getLog().info("connected user={} connection={} remote={}",
        connection.user().id(), connection.id(), connection.remote());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Inbound.class, this::onInbound)
        .onMessage(InboundStarted.class, started -> ack(started.ackTo()))
        .onMessageEquals(InboundEnded.INSTANCE, this::onInboundEnded)
        .onMessage(Close.class, this::onClose)
        .onMessageEquals(TokenExpired.INSTANCE, this::onTokenExpired)
        .onMessage(SocketClosed.class, this::onSocketClosed)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  /**
   * Arms the expiry timer for the token's {@code exp}, at most a day ahead (the scheduler takes
   * no delay beyond ~248 days); a timer that fires early re-arms.
   */
  private void scheduleExpiry() {
    if (connection.expiresAt() == null) return;
    Duration left = Duration.between(Instant.now(), connection.expiresAt());
    Duration delay = left.isNegative() ? Duration.ZERO : left.compareTo(MAX_TIMER) > 0 ? MAX_TIMER : left;
    timers.startSingleTimer(TokenExpired.INSTANCE, delay);
  }

  private Behavior<Command> onTokenExpired() {
    if (Instant.now().isBefore(connection.expiresAt())) {
      scheduleExpiry();
      return this;
    }
    return closeSocket(CloseCodes.TOKEN_EXPIRED, "token expired");
  }

  private Behavior<Command> onInbound(Inbound inbound) {
    inbound.ackTo().tell(Ack.INSTANCE);
    if (closing) return this;
    ClientRequest request = inbound.request();
    metrics.frameIn(request.type()).increment();
    if (!limiter.tryAcquire()) return onRateLimited(request);

    if (request instanceof ClientRequest.Invalid invalid) {
      sendError(invalid.id(), invalid.room(), invalid.code(), invalid.message());
    } else if (request instanceof ClientRequest.Ping ping) {
      send("pong", ServerFrames.pong(ping.id()));
    } else {
      node.rooms().tell(new NodeRooms.Request(connection.id(), request));
    }
    return this;
  }

  private Behavior<Command> onRateLimited(ClientRequest request) {
    metrics.rateLimited.increment();
    sendError(request.id(), request.room(), ErrorCode.RATE_LIMITED, rateLimitMessage);
    if (limiter.discardIsAbuse()) return closeSocket(CloseCodes.POLICY_VIOLATION, "rate limit abuse");
    return this;
  }

  /** 20 as "20", 2.5 as "2.5". */
  private static String perSecond(double rate) {
    return rate == Math.rint(rate) ? Long.toString((long) rate) : Double.toString(rate);
  }

  private Behavior<Command> onClose(Close close) {
    return closeSocket(close.code(), close.reason());
  }

  private Behavior<Command> closeSocket(int code, String reason) {
    if (!closing) {
      closing = true;
      outbox.close(code, reason);
    }
    return this;
  }

  /**
   * The socket closed. Requests it read before that may still be on their way: they are carried
   * out (a message sent just before a clean close is delivered) until the incoming stream's end
   * says none is left.
   */
  private Behavior<Command> onSocketClosed(SocketClosed closed) {
    logClosed(closed.reason());
    timers.startSingleTimer(LastRequestsTimeout.INSTANCE, LAST_REQUESTS);
    return Behaviors.receive(Command.class)
        .onMessage(Inbound.class, inbound -> {
          onInbound(inbound);
          return Behaviors.same();
        })
        .onMessageEquals(InboundEnded.INSTANCE, Behaviors::stopped)
        .onMessageEquals(LastRequestsTimeout.INSTANCE, Behaviors::stopped)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  /** Every request the socket read is handed over; the news of the close is all that is left. */
  private Behavior<Command> onInboundEnded() {
    return Behaviors.receive(Command.class)
        .onMessage(SocketClosed.class, closed -> {
          logClosed(closed.reason());
          return Behaviors.stopped();
        })
        .onMessage(Close.class, close -> {
          onClose(close);
          return Behaviors.same();
        })
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private void logClosed(CloseReason reason) {
    metrics.closed(reason.code());
    getContext().getLog().info(
        "disconnected user={} connection={} code={} reason={} by={} dropped={}",
        connection.user().id(), connection.id(), reason.code(), reason.reason(),
        reason.byServer() ? "server" : "client", outbox.dropped());
  }

  private Behavior<Command> onPostStop() {
    node.rooms().tell(new NodeRooms.Disconnect(connection.id()));
    outbox.close(CloseCodes.INTERNAL_ERROR, "internal error"); // no-op unless we failed first
    return this;
  }

  private Behavior<Command> ack(ActorRef<Ack> ackTo) {
    ackTo.tell(Ack.INSTANCE);
    return this;
  }

  private void sendError(RequestId id, String room, ErrorCode code, String message) {
    send("error", ServerFrames.error(id, room, code, message));
  }

  private void send(String type, byte[] frame) {
    metrics.frameOut(type).increment();
    outbox.reply(OutFrame.text(frame)); // connected, pong and errors answer the client: never dropped
  }
}
