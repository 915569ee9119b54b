package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.testing.ScriptCluster;
import io.parley.testing.WsClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three node processes started by scripts/cluster.sh on 127.0.0.2-4, exactly as an operator
 * would, then one of them killed with SIGKILL. The processes are stopped even when a test fails.
 */
class ClusterProcessIT {
  private static final Path RUN_DIR = Path.of("target/cluster-it");
  private static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);
  private static final int ROOMS = 12;
  private static final List<WsClient> clients = new ArrayList<>();

  private static ScriptCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = ScriptCluster.start(RUN_DIR);
  }

  @AfterAll
  static void stopCluster() {
    clients.forEach(WsClient::close);
    if (cluster != null) cluster.close();
  }

  private static WsClient connect(int node, String user) throws IOException {
    WsClient client = WsClient.connected(ScriptCluster.wsUri(node, user));
    clients.add(client);
    return client;
  }

  private static void send(WsClient client, String room, String content) {
    client.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"" + content + "\"}}");
  }

  @Test
  void chatSurvivesKillMinusNineOfOneNodeWithinTenSeconds() throws Exception {
    WsClient ann = connect(1, "ann");
    WsClient bob = connect(2, "bob");
    WsClient cid = connect(3, "cid");
    List<String> rooms = new ArrayList<>();
    for (int i = 0; i < ROOMS; i++) {
      String room = "proc-" + i;
      rooms.add(room);
      for (WsClient client : List.of(ann, bob, cid)) {
        client.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
        client.skipTo("room_info");
      }
      send(ann, room, "hello " + room);
      assertThat(bob.skipTo("new_message").path("room").asText()).isEqualTo(room);
      assertThat(cid.skipTo("new_message").path("payload").path("content").asText()).isEqualTo("hello " + room);
    }
    assertThat(ScriptCluster.online(2).path("online").asInt()).isEqualTo(3);

    cluster.run(Duration.ofSeconds(30), "kill", "3");
    long killedAt = System.nanoTime();

    Map<String, Long> deliveredAgain = new HashMap<>();
    Map<String, Long> cidGone = new HashMap<>();
    long deadline = killedAt + RECOVERY_BOUND.plusSeconds(10).toNanos();
    while (System.nanoTime() < deadline && (deliveredAgain.size() < ROOMS || cidGone.size() < ROOMS)) {
      for (String room : rooms) if (!deliveredAgain.containsKey(room)) send(ann, room, "after");
      for (JsonNode frame = bob.poll(Duration.ofMillis(400)); frame != null; frame = bob.poll(Duration.ofMillis(5))) {
        long at = (System.nanoTime() - killedAt) / 1_000_000;
        String room = frame.path("room").asText();
        if (frame.path("type").asText().equals("new_message")
            && frame.path("payload").path("content").asText().equals("after")) {
          deliveredAgain.putIfAbsent(room, at);
        }
        if (frame.path("type").asText().equals("user_left") && frame.path("payload").path("id").asText().equals("cid")) {
          cidGone.putIfAbsent(room, at);
        }
      }
    }
    long slowestRoom = deliveredAgain.values().stream().mapToLong(Long::longValue).max().orElse(-1);
    long slowestLeft = cidGone.values().stream().mapToLong(Long::longValue).max().orElse(-1);
    System.out.printf("ClusterProcessIT kill -9: every room delivered again within %d ms "
        + "(per room: %s); cid announced gone within %d ms%n", slowestRoom, deliveredAgain, slowestLeft);

    assertThat(deliveredAgain).as("every room works again for survivors, no client action").hasSize(ROOMS);
    assertThat(slowestRoom).isLessThan(RECOVERY_BOUND.toMillis());
    assertThat(cidGone).as("the dead node's only user leaves every room").hasSize(ROOMS);
    assertThat(slowestLeft).isLessThan(RECOVERY_BOUND.toMillis());
    JsonNode onlineAfter = ScriptCluster.online(1);
    assertThat(onlineAfter.path("online").asInt()).isEqualTo(2);
    assertThat(onlineAfter.path("connections").asInt()).isEqualTo(2);
  }
}
