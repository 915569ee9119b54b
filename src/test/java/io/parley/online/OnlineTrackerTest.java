package io.parley.online;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.metrics.ParleyMetrics;
import io.parley.online.OnlineTracker.Changes;
import io.parley.online.OnlineTracker.Command;
import io.parley.online.OnlineTracker.Connected;
import io.parley.online.OnlineTracker.Digest;
import io.parley.online.OnlineTracker.Disconnected;
import io.parley.online.OnlineTracker.Node;
import io.parley.online.OnlineTracker.NodeRemoved;
import io.parley.online.OnlineTracker.NodeUp;
import io.parley.online.OnlineTracker.Online;
import io.parley.online.OnlineTracker.SendSnapshot;
import io.parley.online.OnlineTracker.Snapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One node's tracker, with the other nodes played by probes: they get what the tracker sends
 * them (its digests filtered out) and send it their batches and snapshots.
 */
@ExtendWith(LogCapturingExtension.class)
class OnlineTrackerTest {
  static final ActorTestKit testKit = ActorTestKit.create("OnlineTrackerTest", clusterNode("127.0.0.31"));
  private static final AtomicLong UIDS = new AtomicLong();
  private static final Node SELF = Node.of(Cluster.get(testKit.system()).selfMember().uniqueAddress());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** The node's own configuration (cluster provider, CBOR), Artery on a random port of {@code host}. */
  static Config clusterNode(String host) {
    return ConfigFactory.parseString("""
            pekko.remote.artery.canonical.hostname = "%s"
            pekko.remote.artery.canonical.port = 0
            pekko.coordinated-shutdown.exit-jvm = off
            pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
            """.formatted(host))
        .withFallback(ConfigFactory.parseResources("application-test.conf"))
        .withFallback(ConfigFactory.load());
  }

  /** Another node: what the tracker sends it arrives at {@code received}, digests aside. */
  private static final class Peer {
    final Node node = new Node("10.0.0." + UIDS.incrementAndGet() + ":2552", UIDS.get());
    final TestProbe<Command> received = testKit.createTestProbe();
    final ActorRef<Command> tracker = testKit.spawn(Behaviors.receiveMessage(message -> {
      if (!(message instanceof Digest)) received.ref().tell(message);
      return Behaviors.same();
    }));
    final ActorRef<Command> of;

    Peer(ActorRef<Command> of) {
      this.of = of;
    }

    /** Joins, is asked for its snapshot, and answers it in one part. */
    Peer up(long seq, long connections, String... users) {
      of.tell(new NodeUp(node, tracker));
      answer(received.expectMessageClass(SendSnapshot.class), seq, connections, users);
      return this;
    }

    /** The next request for this node's snapshot, past the batches the tracker sends. */
    SendSnapshot asked(Duration within) {
      List<Command> fished = received.fishForMessage(within, message -> message instanceof SendSnapshot
          ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
      return (SendSnapshot) fished.get(fished.size() - 1);
    }

    void answer(SendSnapshot request, long seq, long connections, String... users) {
      assertThat(request.replyTo()).isEqualTo(of);
      of.tell(new Snapshot(node, seq, 0, 1, List.of(users), connections));
    }

    void changes(long seq, List<String> arrived, List<String> left, long connections) {
      of.tell(new Changes(node, seq, arrived, left, connections));
    }
  }

  private static ActorRef<Command> tracker() {
    return testKit.spawn(OnlineTracker.create());
  }

  private static Online online(ActorRef<Command> tracker) {
    TestProbe<Online> probe = testKit.createTestProbe();
    tracker.tell(new OnlineTracker.Get(probe.ref()));
    return probe.receiveMessage();
  }

  @Test
  void countsThisNodesConnectionsAndDistinctUsers() {
    ActorRef<Command> tracker = tracker();
    tracker.tell(new Connected("ann"));
    tracker.tell(new Connected("ann"));
    tracker.tell(new Connected("bob"));
    assertThat(online(tracker)).isEqualTo(new Online(2, 3, Map.of(SELF.hostPort(), 3L)));

    tracker.tell(new Disconnected("ann"));
    assertThat(online(tracker)).isEqualTo(new Online(2, 2, Map.of(SELF.hostPort(), 2L)));
    tracker.tell(new Disconnected("ann"));
    tracker.tell(new Disconnected("nobody"));
    assertThat(online(tracker)).isEqualTo(new Online(1, 1, Map.of(SELF.hostPort(), 1L)));
  }

