package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real WebSocket client over loopback (the JDK's), collecting text frames. It answers pings by
 * itself, as browsers do.
 */
public final class WsClient implements AutoCloseable {
  public static final Duration WAIT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** Close code and reason; code 1006 when the connection broke without a close frame. */
  public record Closed(int code, String reason) {}

  private final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
  private final CompletableFuture<Closed> closed = new CompletableFuture<>();
  private final WebSocket socket;

  private WsClient(URI uri, List<String> subprotocols, Map<String, String> headers) {
    WebSocket.Builder builder = HTTP.newWebSocketBuilder().connectTimeout(WAIT);
    headers.forEach(builder::header);
    if (!subprotocols.isEmpty()) {
      builder.subprotocols(subprotocols.get(0),
          subprotocols.subList(1, subprotocols.size()).toArray(String[]::new));
    }
    this.socket = builder.buildAsync(uri, new Listener()).orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
  }

  public static WsClient connect(URI uri) {
    return new WsClient(uri, List.of(), Map.of());
  }

  public static WsClient connect(URI uri, List<String> subprotocols, Map<String, String> headers) {
    return new WsClient(uri, subprotocols, headers);
  }

  /** Connects and consumes the {@code connected} frame, which it returns. */
  public static WsClient connected(URI uri) {
    WsClient client = connect(uri);
    client.expect("connected");
    return client;
  }

  public String subprotocol() {
    return socket.getSubprotocol();
  }

  public void send(String text) {
    socket.sendText(text, true).orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
  }

  public void sendBinary(byte[] data) {
    socket.sendBinary(ByteBuffer.wrap(data), true).orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
  }

  /** The next frame, parsed; fails when none comes within {@link #WAIT}. */
  public JsonNode next() {
    try {
      String frame = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (frame == null) fail("no frame within " + WAIT + (closed.isDone() ? "; closed " + closed.join() : ""));
      return JSON.readTree(frame);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The next frame if one comes within {@code within}, else null. */
  public JsonNode poll(Duration within) {
    try {
      String frame = frames.poll(within.toMillis(), TimeUnit.MILLISECONDS);
      return frame == null ? null : JSON.readTree(frame);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The next frame, which must be of this type. */
  public JsonNode expect(String type) {
    JsonNode frame = next();
    assertThat(frame.path("type").asText()).as("type of %s", frame).isEqualTo(type);
    return frame;
  }

  /** Skips frames until one of this type comes. */
  public JsonNode skipTo(String type) {
    while (true) {
      JsonNode frame = next();
      if (frame.path("type").asText().equals(type)) return frame;
    }
  }

  public void expectNoFrame(Duration within) {
    try {
      String frame = frames.poll(within.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(frame).as("unexpected frame").isNull();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** Waits for the server to close the connection. */
  public Closed awaitClose() {
    return awaitClose(WAIT);
  }

  public Closed awaitClose(Duration within) {
    return closed.orTimeout(within.toMillis(), TimeUnit.MILLISECONDS).join();
  }

  public boolean isClosed() {
    return closed.isDone();
  }

  @Override
  public void close() {
    if (!closed.isDone()) socket.abort();
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        frames.add(partial.toString());
        partial.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closed.complete(new Closed(statusCode, reason));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closed.complete(new Closed(1006, String.valueOf(error)));
    }
  }
}
