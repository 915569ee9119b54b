package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.testing.ScriptCluster;
import io.parley.testing.ScriptClusterExtension;
import io.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A rolling restart of all three nodes (scripts/cluster.sh: SIGTERM one node, wait, start it
 * again, then the next) while clients chat. Clients do what parley.js does: when their node
 * closes their socket (1001) they connect to another node, join their rooms again with {@code
 * since}, and send on. Afterwards: no acknowledged message is lost (each client has every message
 * acknowledged after it first joined, live or recovered), none came twice, every recovery was
 * complete, and every request sent on a socket that stayed open got its answer.
 */
class RollingRestartIT {
  private static final List<String> ROOMS = List.of("rolling-a", "rolling-b", "rolling-c", "rolling-d");
  private static final Duration ANSWER_BOUND = Duration.ofSeconds(10);

  @RegisterExtension
  static final ScriptClusterExtension nodes = new ScriptClusterExtension("target/rolling-restart-it");
  private static TestProbe<Object> waiter;
  private static ScriptCluster cluster;

  @BeforeAll
  static void probes() {
    waiter = nodes.waiter();
    cluster = nodes.cluster();
  }

  /** A request on one socket, and whether that socket closed before its answer could come. */
  private record Request(String id, String room, long sentAt, WsClient socket) {}

  /** A user who stays through the restarts, moving to another node when its node leaves. */
  private static final class Client {
    final String user;
    final Set<Integer> down;
    final Map<String, Long> lastSeq = new ConcurrentHashMap<>();
    final Map<String, String> epoch = new ConcurrentHashMap<>();
    /** Per room: seq -> message id, everything received (live or recovered). */
    final Map<String, Map<Long, String>> received = new ConcurrentHashMap<>();
    final Map<String, Long> joinedAt = new ConcurrentHashMap<>();
    final Map<String, JsonNode> answers = new ConcurrentHashMap<>();
    final List<String> duplicates = new ArrayList<>();
    final List<String> unrecovered = new ArrayList<>();
    volatile WsClient socket;
    volatile int node;

    Client(String user, int node, Set<Integer> down) {
      this.user = user;
      this.node = node;
      this.down = down;
    }

    /** Connects to its node (or the next one up) and joins every room, recovering with since. */
    synchronized void connect() throws Exception {
      while (down.contains(node)) node = node % 3 + 1;
      socket = WsClient.connected(ScriptCluster.wsUri(node, user));
      for (String room : ROOMS) {
        String since = lastSeq.containsKey(room)
            ? ",\"since\":{\"seq\":" + lastSeq.get(room) + ",\"epoch\":\"" + epoch.get(room) + "\"}" : "";
        socket.send("{\"type\":\"join_room\",\"id\":\"join-" + room + "\",\"payload\":{\"room_id\":\""
            + room + "\"" + since + "}}");
      }
    }

    private void onRoomInfo(JsonNode info) {
      String room = info.path("room").asText();
      JsonNode payload = info.path("payload");
      if (payload.has("recovered") && !payload.path("recovered").asBoolean()) unrecovered.add(room);
      epoch.put(room, payload.path("epoch").asText());
      joinedAt.putIfAbsent(room, payload.path("seq").asLong());
      lastSeq.putIfAbsent(room, payload.path("seq").asLong());
    }

    /** Reads whatever has come; false when the socket closed. */
    synchronized boolean read() {
      while (true) {
        JsonNode frame = socket.poll(Duration.ZERO);
        if (frame == null) return !socket.isClosed();
        String type = frame.path("type").asText();
        if (type.equals("room_info")) {
          onRoomInfo(frame);
        } else if (type.equals("new_message")) {
          String room = frame.path("room").asText();
          long seq = frame.path("seq").asLong();
          String previous = received.computeIfAbsent(room, r -> new ConcurrentHashMap<>())
              .put(seq, frame.path("id").asText());
          if (previous != null) duplicates.add(room + "#" + seq);
          lastSeq.merge(room, seq, Math::max);
        } else if (frame.has("id")) {
          answers.put(frame.path("id").asText(), frame);
        }
      }
    }
  }

