package io.parley.client;

import io.parley.common.CborSerializable;
import io.parley.metrics.ParleyMetrics;
import io.parley.online.OnlineTracker;
import io.parley.protocol.User;
import io.parley.ws.CloseCodes;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
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
 * The node's connections: admits upgrades (or refuses them while draining or at the connection
 * limit), spawns one {@link ClientActor} per socket as its child, reports who connects and
 * disconnects to the {@link OnlineTracker}, and closes them all on drain, or those of one user
 * when the server API disconnects them.
 */
public final class Connections extends AbstractBehavior<Connections.Command> {

  /** The actor's name under /user on every node; the server API finds each node's by it. */
  public static final String NAME = "connections";

  public sealed interface Command {}

  /** Whether an upgrade would be admitted now; asked before any other check of a request. */
  public record CheckAdmission(ActorRef<Admission> replyTo) implements Command {}

  public record Admission(boolean draining, boolean full) {
    public boolean admits() {
      return !draining && !full;
    }
  }

  /** Spawns the ClientActor for an authenticated upgrade, unless a cap refuses it. */
  public record Open(User user, Instant expiresAt, String remote, ActorRef<Opened> replyTo)
      implements Command {}

  /** Why an upgrade was refused after authentication. */
  public enum Refusal { DRAINING, NODE_FULL, USER_FULL }

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

  public static Behavior<Command> create(
      ClientActor.Node node, ActorRef<OnlineTracker.Command> online) {
    return Behaviors.setup(ctx -> new Connections(ctx, node, online));
  }

  /** The Connections of the node at {@code address} (it runs under the same name everywhere). */
  public static ActorRef<Command> at(ActorSystem<?> system, Address address) {
    return ActorRefResolver.get(system).resolveActorRef(address + "/user/" + NAME);
  }

  private final ClientActor.Node node;
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
      ActorContext<Command> context, ClientActor.Node node, ActorRef<OnlineTracker.Command> online) {
    super(context);
    this.node = node;
    this.online = online;
    this.metrics = ParleyMetrics.get(context.getSystem());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CheckAdmission.class, this::onCheckAdmission)
        .onMessage(Open.class, this::onOpen)
        .onMessage(ClientStopped.class, this::onClientStopped)
        .onMessage(StopAdmitting.class, this::onStopAdmitting)
        .onMessage(CloseAll.class, this::onCloseAll)
        .onMessage(DisconnectUser.class, this::onDisconnectUser)
        .build();
  }

  private Admission admission() {
    return new Admission(!admitting, clients.size() >= node.settings().maxConnections());
  }

  private Behavior<Command> onCheckAdmission(CheckAdmission check) {
    check.replyTo().tell(admission());
    return this;
  }

  private Behavior<Command> onOpen(Open open) {
    Admission admission = admission();
    int userConnections = connectionsPerUser.getOrDefault(open.user().id(), 0);
    Refusal refusal = admission.draining() ? Refusal.DRAINING
        : admission.full() ? Refusal.NODE_FULL
        : userConnections >= node.settings().maxConnectionsPerUser() ? Refusal.USER_FULL
        : null;
    if (refusal != null) {
      open.replyTo().tell(new Opened(null, null, refusal));
      return this;
    }
    String id = newConnectionId();
    ClientActor.Connection connection =
        new ClientActor.Connection(id, open.user(), open.expiresAt(), open.remote());
    ActorRef<ClientActor.Command> client =
        getContext().spawn(ClientActor.create(connection, node), "client-" + id);
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
