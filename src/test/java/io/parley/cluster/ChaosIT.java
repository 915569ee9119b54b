package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.testing.Chatter;
import io.parley.testing.ScriptCluster;
import io.parley.testing.ScriptClusterExtension;
import java.io.IOException;
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
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Chaos over the local 3-node cluster (scripts/cluster.sh): while clients chat, random nodes
 * are killed with SIGKILL and started again, three times. Node 1 is never killed, so its two
 * clients stay connected throughout. Afterwards every room works, no ghost user remains, the
 * online count is right everywhere, and no message acknowledged to a sender reached fewer than
 * all of the clients that stayed connected. Bounded: three cycles, each with time limits.
 */
class ChaosIT {
  private static final List<String> ROOMS = List.of("chaos-a", "chaos-b", "chaos-c", "chaos-d");
  private static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);
  private static final int CYCLES = 3;

  @RegisterExtension
  static final ScriptClusterExtension nodes = new ScriptClusterExtension("target/chaos-it");
  private static TestProbe<Object> waiter;
  private static ScriptCluster cluster;

  @BeforeAll
  static void probes() {
    waiter = nodes.waiter();
    cluster = nodes.cluster();
  }

  /** A user who joined every room. */
  private static Chatter chatter(String user, int node) throws IOException {
    Chatter chatter = new Chatter(user, ScriptCluster.wsUri(node, user), waiter);
    for (String room : ROOMS) chatter.join(room, Duration.ofSeconds(15));
    return chatter;
  }

  @Test
  void chatSurvivesRepeatedKillsAndRestarts() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    System.out.println("ChaosIT seed " + seed);
    Chatter stayer1 = chatter("stayer-1", 1);
    Chatter stayer2 = chatter("stayer-2", 1);
    Map<Integer, Chatter> movers = new ConcurrentHashMap<>();
    movers.put(2, chatter("mover-2", 2));
    movers.put(3, chatter("mover-3", 3));

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
        if (!sender.post(room, id, id)) continue; // its node was just killed
        chat.schedule(() -> {
          Chatter.Reply ack = sender.reply(id);
          if (ack != null && ack.frame().path("type").asText().equals("ack")) {
            acked.put(ack.frame().path("payload").path("message_id").asText(), room);
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
          stayer1.post(room, id, id);
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
      movers.put(victim, chatter("mover-" + victim, victim));
    }

    chat.shutdown();
    assertThat(chat.awaitTermination(30, TimeUnit.SECONDS)).as("the ack bookkeeping ends").isTrue();

    // every room works
    for (String room : ROOMS) {
      String id = "final-" + room;
      stayer1.post(room, id, id);
      String messageId = stayer1.awaitReply(id, Duration.ofSeconds(10)).path("payload").path("message_id").asText();
      for (Chatter receiver : List.of(stayer2, movers.get(2), movers.get(3))) {
        waiter.awaitAssert(Duration.ofSeconds(10), () -> assertThat(receiver.hasReceived(room, messageId::equals))
            .as("%s gets the final message in %s", receiver.user, room).isTrue());
      }
    }

    // no ghost users: each room lists exactly the connected users
    for (String room : ROOMS) {
      String id = "who-" + room;
      stayer2.send("{\"type\":\"online_users\",\"room\":\"" + room + "\",\"id\":\"" + id + "\"}");
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
    return stayer1.replies(prefix).stream()
        .map(reply -> reply.path("payload").path("message_id").asText())
        .anyMatch(messageId -> other.hasReceived(room, messageId::equals));
  }
}
