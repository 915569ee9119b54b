package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.testing.ScriptCluster;
import io.parley.testing.WsClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Chaos over the local 3-node cluster (scripts/cluster.sh): while clients chat, random nodes
 * are killed with SIGKILL and started again, three times. Node 1 is never killed, so its two
 * clients stay connected throughout. Afterwards every room works, no ghost user remains, the
 * online count is right everywhere, and no message acknowledged to a sender reached fewer than
 * all of the clients that stayed connected. Bounded: three cycles, each with time limits.
 */
class ChaosIT {
  private static final Path RUN_DIR = Path.of("target/chaos-it");
  private static final List<String> ROOMS = List.of("chaos-a", "chaos-b", "chaos-c", "chaos-d");
  private static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);
  private static final int CYCLES = 3;

  private static ActorTestKit kit;
  private static TestProbe<Object> waiter;
  private static ScriptCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    kit = ActorTestKit.create("ChaosITProbes");
    waiter = kit.createTestProbe();
    cluster = ScriptCluster.start(RUN_DIR);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) cluster.close();
    kit.shutdownTestKit();
  }

  /** A connected user whose frames a background thread sorts as they come. */
  private static final class Chatter implements AutoCloseable {
    final String user;
    final int node;
    final WsClient socket;
    final Map<String, JsonNode> repliesById = new ConcurrentHashMap<>();
    /** Message ids this client received, by room. */
    final Map<String, Set<String>> received = new ConcurrentHashMap<>();
    final AtomicBoolean reading = new AtomicBoolean(true);
    final Thread reader;

    Chatter(String user, int node) throws IOException {
      this.user = user;
      this.node = node;
      this.socket = WsClient.connected(ScriptCluster.wsUri(node, user));
      this.reader = new Thread(this::read, "chatter-" + user);
      reader.start();
      for (String room : ROOMS) {
        String id = "join-" + room;
        socket.send("{\"type\":\"join_room\",\"id\":\"" + id + "\",\"payload\":{\"room_id\":\"" + room + "\"}}");
        awaitReply(id, Duration.ofSeconds(15));
      }
    }

    private void read() {
      while (reading.get()) {
        JsonNode frame = socket.poll(Duration.ofMillis(100));
        if (frame == null) continue;
        if (frame.path("type").asText().equals("new_message")) {
          received.computeIfAbsent(frame.path("room").asText(), r -> ConcurrentHashMap.newKeySet())
              .add(frame.path("id").asText());
        } else if (frame.has("id")) {
          repliesById.put(frame.path("id").asText(), frame);
        }
      }
    }

    JsonNode awaitReply(String id, Duration within) {
      return waiter.awaitAssert(within, () -> {
        JsonNode reply = repliesById.get(id);
        assertThat(reply).as("%s: reply to %s", user, id).isNotNull();
        return reply;
      });
    }

    boolean hasReceived(String room, Predicate<String> id) {
      return received.getOrDefault(room, Set.of()).stream().anyMatch(id);
    }

    @Override
    public void close() {
      reading.set(false);
      socket.close();
    }
  }

  @Test
  void chatSurvivesRepeatedKillsAndRestarts() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    System.out.println("ChaosIT seed " + seed);
    Chatter stayer1 = new Chatter("stayer-1", 1);
    Chatter stayer2 = new Chatter("stayer-2", 1);
    Map<Integer, Chatter> movers = new ConcurrentHashMap<>();
    movers.put(2, new Chatter("mover-2", 2));
    movers.put(3, new Chatter("mover-3", 3));

    // message id -> room, for every message a sender got an ack for
    Map<String, String> acked = new ConcurrentHashMap<>();
    AtomicInteger counter = new AtomicInteger();
    ScheduledExecutorService chat = Executors.newScheduledThreadPool(2);
    chat.scheduleAtFixedRate(() -> {
      List<Chatter> senders = new ArrayList<>(movers.values());
      senders.add(stayer1);
      for (Chatter sender : senders) {
        int n = counter.incrementAndGet();
        String room = ROOMS.get(n % ROOMS.size());
        String id = "m-" + n;
        try {
          sender.socket.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"" + id
              + "\",\"payload\":{\"content\":\"" + id + "\"}}");
        } catch (RuntimeException senderGone) {
          continue; // its node was just killed
        }
        chat.schedule(() -> {
          JsonNode ack = sender.repliesById.get(id);
          if (ack != null && ack.path("type").asText().equals("ack")) {
            acked.put(ack.path("payload").path("message_id").asText(), room);
          }
        }, 15, TimeUnit.SECONDS);
      }
    }, 0, 250, TimeUnit.MILLISECONDS); // well under the rate limit

    List<Long> recoveries = new ArrayList<>();
    for (int cycle = 1; cycle <= CYCLES; cycle++) {
      int victim = 2 + random.nextInt(2);
      Chatter gone = movers.remove(victim);
      cluster.run(Duration.ofSeconds(30), "kill", String.valueOf(victim));
      long killedAt = System.nanoTime();
      gone.close();
      int survivor = victim == 2 ? 3 : 2;
      // recovered: a probe from node 1 reaches the other node's client in every room
      Set<String> pending = ConcurrentHashMap.newKeySet();
      pending.addAll(ROOMS);
      String probes = "probe-" + cycle + "-";
      AtomicInteger probe = new AtomicInteger();
      Chatter other = movers.get(survivor);
      waiter.awaitAssert(RECOVERY_BOUND.plusSeconds(10), Duration.ofMillis(300), () -> {
        pending.removeIf(room -> probeArrived(stayer1, other, probes + room + "-", room));
        int n = probe.incrementAndGet();
        for (String room : pending) {
          String id = probes + room + "-" + n;
          stayer1.socket.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"" + id
              + "\",\"payload\":{\"content\":\"" + id + "\"}}");
        }
        assertThat(pending).isEmpty();
        return null;
      });
      long recovered = (System.nanoTime() - killedAt) / 1_000_000;
      recoveries.add(recovered);
      System.out.printf("ChaosIT cycle %d: killed node%d, every room delivered across nodes again after %d ms%n",
          cycle, victim, recovered);
      assertThat(pending).as("rooms not working again after cycle %d", cycle).isEmpty();
      assertThat(recovered).isLessThan(RECOVERY_BOUND.toMillis());

      cluster.run(Duration.ofMinutes(2), "start-node", String.valueOf(victim));
      movers.put(victim, new Chatter("mover-" + victim, victim));
    }

    chat.shutdown();
    assertThat(chat.awaitTermination(30, TimeUnit.SECONDS)).as("the ack bookkeeping ends").isTrue();

    // every room works
    for (String room : ROOMS) {
      String id = "final-" + room;
      stayer1.socket.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"" + id
          + "\",\"payload\":{\"content\":\"" + id + "\"}}");
      String messageId = stayer1.awaitReply(id, Duration.ofSeconds(10)).path("payload").path("message_id").asText();
      for (Chatter receiver : List.of(stayer2, movers.get(2), movers.get(3))) {
        waiter.awaitAssert(Duration.ofSeconds(10), () -> assertThat(receiver.hasReceived(room, messageId::equals))
            .as("%s gets the final message in %s", receiver.user, room).isTrue());
      }
    }

    // no ghost users: each room lists exactly the connected users
    for (String room : ROOMS) {
      String id = "who-" + room;
      stayer2.socket.send("{\"type\":\"online_users\",\"room\":\"" + room + "\",\"id\":\"" + id + "\"}");
      Set<String> present = new HashSet<>();
      stayer2.awaitReply(id, Duration.ofSeconds(10)).path("payload").path("users")
          .forEach(user -> present.add(user.path("id").asText()));
      assertThat(present).as("users in %s", room).containsExactlyInAnyOrder("stayer-1", "stayer-2", "mover-2", "mover-3");
    }

    // online counts right on every node
    for (int node = 1; node <= 3; node++) {
      int n = node;
      waiter.awaitAssert(Duration.ofSeconds(10), () -> {
        JsonNode counts = ScriptCluster.online(n);
        assertThat(counts.path("online").asInt()).as("online on node%d", n).isEqualTo(4);
        assertThat(counts.path("connections").asInt()).as("connections on node%d", n).isEqualTo(4);
        return null;
      });
    }

    // no acknowledged message missed by a client that stayed connected
    int checked = 0;
    List<String> missed = new ArrayList<>();
    for (Map.Entry<String, String> message : acked.entrySet()) {
      checked++;
      if (!stayer2.hasReceived(message.getValue(), message.getKey()::equals)) missed.add(message.getKey());
    }
    System.out.printf("ChaosIT: %d acknowledged messages checked at a client connected throughout, %d missed; "
        + "recovery per cycle %s ms%n", checked, missed.size(), recoveries);
    assertThat(checked).isGreaterThan(50);
    assertThat(missed).isEmpty();

    stayer1.close();
    stayer2.close();
    movers.values().forEach(Chatter::close);
  }

  /** Whether a probe ({@code prefix}…) that Stayer 1 sent into {@code room} reached {@code other}. */
  private static boolean probeArrived(Chatter stayer1, Chatter other, String prefix, String room) {
    for (Map.Entry<String, JsonNode> reply : stayer1.repliesById.entrySet()) {
      if (!reply.getKey().startsWith(prefix)) continue;
      String messageId = reply.getValue().path("payload").path("message_id").asText();
      if (other.hasReceived(room, messageId::equals)) return true;
    }
    return false;
  }
}