  @Test
  void aRollingRestartUnderChatLosesNothing() throws Exception {
    Set<Integer> down = ConcurrentHashMap.newKeySet();
    List<Client> clients = new ArrayList<>();
    for (int node = 1; node <= 3; node++) {
      for (int i = 0; i < 2; i++) {
        Client client = new Client("roller-" + node + "-" + i, node, down);
        client.connect();
        clients.add(client);
        waiter.awaitAssert(Duration.ofSeconds(15), () -> {
          client.read();
          assertThat(client.joinedAt).hasSize(ROOMS.size());
          return null;
        });
      }
    }
    List<Request> sent = new CopyOnWriteArrayList<>();
    Map<String, String> ackedIds = new ConcurrentHashMap<>(); // message id -> room
    AtomicInteger counter = new AtomicInteger();
    List<String> lostRequests = new CopyOnWriteArrayList<>();
    ScheduledExecutorService chat = Executors.newSingleThreadScheduledExecutor();
    chat.scheduleAtFixedRate(() -> {
      for (Client client : clients) {
        try {
          if (!client.read()) client.connect(); // its node left: another node, since
          String room = ROOMS.get(counter.get() % ROOMS.size());
          String id = client.user + "-m" + counter.incrementAndGet();
          WsClient socket = client.socket;
          socket.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"" + id
              + "\",\"payload\":{\"content\":\"" + id + "\"}}");
          sent.add(new Request(id, room, System.nanoTime(), socket));
        } catch (Exception | AssertionError notNow) {
          // the node is going away under it: the next round connects elsewhere
        }
      }
    }, 0, 200, TimeUnit.MILLISECONDS);

    waiter.awaitAssert(Duration.ofSeconds(20), () -> assertThat(sent.size()).isGreaterThan(60));
    for (int node = 1; node <= 3; node++) {
      down.add(node);
      cluster.run(Duration.ofMinutes(2), "stop-node", String.valueOf(node));
      cluster.run(Duration.ofMinutes(3), "start-node", String.valueOf(node));
      down.remove(node);
      int before = sent.size();
      waiter.awaitAssert(Duration.ofSeconds(30), () -> assertThat(sent.size()).isGreaterThan(before + 60));
    }
    chat.shutdown();
    assertThat(chat.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

    // every request sent on a socket that stayed open got its answer, within the bound
    Map<String, Client> byUser = new TreeMap<>();
    clients.forEach(client -> byUser.put(client.user, client));
    for (Request request : sent) {
      Client client = byUser.get(request.id().substring(0, request.id().indexOf("-m")));
      waiter.awaitAssert(ANSWER_BOUND, () -> {
        client.read();
        JsonNode answer = client.answers.get(request.id());
        if (answer == null && !request.socket().isClosed()) {
          assertThat(answer).as("answer to %s", request.id()).isNotNull();
        }
        return null;
      });
      JsonNode answer = client.answers.get(request.id());
      if (answer == null) {
        if (!request.socket().isClosed()) lostRequests.add(request.id());
      } else if (answer.path("type").asText().equals("ack")) {
        ackedIds.put(answer.path("payload").path("message_id").asText(), request.room());
      }
    }

    // every client has every acknowledged message sent after it first joined, each once
    Map<String, Integer> missing = new TreeMap<>();
    for (Client client : clients) {
      waiter.awaitAssert(Duration.ofSeconds(10), () -> {
        client.read();
        for (Client sender : clients) {
          for (Map.Entry<String, JsonNode> answer : sender.answers.entrySet()) {
            JsonNode ack = answer.getValue();
            if (!ack.path("type").asText().equals("ack")) continue;
            String room = ack.path("room").asText();
            long seq = ack.path("payload").path("seq").asLong();
            if (seq <= client.joinedAt.getOrDefault(room, Long.MAX_VALUE) || sender == client) continue;
            assertThat(client.received.getOrDefault(room, Map.of()))
                .as("%s has %s#%d", client.user, room, seq).containsKey(seq);
          }
        }
        return null;
      });
      missing.put(client.user, client.duplicates.size());
    }
    System.out.printf("RollingRestartIT: %d requests, %d acknowledged messages, answers missing on open sockets %d, "
        + "duplicates per client %s, incomplete recoveries %s%n", sent.size(), ackedIds.size(), lostRequests.size(),
        missing, clients.stream().map(client -> client.unrecovered.size()).toList());
    assertThat(lostRequests).as("requests without an answer on a socket that stayed open").isEmpty();
    for (Client client : clients) {
      assertThat(client.duplicates).as("%s got messages twice", client.user).isEmpty();
      assertThat(client.unrecovered).as("%s could not recover", client.user).isEmpty();
    }
    assertThat(ackedIds).hasSizeGreaterThan(200);
    clients.forEach(client -> client.socket.close());
  }
}
