package io.parley.online;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three cluster nodes in this JVM (Artery on 127.0.0.31-33), each with its tracker at the same
 * path and a few thousand users, half of them on two nodes: every node's count is exact, through
 * a late join, changes, and a node's removal.
 */
@ExtendWith(LogCapturingExtension.class)
class OnlineTrackerClusterTest {
  private static final Duration CONVERGENCE = Duration.ofSeconds(3);
  private static final Duration MEMBERSHIP = Duration.ofSeconds(30);
  private static final int USERS_PER_NODE = 3000;

  private final List<Node> nodes = new ArrayList<>();

  /** A cluster node with its tracker, and the sockets it has per user. */
  private record Node(ActorTestKit kit, ActorRef<OnlineTracker.Command> tracker, Map<String, Integer> sockets) {
    void connect(String user) {
      tracker.tell(new OnlineTracker.Connected(user));
      sockets.merge(user, 1, Integer::sum);
    }

    void disconnect(String user) {
      tracker.tell(new OnlineTracker.Disconnected(user));
      sockets.computeIfPresent(user, (u, n) -> n == 1 ? null : n - 1);
    }
  }

  private Node start(int index) {
    ActorTestKit kit = ActorTestKit.create("parley", OnlineTrackerTest.clusterNode("127.0.0.3" + (index + 1)));
    Cluster cluster = Cluster.get(kit.system());
    cluster.manager().tell(Join.create(
        nodes.isEmpty() ? cluster.selfMember().address() : Cluster.get(nodes.get(0).kit.system()).selfMember().address()));
    Node node = new Node(kit, kit.spawn(OnlineTracker.create(), "online"), new HashMap<>());
    nodes.add(node);
    kit.createTestProbe().awaitAssert(MEMBERSHIP, () -> {
      for (Node member : nodes) {
        assertThat(Cluster.get(member.kit.system()).state().getMembers())
            .hasSize(nodes.size()).allMatch(m -> m.status() == MemberStatus.up());
      }
      return null;
    });
    return node;
  }

  @AfterEach
  void stop() {
    nodes.forEach(node -> node.kit.shutdownTestKit());
  }

  private void connectRange(Node node, int from, int to) {
    for (int i = from; i < to; i++) node.connect("user-" + i);
  }

  /** What every live node must say: users on any node counted once, and every socket. */
  private void assertExactEverywhere(List<Node> live, Duration within) {
    Set<String> users = new HashSet<>();
    long sockets = 0;
    for (Node node : live) {
      users.addAll(node.sockets.keySet());
      for (int n : node.sockets.values()) sockets += n;
    }
    long expectedSockets = sockets;
    TestProbe<OnlineTracker.Online> probe = live.get(0).kit.createTestProbe();
    probe.awaitAssert(within, Duration.ofMillis(50), () -> {
      for (Node node : live) {
        node.tracker.tell(new OnlineTracker.Get(probe.ref()));
        OnlineTracker.Online online = probe.receiveMessage();
        assertThat(online.users()).as("distinct users").isEqualTo(users.size());
        assertThat(online.connections()).isEqualTo(expectedSockets);
        assertThat(online.connectionsByNode()).hasSize(live.size());
      }
      return null;
    });
  }

  @Test
  void everyNodeCountsEveryUserOnceThroughJoinsChangesAndARemoval() {
    Node first = start(0);
    Node second = start(1);
    connectRange(first, 0, USERS_PER_NODE);
    connectRange(second, USERS_PER_NODE / 2, USERS_PER_NODE * 3 / 2);
    second.connect("user-0");
    assertExactEverywhere(nodes, CONVERGENCE);

    Node third = start(2);
    connectRange(third, USERS_PER_NODE, USERS_PER_NODE * 2);
    assertExactEverywhere(nodes, MEMBERSHIP);

    for (int i = 0; i < USERS_PER_NODE; i += 3) first.disconnect("user-" + i);
    second.disconnect("user-0");
    third.connect("newcomer");
    assertExactEverywhere(nodes, CONVERGENCE);

    nodes.remove(third);
    third.kit.shutdownTestKit(); // leaves the cluster without closing its sockets
    assertExactEverywhere(nodes, MEMBERSHIP);
  }
}
