package io.parley.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A backend calling a node's server API over loopback (the JDK's HTTP client, keep-alive). */
public final class ApiClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  /** The HTTP status and the parsed body. */
  public record Answer(int status, JsonNode body) {
    public JsonNode result() {
      return body.get("result");
    }

    /** {@code error.code}, or null. */
    public String code() {
      return body.path("error").path("code").textValue();
    }
  }

  private final String base;
  private final String key;

  /** @param base the node's URL, e.g. {@code http://127.0.0.1:8080} */
  public ApiClient(String base, String key) {
    this.base = base;
    this.key = key;
  }

  /** POST /api/{call} with {@code body}; fails the test on an I/O error. */
  public Answer post(String call, String body) {
    return postAsync(call, body).join();
  }

  public CompletableFuture<Answer> postAsync(String call, String body) {
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/api/" + call)).timeout(TIMEOUT)
        .header("Content-Type", "application/json").header("X-API-Key", key)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
      try {
        return new Answer(response.statusCode(), JSON.readTree(response.body()));
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + response.body(), e);
      }
    });
  }

  /** {@code {"room":…,"payload":{"content":…}}} plus {@code extra} fields (JSON, may be empty). */
  public static String publishBody(String room, String content, String extra) {
    return "{\"room\":\"" + room + "\",\"payload\":{\"content\":\"" + content + "\"}" + extra + "}";
  }
}
