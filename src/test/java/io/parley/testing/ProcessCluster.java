package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;

/**
 * Node processes forming one cluster, node {@code i} on {@code hosts.get(i)} with HTTP on
 * {@link #HTTP_PORT} and Artery on {@link #CLUSTER_PORT}, all of them seeds, started one after
 * the other (three JVMs starting at once on a small host stall each other's heartbeats).
 * Whatever happens, {@link #close} leaves no process.
 */
public final class ProcessCluster implements AutoCloseable {
  public static final int HTTP_PORT = 18080;
  public static final int CLUSTER_PORT = 25520;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> hosts;
  private final Map<String, String> env;
  private final List<String> jvmArgs;
  private final Path logDir;
  private final List<NodeProcess> nodes = new ArrayList<>();

  /**
   * A cluster of a node per host, none started yet; {@code env} and {@code jvmArgs} go to every
   * node (see {@link NodeProcess#start}).
   */
  public ProcessCluster(List<String> hosts, Map<String, String> env, List<String> jvmArgs, Path logDir) {
    this.hosts = hosts;
    this.env = env;
    this.jvmArgs = jvmArgs;
    this.logDir = logDir;
    Runtime.getRuntime().addShutdownHook(new Thread(this::killAll));
  }

  /** Starts every node in turn, each once the ones before it are ready (at most {@code perNode} each). */
  public void startAll(TestProbe<?> probe, Duration perNode) throws IOException {
    for (int i = 0; i < size(); i++) {
      startNext();
      probe.awaitAssert(perNode, Duration.ofMillis(200), () -> {
        assertThat(ready()).as("every node ready").isTrue();
        return null;
      });
    }
  }

  /**
   * Waits (at most {@code within}) until every node of {@code of} answers exactly these counts;
   * returns how many milliseconds that took.
   */
  public long awaitCounts(TestProbe<?> probe, List<NodeProcess> of, int users, long connections, Duration within) {
    long start = System.nanoTime();
    probe.awaitAssert(within, Duration.ofMillis(50), () -> {
      assertThat(countsAre(of, users, connections))
          .as("every node's count exact (%d users, %d connections): %s", users, connections,
              of.stream().map(ProcessCluster::online).toList())
          .isTrue();
      return null;
    });
    return (System.nanoTime() - start) / 1_000_000;
  }

  /** Starts the next node; wait until {@link #ready} before starting another. */
  public NodeProcess startNext() throws IOException {
    int index = nodes.size();
    String seeds = hosts.stream().map(host -> host + ":" + CLUSTER_PORT).collect(Collectors.joining(","));
    NodeProcess node = NodeProcess.start("node" + (index + 1), hosts.get(index), HTTP_PORT, CLUSTER_PORT,
        seeds, env, jvmArgs, logDir.resolve("node" + (index + 1) + ".log"));
    nodes.add(node);
    return node;
  }

  public int size() {
    return hosts.size();
  }

  /** Whether every node started is ready; fails when one has died. */
  public boolean ready() {
    for (NodeProcess node : nodes) {
      if (!node.isAlive()) throw new AssertionError(node.host() + " died; see " + node.log());
    }
    return nodes.stream().allMatch(NodeProcess::ready);
  }

  public List<NodeProcess> nodes() {
    return nodes;
  }

  /** {@code /ws/online} of a node, or null when it does not answer 200. */
  public static JsonNode online(NodeProcess node) {
    HttpResponse<String> response = node.get("/ws/online");
    try {
      return response == null || response.statusCode() != 200 ? null : JSON.readTree(response.body());
    } catch (IOException e) {
      return null;
    }
  }

  /** Whether every node answers exactly these counts. */
  public boolean countsAre(List<NodeProcess> of, int users, long connections) {
    return of.stream().map(ProcessCluster::online).allMatch(online -> online != null
        && online.path("online").asInt() == users && online.path("connections").asLong() == connections);
  }

  /** Lines of a node's log that contain {@code text}. */
  public static long logLines(NodeProcess node, String text) throws IOException {
    try (var lines = Files.lines(node.log())) {
      return lines.filter(line -> line.contains(text)).count();
    }
  }

  /** The same count over every node. */
  public long logLines(String text) throws IOException {
    long sum = 0;
    for (NodeProcess node : nodes) sum += logLines(node, text);
    return sum;
  }

  /** Indexes of the nodes whose process runs. */
  public List<Integer> alive() {
    return IntStream.range(0, nodes.size()).filter(i -> nodes.get(i).isAlive()).boxed().toList();
  }

  private void killAll() {
    for (NodeProcess node : nodes) {
      try {
        node.kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** SIGTERM to every node at once; SIGKILL to any still running a minute later. */
  @Override
  public void close() {
    nodes.parallelStream().forEach(node -> {
      try {
        node.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }
}
