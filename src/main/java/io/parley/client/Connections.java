package io.parley.client;

import io.parley.common.CborSerializable;
import io.parley.metrics.ParleyMetrics;
import io.parley.online.OnlineTracker;
import io.parley.protocol.User;
import io.parley.ws.CloseCodes;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The node's connections: admits upgrades (or refuses them while draining, at the connection
 * limits, or beyond the connect rate), spawns one {@link ClientActor} per socket as its child,
 * reports who connects and disconnects to the {@link OnlineTracker}, and closes them all on drain,
 * or those of one user when the server API disconnects them.
 */
public final class Connections extends AbstractBehavior<Connections.Command> {

  /** The actor's name under /user on every node; the server API finds each node's by it. */
  public static final String NAME = "connections";

  public sealed interface Command {}

  /**
   * Asked once per upgrade request, before any other check of it: whether the node admits an
   * upgrade now. Takes one of the connect rate's tokens, so that a storm is refused before it
   * costs the token check and the socket.
   */
  public record CheckAdmission(ActorRef<Admission> replyTo) implements Command {}

  /** Admitted when {@code refusal} is null; {@code retryAfter} is set for CONNECT_RATE. */
  public record Admission(Refusal refusal, Duration retryAfter) {
    public boolean admits() {
      return refusal == null;
    }
  }

  /** Whether the node is draining (readiness); takes no token. */
  public record IsDraining(ActorRef<Boolean> replyTo) implements Command {}

  /** Spawns the ClientActor for an authenticated upgrade, unless a cap refuses it. */
  public record Open(User user, Instant expiresAt, String remote, ActorRef<Opened> replyTo)
      implements Command {}

  /** Why an upgrade was refused. */
  public enum Refusal {
    DRAINING, NODE_FULL, USER_FULL, CONNECT_RATE;

    /** The metrics label and log reason. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Either {@code client} (and its connection id) or the {@code refusal}. */
  public record Opened(String connectionId, ActorRef<ClientActor.Command> client, Refusal refusal) {}

  /** Refuse new upgrades from now on (503, readiness down). */
  public record StopAdmitting(ActorRef<Done> replyTo) implements Command {}

  /** Close every connection with this code; replies once they have all stopped. */
  public record CloseAll(int code, String reason, ActorRef<Done> replyTo) implements Command {}

  /**
   * Close every connection of the user on this node with 4003 (disconnected by the server API);
   * sent from any node. Answered with how many it closed (one already closing is not counted).
   */
  public record DisconnectUser(String userId, ActorRef<UserDisconnected> replyTo)
      implements Command, CborSerializable {}

  public record UserDisconnected(int connections) implements CborSerializable {}

  private record ClientStopped(String connectionId) implements Command {}

  /**
   * @param limits the node's connection caps ({@code maxConnections}, {@code maxConnectionsPerUser})
   * @param newClient the behaviour of a connection's actor
   */
  public static Behavior<Command> create(
      ClientSettings limits,
      ConnectRate connectRate,
      Function<ClientActor.Connection, Behavior<ClientActor.Command>> newClient,
      ActorRef<OnlineTracker.Command> online) {
    return Behaviors.setup(ctx -> new Connections(ctx, limits, connectRate, newClient, online));
  }

  /** The Connections of the node at {@code address} (it runs under the same name everywhere). */
  public static ActorRef<Command> at(ActorSystem<?> system, Address address) {
    return ActorRefResolver.get(system).resolveActorRef(address + "/user/" + NAME);
  }

  private final ClientSettings limits;
  private final ConnectRateLimiter connectRate;
  private final Function<ClientActor.Connection, Behavior<ClientActor.Command>> newClient;
  private final ActorRef<OnlineTracker.Command> online;
  private final Map<String, ActorRef<ClientActor.Command>> clients = new HashMap<>();
  private final Map<String, User> users = new HashMap<>();
  private final Map<String, Integer> connectionsPerUser = new HashMap<>();
  private final ParleyMetrics metrics;
  private final Set<ActorRef<Done>> waitingForClose = new HashSet<>();
  /** Connections told to close by the server API, until they have stopped: not counted again. */
  private final Set<String> disconnecting = new HashSet<>();
  private boolean admitting = true;

