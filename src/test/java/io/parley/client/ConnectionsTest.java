package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.client.Connections.Admission;
import io.parley.client.Connections.Opened;
import io.parley.client.Connections.Refusal;
import io.parley.online.OnlineTracker;
import io.parley.protocol.User;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The node's connection registry with stand-in connection actors: they report a Close to a probe
 * and stop on it, or stop when their socket ends ({@link ClientActor.InboundEnded}). The online
 * tracker is a probe.
 */
@ExtendWith(LogCapturingExtension.class)
class ConnectionsTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  private static final ConnectRate UNLIMITED = new ConnectRate(1e6, 1_000_000);
  private static final User ANN = new User("ann", "Ann");
  private static final User BOB = new User("bob", "Bob");

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static final class Fixture {
    final TestProbe<OnlineTracker.Command> online = testKit.createTestProbe();
    final TestProbe<ClientActor.Close> closes = testKit.createTestProbe();
    final ActorRef<Connections.Command> connections;

    Fixture(int maxConnections, int maxPerUser, ConnectRate rate) {
      ClientSettings limits =
          new ClientSettings(100, 20, 40, 200, Duration.ofSeconds(10), 256, maxConnections, maxPerUser);
      connections = testKit.spawn(Connections.create(limits, rate, connection ->
          Behaviors.receive(ClientActor.Command.class)
              .onMessage(ClientActor.Close.class, close -> {
                closes.ref().tell(close);
                return Behaviors.stopped();
              })
              .onMessageEquals(ClientActor.InboundEnded.INSTANCE, Behaviors::stopped)
              .build(), online.ref()));
    }

    Admission check() {
      TestProbe<Admission> probe = testKit.createTestProbe();
      connections.tell(new Connections.CheckAdmission(probe.ref()));
      return probe.receiveMessage();
    }

    Opened open(User user) {
      TestProbe<Opened> probe = testKit.createTestProbe();
      connections.tell(new Connections.Open(user, null, "127.0.0.1", probe.ref()));
      return probe.receiveMessage();
    }

    boolean draining() {
      TestProbe<Boolean> probe = testKit.createTestProbe();
      connections.tell(new Connections.IsDraining(probe.ref()));
      return probe.receiveMessage();
    }

    /** The socket of this connection ends; the tracker hears of it. */
    void socketEnds(Opened opened, User user) {
      opened.client().tell(ClientActor.InboundEnded.INSTANCE);
      online.expectMessage(new OnlineTracker.Disconnected(user.id()));
    }
  }

  @Test
  void admitsUpgradesAndTellsTheTrackerWhoConnectsAndDisconnects() {
    Fixture node = new Fixture(10, 10, UNLIMITED);
    assertThat(node.check()).isEqualTo(new Admission(null, null));
    Opened ann = node.open(ANN);
    assertThat(ann.refusal()).isNull();
    assertThat(ann.client()).isNotNull();
    assertThat(ann.connectionId()).isNotBlank();
    node.online.expectMessage(new OnlineTracker.Connected("ann"));
    Opened again = node.open(ANN);
    assertThat(again.connectionId()).isNotEqualTo(ann.connectionId());
    node.online.expectMessage(new OnlineTracker.Connected("ann"));

    node.socketEnds(ann, ANN);
    node.socketEnds(again, ANN);
    assertThat(node.draining()).isFalse();
  }

  @Test
  void refusesUpgradesAtTheNodesConnectionCap() {
    Fixture node = new Fixture(2, 10, UNLIMITED);
    Opened first = node.open(ANN);
    node.open(BOB);
    assertThat(node.check()).isEqualTo(new Admission(Refusal.NODE_FULL, null));
    assertThat(node.open(new User("cid", "Cid")).refusal()).isEqualTo(Refusal.NODE_FULL);

    node.online.expectMessageClass(OnlineTracker.Connected.class);
    node.online.expectMessageClass(OnlineTracker.Connected.class);
    node.socketEnds(first, ANN);
    assertThat(node.check().admits()).isTrue();
  }

  @Test
  void refusesAUsersUpgradesBeyondThePerUserCapButNotOtherUsers() {
    Fixture node = new Fixture(10, 2, UNLIMITED);
    assertThat(node.open(ANN).refusal()).isNull();
    assertThat(node.open(ANN).refusal()).isNull();
    assertThat(node.open(ANN).refusal()).isEqualTo(Refusal.USER_FULL);
    assertThat(node.open(BOB).refusal()).isNull();
    assertThat(node.check().admits()).as("the per-user cap needs the user: after the token check").isTrue();
  }

  @Test
  void refusesChecksBeyondTheConnectRateAndSaysWhenToComeBack() {
    Fixture node = new Fixture(10, 10, new ConnectRate(0.01, 2));
    for (int i = 0; i < 5; i++) assertThat(node.draining()).as("readiness takes no token").isFalse();
    assertThat(node.check().admits()).isTrue();
    assertThat(node.check().admits()).isTrue();

    Admission third = node.check();
    assertThat(third.refusal()).isEqualTo(Refusal.CONNECT_RATE);
    assertThat(third.retryAfter()).isPositive().isLessThanOrEqualTo(ConnectRateLimiter.MAX_WAIT);
    Admission fourth = node.check();
    assertThat(fourth.refusal()).isEqualTo(Refusal.CONNECT_RATE);
    assertThat(fourth.retryAfter()).as("a later slot").isGreaterThanOrEqualTo(third.retryAfter());
    assertThat(node.open(ANN).refusal()).as("an upgrade that passed its check").isNull();
  }

  @Test
  void drainRefusesNewUpgradesThenClosesEveryConnectionAndAnswersWhenAllHaveStopped() {
    Fixture node = new Fixture(10, 10, UNLIMITED);
    List<Opened> open = new ArrayList<>();
    for (User user : List.of(ANN, BOB, ANN)) open.add(node.open(user));
    TestProbe<Done> done = testKit.createTestProbe();

    node.connections.tell(new Connections.StopAdmitting(done.ref()));
    done.expectMessage(Done.getInstance());
    assertThat(node.draining()).isTrue();
    assertThat(node.check()).isEqualTo(new Admission(Refusal.DRAINING, null));
    assertThat(node.open(BOB).refusal()).isEqualTo(Refusal.DRAINING);

    node.connections.tell(new Connections.CloseAll(1001, "server shutting down", done.ref()));
    for (int i = 0; i < open.size(); i++) {
      assertThat(node.closes.receiveMessage()).isEqualTo(new ClientActor.Close(1001, "server shutting down"));
    }
    done.expectMessage(Done.getInstance());
    node.connections.tell(new Connections.CloseAll(1001, "again", done.ref()));
    done.expectMessage(Done.getInstance());
  }
}
