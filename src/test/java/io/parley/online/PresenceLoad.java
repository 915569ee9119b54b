package io.parley.online;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.OperatingSystemMXBean;
import com.sun.management.ThreadMXBean;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * Not a test: measures what presence costs, three cluster nodes in this JVM (Artery on
 * 127.0.0.31-33) with {@code usersPerNode} users each, half of them also on the next node.
 * Prints the time until every node's count is exact after the fill, the process CPU and the
 * bytes allocated per second while idle and under churn, and how long one change takes to show
 * on another node. Mode {@code none} runs the cluster without trackers (the baseline).
 *
 * <pre>
 * mvn -B -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -Xmx2g -cp target/classes:target/test-classes:$(cat target/cp.txt) io.parley.online.PresenceLoad 20000
 * </pre>
 */
public final class PresenceLoad {
  private static final Duration PHASE = Duration.ofSeconds(20);
  private static final OperatingSystemMXBean OS =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

  private PresenceLoad() {}

  public static void main(String[] args) throws Exception {
    int usersPerNode = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    boolean trackers = !(args.length > 1 && args[1].equals("none"));
    int churnPerSecond = usersPerNode / 100;
    List<ActorSystem<Void>> systems = startCluster(3);
    try {
      List<ActorRef<OnlineTracker.Command>> nodes = new ArrayList<>();
      if (trackers) {
        for (ActorSystem<Void> system : systems) {
          nodes.add(system.systemActorOf(OnlineTracker.create(), "online", Props.empty()));
        }
      }
      System.out.printf("3 nodes, %d users per node, trackers %s%n", usersPerNode, trackers);
      // the idle phases are measurement windows: CPU over a fixed time in which nothing is sent
      measure("idle, nobody connected", () -> Thread.sleep(PHASE.toMillis()));

      long start = System.nanoTime();
      Usage fill = Usage.now();
      for (int n = 0; n < nodes.size(); n++) {
        for (int u = 0; u < usersPerNode; u++) nodes.get(n).tell(new OnlineTracker.Connected(user(n, u, usersPerNode)));
      }
      int distinct = 2 * usersPerNode;
      long connections = 3L * usersPerNode;
      if (trackers) {
        awaitCounts(systems, nodes, distinct, connections, Duration.ofMinutes(3));
        System.out.printf("fill: all nodes exact (%d users, %d connections) after %d ms; %s%n",
            distinct, connections, (System.nanoTime() - start) / 1_000_000, fill.since());
      }
      measure("idle, all connected", () -> Thread.sleep(PHASE.toMillis()));
      measure("churn " + churnPerSecond + " users/s per node", () -> {
        long end = System.nanoTime() + PHASE.toNanos();
        int next = 0;
        while (System.nanoTime() < end) {
          for (int i = 0; i < churnPerSecond; i++, next++) {
            for (int n = 0; n < nodes.size(); n++) {
              String user = user(n, next % usersPerNode, usersPerNode);
              nodes.get(n).tell(new OnlineTracker.Disconnected(user));
              nodes.get(n).tell(new OnlineTracker.Connected(user));
            }
          }
          Thread.sleep(1000); // paces the churn: one burst of churnPerSecond per second
        }
      });
      if (trackers) {
        List<Long> shows = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          long at = System.nanoTime();
          nodes.get(0).tell(new OnlineTracker.Connected("newcomer-" + i));
          awaitCounts(systems, nodes, distinct + i + 1, connections + i + 1, Duration.ofSeconds(30));
          shows.add((System.nanoTime() - at) / 1_000_000);
        }
        System.out.printf("one new user exact on every node after (ms): %s%n", shows);
      }
    } finally {
      for (ActorSystem<Void> system : systems) system.terminate();
      for (ActorSystem<Void> system : systems) system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** Node n's users: a window of usersPerNode ids that overlaps half of the next node's. */
  private static String user(int node, int index, int usersPerNode) {
    return "user-" + (node * usersPerNode / 2 + index);
  }

  private static List<ActorSystem<Void>> startCluster(int size) throws Exception {
    List<ActorSystem<Void>> systems = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Config config = ConfigFactory.parseString("""
          pekko.remote.artery.canonical.hostname = "127.0.0.3%d"
          pekko.remote.artery.canonical.port = 0
          pekko.loglevel = WARNING
          pekko.coordinated-shutdown.exit-jvm = off
          pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
          pekko.fail-mixed-versions = off
          """.formatted(i + 1)).withFallback(ConfigFactory.load());
      systems.add(ActorSystem.create(Behaviors.empty(), "parley", config));
    }
    for (ActorSystem<Void> system : systems) {
      Cluster.get(system).manager().tell(Join.create(Cluster.get(systems.get(0)).selfMember().address()));
    }
    ActorTestKit.create(systems.get(0)).createTestProbe().awaitAssert(Duration.ofSeconds(60), () -> {
      for (ActorSystem<Void> system : systems) {
        assertThat(Cluster.get(system).state().getMembers()).as("cluster formed")
            .hasSize(size).allMatch(member -> member.status() == MemberStatus.up());
      }
      return null;
    });
    return systems;
  }

  private static void awaitCounts(List<ActorSystem<Void>> systems, List<ActorRef<OnlineTracker.Command>> nodes,
      int users, long connections, Duration timeout) {
    ActorTestKit.create(systems.get(0)).createTestProbe().awaitAssert(timeout, Duration.ofMillis(20), () -> {
      for (int n = 0; n < nodes.size(); n++) {
        OnlineTracker.Online online = AskPattern.<OnlineTracker.Command, OnlineTracker.Online>ask(
                nodes.get(n), OnlineTracker.Get::new, Duration.ofSeconds(10), systems.get(n).scheduler())
            .toCompletableFuture().join();
        assertThat(online.users() == users && online.connections() == connections)
            .as("node %d at %s, expected %d users and %d connections", n, online, users, connections).isTrue();
      }
      return null;
    });
  }

  private interface Phase {
    void run() throws Exception;
  }

  private static void measure(String name, Phase phase) throws Exception {
    Usage before = Usage.now();
    phase.run();
    System.out.printf("%s: %s%n", name, before.since());
  }

  /** Process CPU and bytes allocated by live threads, and when they were read. */
  private record Usage(long cpuNanos, long allocated, long at) {
    static Usage now() {
      return new Usage(OS.getProcessCpuTime(), allocatedBytes(), System.nanoTime());
    }

    private static long allocatedBytes() {
      long sum = 0;
      for (long bytes : THREADS.getThreadAllocatedBytes(THREADS.getAllThreadIds())) if (bytes > 0) sum += bytes;
      return sum;
    }

    String since() {
      Usage now = now();
      double seconds = (now.at - at) / 1e9;
      return String.format("%.1f s, CPU %.1f %% of a core, allocated %.1f MB/s",
          seconds, 100.0 * (now.cpuNanos - cpuNanos) / (now.at - at), (now.allocated - allocated) / 1e6 / seconds);
    }
  }
}