  @Test
  void aUserOnSeveralNodesCountsOnce() {
    ActorRef<Command> tracker = tracker();
    tracker.tell(new Connected("ann"));
    Peer second = new Peer(tracker).up(0, 3, "ann", "bob");
    Peer third = new Peer(tracker).up(7, 2, "bob", "cid");

    assertThat(online(tracker)).isEqualTo(new Online(3, 6, Map.of(
        SELF.hostPort(), 1L, second.node.hostPort(), 3L, third.node.hostPort(), 2L)));
    ParleyMetrics metrics = ParleyMetrics.get(testKit.system());
    assertThat(metrics.clusterUsers.get()).isEqualTo(3);
    assertThat(metrics.clusterConnections.get()).isEqualTo(6);

    second.changes(1, List.of(), List.of("ann", "bob"), 0);
    assertThat(online(tracker).users()).as("ann is still here, bob still on the third").isEqualTo(3);
    third.changes(8, List.of(), List.of("bob"), 1);
    assertThat(online(tracker)).isEqualTo(new Online(2, 2, Map.of(
        SELF.hostPort(), 1L, second.node.hostPort(), 0L, third.node.hostPort(), 1L)));
  }

  @Test
  void sendsOtherNodesOnlyWhatChangedInNumberedBatches() {
    ActorRef<Command> tracker = tracker();
    Peer peer = new Peer(tracker).up(0, 0);
    tracker.tell(new Connected("ann"));
    tracker.tell(new Connected("bob"));
    Changes first = peer.received.expectMessageClass(Changes.class);
    assertThat(first.from()).isEqualTo(SELF);
    assertThat(first.seq()).isEqualTo(1);
    assertThat(first.arrived()).containsExactlyInAnyOrder("ann", "bob");
    assertThat(first.left()).isEmpty();
    assertThat(first.connections()).isEqualTo(2);

    tracker.tell(new Connected("ann"));
    assertThat(peer.received.expectMessageClass(Changes.class))
        .as("a second socket of a user already here: only the count")
        .isEqualTo(new Changes(SELF, 2, List.of(), List.of(), 3));

    tracker.tell(new Disconnected("bob"));
    tracker.tell(new Connected("bob"));
    tracker.tell(new Disconnected("ann"));
    tracker.tell(new Disconnected("ann"));
    Changes third = peer.received.expectMessageClass(Changes.class);
    assertThat(third.seq()).isEqualTo(3);
    assertThat(third.left()).containsExactly("ann");
    assertThat(third.connections()).isEqualTo(1);
    peer.received.expectNoMessage(OnlineTracker.BATCH_INTERVAL.multipliedBy(4));
  }

  @Test
  void aRemovedNodeTakesItsUsersButNotThoseAlsoElsewhere() {
    ActorRef<Command> tracker = tracker();
    tracker.tell(new Connected("ann"));
    Peer peer = new Peer(tracker).up(3, 4, "ann", "bob", "cid");
    assertThat(online(tracker).users()).isEqualTo(3);

    tracker.tell(new NodeRemoved(peer.node));
    assertThat(online(tracker)).isEqualTo(new Online(1, 1, Map.of(SELF.hostPort(), 1L)));
    peer.changes(4, List.of("dan"), List.of(), 5);
    assertThat(online(tracker).users()).as("a removed node's late batch").isEqualTo(1);
  }

