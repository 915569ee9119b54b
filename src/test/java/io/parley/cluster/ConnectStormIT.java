package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.testing.NodeProcess;
import io.parley.testing.ProcessCluster;
import io.parley.testing.SocketFleet;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 15's reconnect storm, small: three node processes on 127.0.0.31-33 with the default
 * connect rate and failure detector, a few thousand authenticated sockets, then all of them
 * dropped and reconnected at once. No node is downed, no connected socket is closed by a server,
 * and every node's online count is exact. (StormLoad runs the same at any size and prints the
 * timings.)
 */
class ConnectStormIT {
  private static final int SOCKETS_PER_NODE = 1000;
  private static final Duration SETTLE = Duration.ofSeconds(30);

  private static final ActorTestKit kit = ActorTestKit.create("ConnectStormIT");
  private static ProcessCluster cluster;
  private static SocketFleet fleet;

  @BeforeAll
  static void start() throws Exception {
    cluster = new ProcessCluster(StormLoad.HOSTS, StormLoad.nodeEnv(), List.of("-Xmx512m"),
        Path.of("target/connect-storm-it"));
    cluster.startAll(kit.createTestProbe(), Duration.ofMinutes(1));
    fleet = StormLoad.fleet(SOCKETS_PER_NODE);
  }

  @AfterAll
  static void stop() throws Exception {
    if (fleet != null) fleet.close();
    if (cluster != null) cluster.close();
    kit.shutdownTestKit();
  }

  /** Waits until every node says the fleet's counts; returns how long that took. */
  private static long exactCounts(int users, long sockets) {
    return cluster.awaitCounts(kit.createTestProbe(), cluster.nodes(), users, sockets, SETTLE);
  }

  @Test
  void aReconnectStormDownsNoNodeDropsNoSocketAndLeavesTheCountsExact() throws Exception {
    int users = StormLoad.distinctUsers(fleet);
    long sockets = fleet.clients().size();
    SocketFleet.Round fill = fleet.connectAll(StormLoad.PARALLEL, Duration.ofMinutes(2));
    System.out.printf("ConnectStormIT fill: %s; counts exact after %d ms%n", fill, exactCounts(users, sockets));

    fleet.dropAll();
    SocketFleet.Round storm = fleet.connectAll(StormLoad.PARALLEL, Duration.ofMinutes(2));
    System.out.printf("ConnectStormIT storm: %s; counts exact after %d ms%n", storm, exactCounts(users, sockets));
    assertThat(fleet.closedByServer()).as("sockets closed by a server").isZero();

    assertThat(cluster.alive()).containsExactly(0, 1, 2);
    assertThat(cluster.logLines("as [Down]")).as("nodes downed").isZero();
    kit.createTestProbe().awaitAssert(SETTLE, Duration.ofMillis(200), () -> {
      for (NodeProcess node : cluster.nodes()) {
        HttpResponse<String> metrics = node.get("/metrics");
        assertThat(metrics).as("%s answers", node.host()).isNotNull();
        assertThat(metrics.body()).as("%s sees three members up", node.host())
            .contains("parley_cluster_members{status=\"up\"} 3.0");
      }
      return null;
    });
  }
}
