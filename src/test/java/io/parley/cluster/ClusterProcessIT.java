package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.testing.WsClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three node processes started by scripts/cluster.sh on 127.0.0.2-4, exactly as an operator
 * would, then one of them killed with SIGKILL. The processes are stopped even when a test fails.
 */
class ClusterProcessIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path RUN_DIR = Path.of("target/cluster-it");
  private static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);
  private static final int ROOMS = 12;
  private static final List<WsClient> clients = new ArrayList<>();

  @BeforeAll
  static void startCluster() throws Exception {
    Runtime.getRuntime().addShutdownHook(new Thread(ClusterProcessIT::stopCluster));
    try {
      script(Duration.ofMinutes(3), "start");
    } catch (AssertionError | Exception e) {
      stopCluster();
      throw e;
    }
  }

  @AfterAll
  static void stopCluster() {
    clients.forEach(WsClient::close);
    clients.clear();
    try {
      script(Duration.ofMinutes(1), "stop");
    } catch (Exception | AssertionError e) {
      // last resort: no process may outlive the test
      try (var pids = Files.newDirectoryStream(RUN_DIR, "*.pid")) {
        for (Path pid : pids) {
          ProcessHandle.of(Long.parseLong(Files.readString(pid).trim())).ifPresent(ProcessHandle::destroyForcibly);
        }
      } catch (IOException ignored) {
        // nothing was started
      }
    }
  }

  private static String script(Duration timeout, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("scripts/cluster.sh"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("PARLEY_CLUSTER_DIR", RUN_DIR.toString());
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("cluster.sh " + String.join(" ", args) + " timed out:\n" + output);
    }
    assertThat(process.exitValue()).as("cluster.sh %s:%n%s", String.join(" ", args), output).isZero();
    return output;
  }

  private static String host(int node) {
    return "127.0.0." + (node + 1);
  }

  private static WsClient connect(int node, String user) throws IOException {
    String secret = null;
    for (String line : Files.readAllLines(Path.of("docker/cluster.env"))) {
      if (line.startsWith("PARLEY_JWT_SECRET=")) secret = line.substring(line.indexOf('=') + 1).trim();
    }
    String token = JWT.create().withSubject(user).withClaim("name", user)
        .withExpiresAt(Instant.now().plus(Duration.ofHours(1))).sign(Algorithm.HMAC256(secret));
    WsClient client = WsClient.connected(URI.create("ws://" + host(node) + ":8080/ws?token=" + token));
    clients.add(client);
    return client;
  }

  private static JsonNode online(int node) throws Exception {
    return JSON.readTree(HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://" + host(node) + ":8080/ws/online")).build(),
        HttpResponse.BodyHandlers.ofString()).body());
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
    assertThat(online(2).path("online").asInt()).isEqualTo(3);

    script(Duration.ofSeconds(30), "kill", "3");
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
    JsonNode onlineAfter = online(1);
    assertThat(onlineAfter.path("online").asInt()).isEqualTo(2);
    assertThat(onlineAfter.path("connections").asInt()).isEqualTo(2);
  }
}