  private Connections(
      ActorContext<Command> context,
      ClientSettings limits,
      ConnectRate connectRate,
      Function<ClientActor.Connection, Behavior<ClientActor.Command>> newClient,
      ActorRef<OnlineTracker.Command> online) {
    super(context);
    this.limits = limits;
    this.connectRate = new ConnectRateLimiter(connectRate, System::nanoTime);
    this.newClient = newClient;
    this.online = online;
    this.metrics = ParleyMetrics.get(context.getSystem());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CheckAdmission.class, this::onCheckAdmission)
        .onMessage(IsDraining.class, this::onIsDraining)
        .onMessage(Open.class, this::onOpen)
        .onMessage(ClientStopped.class, this::onClientStopped)
        .onMessage(StopAdmitting.class, this::onStopAdmitting)
        .onMessage(CloseAll.class, this::onCloseAll)
        .onMessage(DisconnectUser.class, this::onDisconnectUser)
        .build();
  }

  /** Draining or full: the refusals that hold for every upgrade, whoever asks. */
  private Refusal nodeRefusal() {
    return !admitting ? Refusal.DRAINING
        : clients.size() >= limits.maxConnections() ? Refusal.NODE_FULL
        : null;
  }

  private Behavior<Command> onCheckAdmission(CheckAdmission check) {
    Refusal refusal = nodeRefusal();
    if (refusal != null) {
      check.replyTo().tell(new Admission(refusal, null));
      return this;
    }
    Duration wait = connectRate.acquire();
    check.replyTo().tell(wait.isZero() ? new Admission(null, null) : new Admission(Refusal.CONNECT_RATE, wait));
    return this;
  }

  private Behavior<Command> onIsDraining(IsDraining isDraining) {
    isDraining.replyTo().tell(!admitting);
    return this;
  }

  private Behavior<Command> onOpen(Open open) {
    int userConnections = connectionsPerUser.getOrDefault(open.user().id(), 0);
    Refusal refusal = nodeRefusal();
    if (refusal == null && userConnections >= limits.maxConnectionsPerUser()) refusal = Refusal.USER_FULL;
    if (refusal != null) {
      open.replyTo().tell(new Opened(null, null, refusal));
      return this;
    }
    String id = newConnectionId();
    ClientActor.Connection connection =
        new ClientActor.Connection(id, open.user(), open.expiresAt(), open.remote());
    ActorRef<ClientActor.Command> client = getContext().spawn(newClient.apply(connection), "client-" + id);
    getContext().watchWith(client, new ClientStopped(id));
    clients.put(id, client);
    users.put(id, open.user());
    connectionsPerUser.put(open.user().id(), userConnections + 1);
    updateGauges();
    online.tell(new OnlineTracker.Connected(open.user().id()));
    open.replyTo().tell(new Opened(id, client, null));
    return this;
  }

  private Behavior<Command> onClientStopped(ClientStopped stopped) {
    clients.remove(stopped.connectionId());
    disconnecting.remove(stopped.connectionId());
    User user = users.remove(stopped.connectionId());
    if (user != null) {
      if (connectionsPerUser.merge(user.id(), -1, Integer::sum) <= 0) connectionsPerUser.remove(user.id());
      online.tell(new OnlineTracker.Disconnected(user.id()));
    }
    updateGauges();
    replyIfAllClosed();
    return this;
  }

  private Behavior<Command> onStopAdmitting(StopAdmitting stop) {
    admitting = false;
    stop.replyTo().tell(Done.getInstance());
    return this;
  }

  private Behavior<Command> onCloseAll(CloseAll closeAll) {
    admitting = false;
    ClientActor.Close close = new ClientActor.Close(closeAll.code(), closeAll.reason());
    for (ActorRef<ClientActor.Command> client : clients.values()) client.tell(close);
    waitingForClose.add(closeAll.replyTo());
    replyIfAllClosed();
    return this;
  }

  private Behavior<Command> onDisconnectUser(DisconnectUser disconnect) {
    ClientActor.Close close = new ClientActor.Close(CloseCodes.DISCONNECTED, "disconnected by the server API");
    int closed = 0;
    for (Map.Entry<String, User> connection : users.entrySet()) {
      if (connection.getValue().id().equals(disconnect.userId()) && disconnecting.add(connection.getKey())) {
        clients.get(connection.getKey()).tell(close);
        closed++;
      }
    }
    getContext().getLog().info("disconnecting user={} connections={} (server API)", disconnect.userId(), closed);
    disconnect.replyTo().tell(new UserDisconnected(closed));
    return this;
  }

  private void replyIfAllClosed() {
    if (clients.isEmpty() && !waitingForClose.isEmpty()) {
      waitingForClose.forEach(replyTo -> replyTo.tell(Done.getInstance()));
      waitingForClose.clear();
    }
  }

  private void updateGauges() {
    metrics.connections.set(clients.size());
    metrics.users.set(connectionsPerUser.size());
  }

  private static String newConnectionId() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
  }
}
