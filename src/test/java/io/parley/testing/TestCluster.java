package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.app.ParleyNode;
import io.parley.room.RoomActor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/** Several nodes forming one cluster inside the test JVM, each with its own HTTP port. */
public final class TestCluster implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private final List<ParleyNode> nodes = new ArrayList<>();

  private TestCluster() {}

  /** Starts {@code size} nodes (the first is the seed) and waits until all are Up and ready. */
  public static TestCluster start(int size, String overrides, TestProbe<?> waiter) throws Exception {
    TestCluster cluster = new TestCluster();
    int seedPort = freePort();
    String store = TestPostgres.newDatabase(); // a cluster shares PostgreSQL
    try {
      for (int i = 0; i < size; i++) {
        int port = i == 0 ? seedPort : freePort();
        cluster.nodes.add(TestNode.start("""
            parley.node-name = "node-%d"
            parley.cluster.seed-nodes = "127.0.0.1:%d"
            parley.storage.url = "%s"
            pekko.remote.artery.canonical.port = %d
            %s
            """.formatted(i + 1, seedPort, store, port, overrides)));
      }
      waiter.awaitAssert(Duration.ofSeconds(40), Duration.ofMillis(200), () -> {
        for (ParleyNode node : cluster.nodes) {
          Cluster members = Cluster.get(node.system());
          assertThat(members.state().getMembers()).hasSize(size)
              .allMatch(member -> member.status() == MemberStatus.up());
          assertThat(get(node, "/ready").statusCode()).isEqualTo(200);
        }
        return null;
      });
      return cluster;
    } catch (Exception | AssertionError e) {
      cluster.close();
      throw e;
    }
  }

  public ParleyNode node(int index) {
    return nodes.get(index);
  }

  public List<ParleyNode> nodes() {
    return nodes;
  }

  /** The room ids whose entities run on this node now. */
  public static Set<String> roomsHostedOn(ParleyNode node) {
    TestProbe<ShardRegion.CurrentShardRegionState> probe =
        ActorTestKit.create(node.system()).createTestProbe();
    ClusterSharding.get(node.system()).shardState()
        .tell(new GetShardRegionState(RoomActor.TYPE_KEY, probe.ref()));
    Set<String> rooms = new HashSet<>();
    for (ShardRegion.ShardState shard : probe.receiveMessage().getShards()) rooms.addAll(shard.getEntityIds());
    return rooms;
  }

  public static HttpResponse<String> get(ParleyNode node, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(TestNode.httpUri(node, path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** Stops every node, all at once. */
  @Override
  public void close() {
    nodes.stream()
        .map(node -> CompletableFuture.runAsync(() -> {
          try {
            node.close();
          } catch (Exception stoppedAlready) {
            // a node that a test stopped
          }
        }))
        .toList()
        .forEach(CompletableFuture::join);
  }
}
