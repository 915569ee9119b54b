package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.metrics.ParleyMetrics;
import io.parley.testing.OnlineCounts;
import io.parley.testing.TestCluster;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three nodes in one JVM forming one cluster, with real WebSocket clients connected to different
 * nodes: docs/protocol.md's "What a cluster guarantees", a client sees the same behaviour on any node.
 */
@ExtendWith(LogCapturingExtension.class)
class MultiNodeIT {
  private static final Duration CONVERGENCE = Duration.ofSeconds(3);

  private static ActorTestKit kit;
  private static TestCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    kit = ActorTestKit.create("MultiNodeITProbes");
    cluster = TestCluster.start(3, "", kit.createTestProbe());
  }

  @AfterAll
  static void stop() {
    if (cluster != null) cluster.close();
    kit.shutdownTestKit();
  }

  private static WsClient connect(int node, String user) {
    return WsClient.connected(TestNode.wsUri(cluster.node(node), TestTokens.token(user, user)));
  }

  private static JsonNode join(WsClient client, String room) {
    client.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
    return client.expect("room_info");
  }

  private static void post(WsClient client, String room, String content) {
    client.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"" + content + "\"}}");
  }

  @Test
  void clientsOnDifferentNodesChatAndSeePresenceByUser() {
    String room = "cross-node-chat";
    try (WsClient ann = connect(0, "ann-x"); WsClient ben = connect(1, "ben-x");
        WsClient annOnThirdNode = connect(2, "ann-x")) {
      join(ann, room);
      JsonNode info = join(ben, room);
      assertThat(info.path("payload").path("count").asInt()).isEqualTo(2);
      assertThat(ann.expect("user_joined").path("sender").path("id").asText()).isEqualTo("ben-x");

      JsonNode third = join(annOnThirdNode, room);
      assertThat(third.path("payload").path("count").asInt()).as("same user on another node").isEqualTo(2);
      ben.expectNoFrame(Duration.ofMillis(300)); // no user_joined for Ann's second connection

      post(ben, room, "hello from node 2");
      ben.expect("ack");
      for (WsClient receiver : List.of(ann, annOnThirdNode)) {
        JsonNode message = receiver.expect("new_message");
        assertThat(message.path("payload").path("content").asText()).isEqualTo("hello from node 2");
        assertThat(message.path("sender").path("id").asText()).isEqualTo("ben-x");
        assertThat(message.path("seq").asLong()).isEqualTo(1);
      }

      annOnThirdNode.send("{\"type\":\"typing\",\"room\":\"" + room + "\"}");
      assertThat(ben.expect("user_typing").path("payload").path("typing").asBoolean()).isTrue();
      assertThat(ann.expect("user_typing").path("sender").path("id").asText())
          .as("the typer's other tab").isEqualTo("ann-x");

      annOnThirdNode.close();
      ben.expectNoFrame(Duration.ofMillis(500)); // Ann is still present through node 1
      ann.close();
      JsonNode left = ben.expect("user_left");
      assertThat(left.path("payload").path("id").asText()).isEqualTo("ann-x");
    }
  }

  /**
   * A new room says Hello to the NodeRooms of all three nodes and starts once each has sent its
   * snapshot; the gather timeout is only for a node that cannot answer.
   */
  @Test
  void aNewRoomStartsOnTheNodesSnapshotsWithoutWaitingForTheGatherTimeout() {
    try (WsClient ann = connect(1, "ann-g")) {
      LoggingTestKit.warn("no snapshot from").withOccurrences(0)
          .expect(cluster.node(0).system(), () -> join(ann, "gathered"));
    }
  }

  @Test
  void everyMemberSeesTheSameSeqOrderWhateverNodeItIsOn() throws Exception {
    String room = "one-order";
    int perSender = 20;
    List<WsClient> listeners = new ArrayList<>();
    List<WsClient> senders = new ArrayList<>();
    try {
      for (int node = 0; node < 3; node++) {
        listeners.add(connect(node, "listener-" + node));
        senders.add(connect(node, "sender-" + node));
      }
      for (WsClient client : listeners) join(client, room);
      for (WsClient client : senders) join(client, room);
      List<Thread> threads = new ArrayList<>();
      for (int s = 0; s < senders.size(); s++) {
        WsClient sender = senders.get(s);
        int id = s;
        Thread thread = new Thread(() -> {
          for (int i = 0; i < perSender; i++) post(sender, room, "s" + id + "-" + i);
        });
        thread.start();
        threads.add(thread);
      }
      for (Thread thread : threads) thread.join();

      List<List<String>> seen = new ArrayList<>();
      for (WsClient listener : listeners) {
        List<String> order = new ArrayList<>();
        long expectedSeq = 1;
        while (order.size() < perSender * senders.size()) {
          JsonNode frame = listener.next();
          if (!frame.path("type").asText().equals("new_message")) continue;
          assertThat(frame.path("seq").asLong()).isEqualTo(expectedSeq++);
          order.add(frame.path("payload").path("content").asText());
        }
        seen.add(order);
      }
      assertThat(seen.get(1)).isEqualTo(seen.get(0));
      assertThat(seen.get(2)).isEqualTo(seen.get(0));
    } finally {
      listeners.forEach(WsClient::close);
      senders.forEach(WsClient::close);
    }
  }

  @Test
  void onlineCountCoversTheWholeClusterOnEveryNode() throws Exception {
    JsonNode before = OnlineCounts.settled(kit.createTestProbe(), cluster.nodes());
    try (WsClient a = connect(0, "counted-a"); WsClient b = connect(1, "counted-b");
        WsClient aAgain = connect(2, "counted-a")) {
      kit.createTestProbe().awaitAssert(CONVERGENCE, () -> {
        for (ParleyNode node : cluster.nodes()) {
          JsonNode online = OnlineCounts.read(node);
          assertThat(online.path("online").asInt()).isEqualTo(before.path("online").asInt() + 2);
          assertThat(online.path("connections").asInt())
              .isEqualTo(before.path("connections").asInt() + 3);
        }
        return null;
      });
    }
    kit.createTestProbe().awaitAssert(CONVERGENCE, () -> {
      for (ParleyNode node : cluster.nodes()) assertThat(OnlineCounts.read(node)).isEqualTo(before);
      return null;
    });
  }

  private static double sum(java.util.function.ToDoubleFunction<ParleyMetrics> counter) {
    return cluster.nodes().stream()
        .mapToDouble(node -> counter.applyAsDouble(ParleyMetrics.get(node.system())))
        .sum();
  }

  private record Counts(double broadcasts, double local, double remote, double deliveries) {
    static Counts now() {
      return new Counts(sum(m -> m.broadcasts.count()), sum(m -> m.fanoutLocal.count()),
          sum(m -> m.fanoutRemote.count()), sum(m -> m.deliveries.count()));
    }

    Counts minus(Counts earlier) {
      return new Counts(broadcasts - earlier.broadcasts, local - earlier.local,
          remote - earlier.remote, deliveries - earlier.deliveries);
    }
  }

  /** Waits until no counter moves (other tests' disconnects settle), and returns them. */
  private static Counts quiet() {
    TestProbe<Object> probe = kit.createTestProbe();
    return probe.awaitAssert(Duration.ofSeconds(10), () -> {
      Counts first = Counts.now();
      probe.expectNoMessage(Duration.ofMillis(300));
      assertThat(Counts.now()).isEqualTo(first);
      return first;
    });
  }

  @Test
  void crossNodeMessagesPerBroadcastFollowNodesNotMembers() {
    String room = "fan-out-cost";
    int perNode = 30;
    int messages = 10;
    List<WsClient> members = new ArrayList<>();
    try {
      for (int node = 0; node < 3; node++) {
        for (int i = 0; i < perNode; i++) members.add(connect(node, "fan-" + node + "-" + i));
      }
      for (WsClient member : members) join(member, room);
      Counts before = quiet();
      WsClient sender = members.get(0);
      for (int i = 0; i < messages; i++) post(sender, room, "m" + i);
      for (WsClient member : members.subList(1, members.size())) {
        for (int i = 0; i < messages; i++) {
          assertThat(member.skipTo("new_message").path("payload").path("content").asText()).isEqualTo("m" + i);
        }
      }
      Counts cost = quiet().minus(before);
      assertThat(cost.broadcasts()).isEqualTo(messages);
      assertThat(cost.remote()).as("one message per other node hosting members").isEqualTo(2.0 * messages);
      assertThat(cost.local()).isEqualTo(messages);
      assertThat(cost.deliveries()).as("each member but the sender, plus the sender's acks")
          .isEqualTo((3.0 * perNode - 1) * messages + messages);
    } finally {
      members.forEach(WsClient::close);
    }
  }
}
