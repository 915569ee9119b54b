package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.app.ParleyNode;
import io.parley.testing.TestCluster;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Losing a node of three (docs/protocol.md, "What a cluster guarantees"): abruptly, and gracefully. Each test
 * starts its own cluster because it ends one node of it.
 */
@ExtendWith(LogCapturingExtension.class)
class NodeLossIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);

  private ActorTestKit kit;
  private TestCluster cluster;
  private final List<WsClient> clients = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    kit = ActorTestKit.create("NodeLossITProbes");
    // terminate() without CoordinatedShutdown is how a test kills a node: no leave, no drain
    cluster = TestCluster.start(3,
        "pekko.coordinated-shutdown.run-by-actor-system-terminate = off", kit.createTestProbe());
  }

  @AfterEach
  void stop() {
    clients.forEach(WsClient::close);
    cluster.close();
    kit.shutdownTestKit();
  }

  private WsClient connect(int node, String user) {
    WsClient client = WsClient.connected(TestNode.wsUri(cluster.node(node), TestTokens.token(user, user)));
    clients.add(client);
    return client;
  }

  private static void join(WsClient client, String room) {
    client.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
    client.skipTo("room_info");
  }

  /**
   * Joins everyone to rooms loss-0, loss-1, … until one is hosted on {@code host} and one is not;
   * returns all the rooms joined, the first of them hosted on {@code host}.
   */
  private List<String> roomsOnAndOff(ParleyNode host, List<WsClient> members) {
    List<String> joined = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      String room = "loss-" + i;
      for (WsClient member : members) join(member, room);
      joined.add(room);
      Set<String> hosted = TestCluster.roomsHostedOn(host);
      if (joined.stream().anyMatch(hosted::contains) && !hosted.containsAll(joined)) {
        joined.sort((a, b) -> Boolean.compare(!hosted.contains(a), !hosted.contains(b)));
        return joined;
      }
    }
    throw new AssertionError("no room placed on both sides");
  }

  private static void send(WsClient client, String room, String content) {
    client.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"" + content
        + "\",\"payload\":{\"content\":\"" + content + "\"}}");
  }

  /** What a survivor saw after the kill, with when it saw it. */
  private static final class Watch {
    final long killedAt;
    long firstMessageAfterKill = -1;
    long firstSeqAfterKill = -1;
    final java.util.Map<String, Long> userLeftByRoom = new java.util.HashMap<>();

    Watch(long killedAt) {
      this.killedAt = killedAt;
    }

    void see(JsonNode frame) {
      long at = (System.nanoTime() - killedAt) / 1_000_000;
      String type = frame.path("type").asText();
      if (type.equals("new_message") && frame.path("payload").path("content").asText().startsWith("after")
          && firstMessageAfterKill < 0) {
        firstMessageAfterKill = at;
        firstSeqAfterKill = frame.path("seq").asLong();
      }
      if (type.equals("user_left") && frame.path("payload").path("id").asText().equals("cid")) {
        userLeftByRoom.putIfAbsent(frame.path("room").asText(), at);
      }
    }
  }

  @Test
  void killedNodesRoomsWorkAgainWithMembershipAndItsUsersAreAnnouncedGone() throws Exception {
    WsClient ann = connect(0, "ann");
    WsClient bob = connect(1, "bob");
    WsClient cid = connect(2, "cid"); // only on the node that dies
    ParleyNode victim = cluster.node(2);
    List<String> rooms = roomsOnAndOff(victim, List.of(ann, bob, cid));
    String onVictim = rooms.get(0);
    send(ann, onVictim, "before");
    long seqBefore = bob.skipTo("new_message").path("seq").asLong();
    ann.skipTo("ack");

    victim.system().terminate();
    victim.system().getWhenTerminated().toCompletableFuture().join();
    long killedAt = System.nanoTime();

    // Ann keeps talking in the room that lived on the dead node; nobody does anything else.
    Watch atBob = new Watch(killedAt);
    Watch atAnn = new Watch(killedAt);
    long deadline = killedAt + RECOVERY_BOUND.plusSeconds(5).toNanos();
    int sent = 0;
    while (System.nanoTime() < deadline
        && (atBob.firstMessageAfterKill < 0 || atBob.userLeftByRoom.size() < rooms.size()
            || atAnn.userLeftByRoom.size() < rooms.size())) {
      if (atBob.firstMessageAfterKill < 0) send(ann, onVictim, "after-" + sent++);
      for (JsonNode frame = bob.poll(Duration.ofMillis(250)); frame != null; frame = bob.poll(Duration.ofMillis(10))) {
        atBob.see(frame);
      }
      for (JsonNode frame = ann.poll(Duration.ofMillis(10)); frame != null; frame = ann.poll(Duration.ofMillis(10))) {
        atAnn.see(frame);
      }
    }
    System.out.printf("NodeLossIT kill: room %s (on the killed node) delivered again after %d ms; "
            + "user_left for the killed node's user after %s ms (at Bob) and %s ms (at Ann)%n",
        onVictim, atBob.firstMessageAfterKill, atBob.userLeftByRoom, atAnn.userLeftByRoom);

    assertThat(atBob.firstMessageAfterKill).as("room works again without client action")
        .isBetween(0L, RECOVERY_BOUND.toMillis());
    assertThat(atBob.firstSeqAfterKill).as("seq continues").isGreaterThan(seqBefore);
    for (Watch watch : List.of(atBob, atAnn)) {
      assertThat(watch.userLeftByRoom).containsOnlyKeys(rooms);
      assertThat(watch.userLeftByRoom.values()).allMatch(ms -> ms < RECOVERY_BOUND.toMillis());
    }

    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      JsonNode online = JSON.readTree(TestCluster.get(cluster.node(0), "/ws/online").body());
      assertThat(online.path("online").asInt()).isEqualTo(2);
      assertThat(online.path("connections").asInt()).isEqualTo(2);
      return null;
    });
  }

  @Test
  void leavingNodeHandsItsRoomsOffWhileTheOthersKeepChatting() throws Exception {
    WsClient ann = connect(0, "ann");
    WsClient bob = connect(1, "bob");
    WsClient cid = connect(2, "cid");
    ParleyNode leavingNode = cluster.node(1);
    String room = roomsOnAndOff(leavingNode, List.of(ann, bob, cid)).get(0);

    Thread chatter = new Thread(() -> {
      for (int i = 0; i < 60; i++) {
        send(ann, room, "m" + i);
        kit.createTestProbe().expectNoMessage(Duration.ofMillis(100)); // pace: ten a second
      }
    });
    chatter.start();
    Thread leaver = new Thread(() -> {
      try {
        leavingNode.close();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    List<String> received = new ArrayList<>();
    long lastSeq = 0;
    while (received.size() < 60) {
      JsonNode frame = cid.next();
      if (!frame.path("type").asText().equals("new_message")) continue;
      assertThat(frame.path("seq").asLong()).as("no gap, no reorder").isEqualTo(lastSeq + 1);
      lastSeq = frame.path("seq").asLong();
      received.add(frame.path("payload").path("content").asText());
      if (received.size() == 5) leaver.start(); // the chat is going: the node leaves in its midst
    }
    assertThat(bob.awaitClose(Duration.ofSeconds(15)).code()).isEqualTo(1001);
    chatter.join();
    leaver.join();
    assertThat(received).first().isEqualTo("m0");
    assertThat(received).last().isEqualTo("m59");
  }
}
