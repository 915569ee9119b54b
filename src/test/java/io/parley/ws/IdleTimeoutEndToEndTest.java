package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.app.ParleyNode;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Server pings and the idle timeout, on a node with short ones (0.4 s / 1.2 s). */
@ExtendWith(LogCapturingExtension.class)
class IdleTimeoutEndToEndTest {
  private static final Duration IDLE = Duration.ofMillis(1200);
  private static ParleyNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.limits.ping-interval = 400ms
        parley.limits.idle-timeout = 1200ms
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  @Test
  void clientThatNeverAnswersPingsIsClosedWith1001AfterTheIdleTimeout() throws Exception {
    RawWsClient.Reply reply = RawWsClient.upgrade(
        node.port(), "/ws?token=" + TestTokens.token("silent", "Silent"), Map.of());
    try (RawWsClient client = reply.client()) {
      long start = System.nanoTime();
      int pings = 0;
      int closeCode = -1;
      while (closeCode < 0) {
        RawWsClient.Frame frame = client.readFrame(Duration.ofSeconds(10));
        assertThat(frame).as("the server must close an idle connection").isNotNull();
        if (frame.opcode() == RawWsClient.PING) pings++;
        if (frame.opcode() == RawWsClient.CLOSE) closeCode = frame.closeCode();
      }
      Duration open = Duration.ofNanos(System.nanoTime() - start);
      assertThat(closeCode).isEqualTo(CloseCodes.GOING_AWAY);
      assertThat(pings).as("pings sent before giving up").isGreaterThanOrEqualTo(2);
      assertThat(open).isGreaterThanOrEqualTo(IDLE.minusMillis(100));
    }
  }

  @Test
  void clientThatAnswersPingsStaysOpenLongPastTheIdleTimeout() {
    try (WsClient client = WsClient.connected(TestNode.wsUri(node, TestTokens.token("lively", "Lively")))) {
      // no application traffic for three idle timeouts: only the client's automatic pongs
      client.expectNoFrame(IDLE.multipliedBy(3));
      assertThat(client.isClosed()).isFalse();
      client.send("{\"type\":\"ping\",\"id\":\"alive\"}");
      assertThat(client.expect("pong").path("id").asText()).isEqualTo("alive");
    }
  }
}
