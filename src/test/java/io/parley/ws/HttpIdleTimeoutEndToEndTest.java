package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.parley.app.ParleyNode;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The HTTP idle timeout (1 s here) closes connections that are not upgraded: one that never sends
 * a request, and a keep-alive one after its last response. An upgraded connection is governed by
 * the WebSocket's own limits (60 s here) and outlives it.
 */
@ExtendWith(LogCapturingExtension.class)
class HttpIdleTimeoutEndToEndTest {
  private static final Duration HTTP_IDLE = Duration.ofSeconds(1);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static ParleyNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("parley.http.idle-timeout = 1s");
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  private static Socket connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", node.port()), (int) WAIT.toMillis());
    return socket;
  }

  /** Waits for the server to close the connection; returns how long after {@code since} it did. */
  private static Duration awaitClosed(Socket socket, long since) throws IOException {
    socket.setSoTimeout((int) WAIT.toMillis());
    try {
      assertThat(socket.getInputStream().read()).as("the server must close the connection").isEqualTo(-1);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the connection is still open after " + WAIT, e);
    }
    return Duration.ofNanos(System.nanoTime() - since);
  }

  /** Nothing arrives and the connection stays open for {@code during}. */
  private static void assertStaysOpen(Socket socket, Duration during) throws IOException {
    socket.setSoTimeout((int) during.toMillis());
    assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
  }

  private static String get(Socket socket, String path) throws IOException {
    socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    socket.setSoTimeout((int) WAIT.toMillis());
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      assertThat(b).as("a complete response head").isNotNegative();
      head.write(b);
    }
    String text = head.toString(StandardCharsets.US_ASCII);
    int length = Integer.parseInt(text.replaceAll("(?is).*content-length: *(\\d+).*", "$1"));
    return text.lines().findFirst().orElseThrow() + " " + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  @Test
  void aConnectionThatSendsNoRequestIsClosedAfterTheIdleTimeout() throws Exception {
    long start = System.nanoTime();
    try (Socket socket = connect()) {
      assertThat(awaitClosed(socket, start)).isGreaterThanOrEqualTo(HTTP_IDLE.minusMillis(100));
    }
  }

  @Test
  void aKeepAliveConnectionStaysOpenWhileUsedAndIsClosedAfterItsLastResponse() throws Exception {
    try (Socket socket = connect()) {
      for (int i = 0; i < 3; i++) {
        assertThat(get(socket, "/alive")).isEqualTo("HTTP/1.1 200 OK {\"status\":\"alive\"}");
        assertStaysOpen(socket, HTTP_IDLE.dividedBy(2));
      }
      long last = System.nanoTime();
      assertThat(get(socket, "/alive")).startsWith("HTTP/1.1 200 OK");
      assertThat(awaitClosed(socket, last)).isGreaterThanOrEqualTo(HTTP_IDLE.minusMillis(100));
    }
  }

  @Test
  void anUpgradedConnectionOutlivesTheHttpIdleTimeout() {
    try (WsClient client = WsClient.connected(TestNode.wsUri(node, TestTokens.token("quiet", "Quiet")))) {
      client.expectNoFrame(HTTP_IDLE.multipliedBy(3));
      assertThat(client.isClosed()).isFalse();
      client.send("{\"type\":\"ping\",\"id\":\"still\"}");
      assertThat(client.expect("pong").path("id").asText()).isEqualTo("still");
    }
  }
}