  @Test
  void aMissedBatchIsNoticedAndRepairedWithASnapshot() {
    ActorRef<Command> tracker = tracker();
    Peer peer = new Peer(tracker).up(0, 0);
    peer.changes(1, List.of("ann"), List.of(), 1);
    // batch 2 (bob arrived) is lost on the way
    peer.changes(3, List.of("cid"), List.of("ann"), 1);
    peer.answer(peer.received.expectMessageClass(SendSnapshot.class), 3, 2, "bob", "cid");
    assertThat(online(tracker).users()).isEqualTo(2);
    peer.changes(4, List.of("dan"), List.of(), 3);
    assertThat(online(tracker)).isEqualTo(new Online(3, 3, Map.of(SELF.hostPort(), 0L, peer.node.hostPort(), 3L)));

    // the last batch is lost: the node's digest tells
    tracker.tell(new Digest(peer.node, 5));
    peer.answer(peer.received.expectMessageClass(SendSnapshot.class), 5, 2, "bob", "dan");
    assertThat(online(tracker).users()).isEqualTo(2);
    tracker.tell(new Digest(peer.node, 5));
    peer.received.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void aNodeThatDoesNotAnswerIsAskedAgainWhileTheCountStaysAvailable() {
    ActorRef<Command> tracker = tracker();
    tracker.tell(new Connected("ann"));
    Peer peer = new Peer(tracker);
    tracker.tell(new NodeUp(peer.node, peer.tracker));
    peer.asked(Duration.ofSeconds(3));
    // no answer, twice: every request times out
    peer.asked(OnlineTracker.FIRST_RETRY.multipliedBy(3));
    assertThat(online(tracker).users()).isEqualTo(1);
    // a snapshot that loses its second part is not used either
    peer.asked(OnlineTracker.FIRST_RETRY.multipliedBy(5));
    tracker.tell(new Snapshot(peer.node, 2, 0, 2, List.of("bob"), 2));
    tracker.tell(new Changes(peer.node, 3, List.of("cid"), List.of(), 3));
    assertThat(online(tracker).users()).isEqualTo(1);

    peer.answer(peer.asked(OnlineTracker.FIRST_RETRY.multipliedBy(9)), 3, 3, "ann", "bob", "cid");
    assertThat(online(tracker)).isEqualTo(new Online(3, 4, Map.of(SELF.hostPort(), 1L, peer.node.hostPort(), 3L)));
    peer.received.expectNoMessage(OnlineTracker.FIRST_RETRY.multipliedBy(2));
  }

  @Test
  void batchesOfUnknownNodesAndOldBatchesChangeNothing() {
    ActorRef<Command> tracker = tracker();
    Peer stranger = new Peer(tracker);
    stranger.changes(1, List.of("eve"), List.of(), 1);
    assertThat(online(tracker).users()).isZero();

    Peer peer = new Peer(tracker).up(5, 1, "ann");
    peer.changes(5, List.of(), List.of("ann"), 0);
    peer.changes(4, List.of("old"), List.of(), 9);
    assertThat(online(tracker)).isEqualTo(new Online(1, 1, Map.of(SELF.hostPort(), 0L, peer.node.hostPort(), 1L)));
  }

  @Test
  void itsSnapshotComesInPartsFarBelowTheFrameLimit() {
    ActorRef<Command> tracker = tracker();
    Set<String> users = new HashSet<>();
    for (int i = 0; i < 3000; i++) users.add("user-with-a-rather-long-identifier-" + i);
    users.forEach(user -> tracker.tell(new Connected(user)));
    TestProbe<Command> requester = testKit.createTestProbe();
    tracker.tell(new SendSnapshot(requester.ref()));

    List<String> received = new ArrayList<>();
    int expected = 0;
    Snapshot part;
    do {
      part = requester.expectMessageClass(Snapshot.class);
      assertThat(part.part()).isEqualTo(expected++);
      assertThat(part.users().stream().mapToInt(String::length).sum())
          .isLessThanOrEqualTo(OnlineTracker.MAX_CHARS_PER_MESSAGE);
      assertThat(part.connections()).isEqualTo(3000);
      received.addAll(part.users());
    } while (part.part() < part.parts() - 1);
    assertThat(part.parts()).isGreaterThan(3);
    assertThat(received).hasSize(3000).containsExactlyInAnyOrderElementsOf(users);
  }

  @Test
  void everyMessageBetweenNodesRoundTripsThroughCbor() {
    TestProbe<Command> probe = testKit.createTestProbe();
    Node node = new Node("10.0.0.1:2552", -42);
    var serialization = testKit.serializationTestKit();
    serialization.verifySerialization(new Changes(node, 7, List.of("ann", "ünï ☃"), List.of("bob"), 12), true);
    serialization.verifySerialization(new Changes(node, 8, List.of(), List.of(), 0), true);
    serialization.verifySerialization(new Digest(node, 8), true);
    serialization.verifySerialization(new SendSnapshot(probe.ref()), true);
    serialization.verifySerialization(new Snapshot(node, 8, 1, 3, List.of("cid"), 4), true);
  }
}
