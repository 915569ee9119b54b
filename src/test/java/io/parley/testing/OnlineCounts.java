package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.app.ParleyNode;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;

/** Reads {@code /ws/online}. */
public final class OnlineCounts {
  private static final ObjectMapper JSON = new ObjectMapper();

  private OnlineCounts() {}

  public static JsonNode read(ParleyNode node) {
    try {
      return JSON.readTree(TestCluster.get(node, "/ws/online").body());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /**
   * The count once every node agrees and it has stopped moving, so that clients of earlier
   * tests that are still closing do not count. A change shows within about a second (published
   * every 0.5 s, subscribers notified every 0.5 s), so the count must hold still for longer.
   */
  public static JsonNode settled(TestProbe<?> probe, List<ParleyNode> nodes) {
    return probe.awaitAssert(Duration.ofSeconds(15), () -> {
      JsonNode first = read(nodes.get(0));
      probe.expectNoMessage(Duration.ofMillis(1500));
      for (ParleyNode node : nodes) assertThat(read(node)).isEqualTo(first);
      return first;
    });
  }
}
