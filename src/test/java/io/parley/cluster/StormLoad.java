package io.parley.cluster;

import io.parley.testing.NodeProcess;
import io.parley.testing.ProcessCluster;
import io.parley.testing.SocketFleet;
import io.parley.testing.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;

/**
 * Not a test: the connect storm of issue 15 at a size of one's choosing, on 127.0.0.31-33, to
 * measure the failure detector's false positives and the connect rate's effect. Three node
 * processes; {@code socketsPerNode} authenticated sockets opened to each (200 upgrades in flight,
 * a quarter of the users on two nodes); then {@code storms} times every socket dropped and
 * reconnected at once; then node 3 killed with SIGKILL. Prints when 99 % and 100 % were connected, the 503s, how long the
 * counts took to be exact everywhere, the failure detector's warnings and unreachable marks, any
 * node downed, and how long the survivors took to drop the killed node's users.
 *
 * <pre>
 * mvn -B -q -DskipTests package dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) io.parley.cluster.StormLoad 4000 3 \
 *     [PARLEY_SETTING=value ...] [-J-Dpekko.some.setting=value ...]
 * </pre>
 */
public final class StormLoad {
  static final List<String> HOSTS = List.of("127.0.0.31", "127.0.0.32", "127.0.0.33");
  static final int PARALLEL = 200;
  private static final Duration WARM_UP = Duration.ofSeconds(10);
  private static final Duration EXACT_WITHIN = Duration.ofMinutes(1);

  private StormLoad() {}

  public static void main(String[] args) throws Exception {
    int perNode = Integer.parseInt(args[0]);
    int storms = Integer.parseInt(args[1]);
    Map<String, String> env = new HashMap<>(nodeEnv());
    List<String> jvm = new ArrayList<>(List.of("-Xmx512m"));
    for (int i = 2; i < args.length; i++) {
      if (args[i].startsWith("-J")) jvm.add(args[i].substring(2));
      else env.put(args[i].substring(0, args[i].indexOf('=')), args[i].substring(args[i].indexOf('=') + 1));
    }
    System.out.printf("storm: %d sockets per node, env %s, jvm %s%n", perNode, env, jvm);
    ActorTestKit kit = ActorTestKit.create("StormLoad");
    TestProbe<Void> probe = kit.createTestProbe();
    try (ProcessCluster cluster = new ProcessCluster(HOSTS, env, jvm, Path.of("target/storm-load"));
        SocketFleet fleet = fleet(perNode)) {
      cluster.startAll(probe, Duration.ofMinutes(1));
      Thread.sleep(WARM_UP.toMillis()); // JIT and GC settle: a measured pause, not a wait for a state
      Detector detector = new Detector(cluster);
      System.out.printf("started: %s%n", detector.since());
      int users = distinctUsers(fleet);
      long sockets = fleet.clients().size();
      SocketFleet.Round fill = fleet.connectAll(PARALLEL, Duration.ofMinutes(10));
      System.out.printf("fill: %s; counts exact after %d ms; closed by server %d; %s%n",
          fill, cluster.awaitCounts(probe, cluster.nodes(), users, sockets, EXACT_WITHIN), fleet.closedByServer(),
          detector.since());
      for (int i = 0; i < storms; i++) {
        fleet.dropAll();
        SocketFleet.Round storm = fleet.connectAll(PARALLEL, Duration.ofMinutes(10));
        System.out.printf("storm: %s; counts exact after %d ms; closed by server %d; %s%n",
            storm, cluster.awaitCounts(probe, cluster.nodes(), users, sockets, EXACT_WITHIN), fleet.closedByServer(),
            detector.since());
      }

      NodeProcess third = cluster.nodes().get(2);
      List<SocketFleet.Client> survivors = fleet.clients().stream()
          .filter(client -> !client.host().equals(third.host())).toList();
      Set<String> left = new HashSet<>();
      survivors.forEach(client -> left.add(client.user()));
      long killedAt = System.nanoTime();
      third.kill();
      cluster.awaitCounts(probe, cluster.nodes().subList(0, 2), left.size(), survivors.size(), EXACT_WITHIN);
      System.out.printf("kill -9 of node 3: survivors exact without its users after %d ms%n",
          (System.nanoTime() - killedAt) / 1_000_000);
    } finally {
      kit.shutdownTestKit();
    }
  }

  /**
   * The failure detector's verdicts in the nodes' logs since the last call: heartbeats that came
   * late, nodes marked unreachable, nodes downed, and which nodes still run.
   */
  private static final class Detector {
    private final ProcessCluster cluster;
    private long late;
    private long unreachable;
    private long downed;
    private double cpu;

    Detector(ProcessCluster cluster) {
      this.cluster = cluster;
    }

    String since() throws java.io.IOException {
      long lateNow = cluster.logLines("heartbeat interval is growing too large");
      long unreachableNow = cluster.logLines("Marking node as UNREACHABLE");
      long downedNow = cluster.logLines("as [Down]");
      double cpuNow = 0;
      for (NodeProcess node : cluster.nodes()) if (node.isAlive()) cpuNow += node.cpuSeconds();
      String report = String.format("nodes' CPU %.1f s, heartbeats late %d, unreachable marks %d, downed %d, alive %s",
          cpuNow - cpu, lateNow - late, unreachableNow - unreachable, downedNow - downed, cluster.alive());
      cpu = cpuNow;
      late = lateNow;
      unreachable = unreachableNow;
      downed = downedNow;
      return report;
    }
  }

  /**
   * Nodes that log warnings only and never close an idle test socket (the test's sockets answer no
   * pings), with their room log in a new database of the test PostgreSQL.
   */
  static Map<String, String> nodeEnv() {
    return Map.of(
        "PARLEY_LOG_LEVEL", "WARN",
        "PARLEY_PING_INTERVAL", "9m",
        "PARLEY_IDLE_TIMEOUT", "10m",
        "PARLEY_DB_URL", TestPostgres.newDatabase());
  }

  /** Client i on node i % 3; the last quarter reuses users of the first half, on other nodes. */
  static SocketFleet fleet(int perNode) {
    SocketFleet fleet = new SocketFleet();
    int total = perNode * HOSTS.size();
    for (int i = 0; i < total; i++) {
      int user = i < total * 3 / 4 ? i : i - total / 2;
      fleet.add(HOSTS.get(i % HOSTS.size()), ProcessCluster.HTTP_PORT, "storm-" + user);
    }
    return fleet;
  }

  static int distinctUsers(SocketFleet fleet) {
    Set<String> users = new HashSet<>();
    fleet.clients().forEach(client -> users.add(client.user()));
    return users.size();
  }
}
