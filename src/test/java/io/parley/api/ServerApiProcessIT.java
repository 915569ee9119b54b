package io.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.testing.ApiClient;
import io.parley.testing.ScriptCluster;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Idempotency across kill -9 (issue 12): three node processes started by scripts/cluster.sh on
 * 127.0.0.2-4 with their PostgreSQL, a backend publishing with idempotency keys through node 3,
 * node 3 killed with SIGKILL, and the same calls repeated through node 1. The rooms are spread
 * over the three nodes, so some of them lived on the killed node too. The processes are stopped
 * even when the test fails.
 */
class ServerApiProcessIT {
  private static final Path RUN_DIR = Path.of("target/api-process-it");
  private static final String KEY = "process-it-api-key-0123456789";
  private static final int ROOMS = 12;
  private static final Duration RETRY_FOR = Duration.ofSeconds(40);
  private static final List<WsClient> clients = new ArrayList<>();

  private static ScriptCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    // a PostgreSQL port of its own, so that it never meets the demo cluster's (55432)
    cluster = ScriptCluster.start(RUN_DIR, Map.of("PARLEY_API_KEY", KEY, "PARLEY_CLUSTER_DB_PORT", "55491"));
  }

  @AfterAll
  static void stopCluster() {
    clients.forEach(WsClient::close);
    if (cluster != null) cluster.close();
  }

  private static ApiClient api(int node) {
    return new ApiClient("http://" + ScriptCluster.host(node) + ":8080", KEY);
  }

  private static WsClient member(int node, String user, List<String> rooms) throws Exception {
    WsClient client = WsClient.connected(ScriptCluster.wsUri(node, user));
    clients.add(client);
    for (String room : rooms) {
      client.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
      client.skipTo("room_info");
    }
    return client;
  }

  private static String body(String room) {
    return ApiClient.publishBody(room, "exactly once in " + room, ",\"idempotency_key\":\"release-" + room + "\"");
  }

  @Test
  void anIdempotentPublishRepeatedAfterKillMinusNineOfTheNodeThatHandledItIsDeliveredOnce() throws Exception {
    List<String> rooms = new ArrayList<>();
    for (int i = 0; i < ROOMS; i++) rooms.add("api-proc-" + i);
    WsClient ann = member(1, "ann", rooms);
    WsClient bob = member(2, "bob", rooms);

    Map<String, JsonNode> first = new LinkedHashMap<>();
    for (String room : rooms) {
      ApiClient.Answer answer = api(3).post("publish", body(room));
      assertThat(answer.status()).as("%s", answer.body()).isEqualTo(200);
      first.put(room, answer.body());
    }
    Map<String, List<String>> seenByAnn = new HashMap<>();
    for (int i = 0; i < ROOMS; i++) see(seenByAnn, ann.skipTo("new_message"));

    cluster.run(Duration.ofSeconds(30), "kill", "3");
    long killedAt = System.nanoTime();

    long slowest = 0;
    for (String room : rooms) {
      ApiClient.Answer repeat = retry(room);
      slowest = Math.max(slowest, (System.nanoTime() - killedAt) / 1_000_000);
      assertThat(repeat.body()).as("the repeat in %s returns the first result", room).isEqualTo(first.get(room));
    }
    System.out.printf("ServerApiProcessIT kill -9: every repeated publish answered with its first result "
        + "within %d ms of the kill%n", slowest);

    for (String room : rooms) {
      ApiClient.Answer next = api(2).post("publish", ApiClient.publishBody(room, "next", ""));
      assertThat(next.result().get("seq").longValue()).as("%s: one message before this one", room).isEqualTo(2);
    }
    Map<String, List<String>> seenByBob = new HashMap<>();
    for (int i = 0; i < 2 * ROOMS; i++) see(seenByBob, bob.skipTo("new_message"));
    for (int i = 0; i < ROOMS; i++) see(seenByAnn, ann.skipTo("new_message"));
    for (String room : rooms) {
      List<String> expected = List.of("exactly once in " + room, "next");
      assertThat(seenByAnn.get(room)).as("Ann in %s", room).isEqualTo(expected);
      assertThat(seenByBob.get(room)).as("Bob in %s", room).isEqualTo(expected);
    }
  }

  /** The same call through node 1 until its room answers (a room of the dead node moves first). */
  private static ApiClient.Answer retry(String room) {
    long deadline = System.nanoTime() + RETRY_FOR.toNanos();
    ApiClient.Answer answer;
    do {
      answer = api(1).post("publish", body(room));
    } while (answer.status() == 503 && System.nanoTime() < deadline); // each 503 took the room's timeout
    assertThat(answer.status()).as("%s: %s", room, answer.body()).isEqualTo(200);
    return answer;
  }

  private static void see(Map<String, List<String>> seen, JsonNode message) {
    seen.computeIfAbsent(message.get("room").textValue(), room -> new ArrayList<>())
        .add(message.at("/payload/content").textValue());
  }
}
