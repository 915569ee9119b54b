package io.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.parley.app.ParleyNode;
import io.parley.testing.TestNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * docs/api.yaml against the running routes: the document names exactly the calls the node
 * answers; each of its request examples is accepted and answered with a body of the documented
 * schema; and each error it documents (each path, status and code) is produced by a case below
 * against a real node, while a case for an undocumented error fails. Three nodes: the API on,
 * off, and one that drains.
 */
@ExtendWith(LogCapturingExtension.class)
class ApiContractTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String KEY = "contract-test-key-0123456789";
  private static final JsonNode DOCUMENT = readDocument();
  private static final JsonSchemaCheck SCHEMAS = new JsonSchemaCheck(DOCUMENT);

  private static final ActorTestKit kit = ActorTestKit.create("ApiContractTestProbes");
  private static ParleyNode on;
  private static ParleyNode off;
  private static ParleyNode draining;

  @BeforeAll
  static void start() throws Exception {
    String keys = "parley.api.keys = \"" + KEY + "\"\n";
    on = TestNode.start(keys);
    off = TestNode.start("");
    draining = TestNode.start(keys + "parley.shutdown.drain-delay = 15s");
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
    Stream.of(on, off, draining).map(node -> CompletableFuture.runAsync(() -> {
      try {
        node.close();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    })).toList().forEach(CompletableFuture::join);
  }

  private static JsonNode readDocument() {
    try {
      return new ObjectMapper(new YAMLFactory()).readTree(Path.of("docs/api.yaml").toFile());
    } catch (Exception e) {
      throw new IllegalStateException("docs/api.yaml", e);
    }
  }

  // ---- the document and the routes --------------------------------------------------------------

  @Test
  void theDocumentNamesExactlyTheCallsTheNodeAnswersEachAsPost() {
    Set<String> documented = new TreeSet<>();
    DOCUMENT.get("paths").fields().forEachRemaining(path -> {
      List<String> methods = new ArrayList<>();
      path.getValue().fieldNames().forEachRemaining(methods::add);
      assertThat(methods).as("methods of %s", path.getKey()).containsExactly("post");
      documented.add(path.getKey());
    });
    assertThat(documented).isEqualTo(Arrays.stream(Endpoint.values()).map(Endpoint::path).collect(Collectors.toSet()));
    assertThat(DOCUMENT.get("openapi").textValue()).startsWith("3.1.");
  }

  @Test
  void aPathOrMethodTheDocumentDoesNotNameIsNotFound() throws Exception {
    for (HttpRequest request : List.of(
        withKey("/api/nope").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        withKey("/api/publish/").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        withKey("/api/publish").GET().build(),
        withKey("/api/history").PUT(HttpRequest.BodyPublishers.ofString("{\"room\":\"r\"}")).build())) {
      HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as("%s %s", request.method(), request.uri()).isEqualTo(404);
      assertThat(JSON.readTree(response.body()).at("/error/code").textValue()).isEqualTo("NOT_FOUND");
    }
  }

  @Test
  void everyExampleInTheDocumentConformsToItsSchema() {
    List<String> problems = new ArrayList<>();
    DOCUMENT.get("paths").fields().forEachRemaining(path -> {
      JsonNode post = path.getValue().get("post");
      JsonNode request = post.at("/requestBody/content/application~1json");
      problems.addAll(SCHEMAS.problems(request.get("example"), request.get("schema")));
      post.get("responses").fields().forEachRemaining(response -> {
        JsonNode content = response(response.getValue()).at("/content/application~1json");
        if (content.has("example")) problems.addAll(SCHEMAS.problems(content.get("example"), content.get("schema")));
        content.path("examples").forEach(example -> problems.addAll(SCHEMAS.problems(example.get("value"), content.get("schema"))));
      });
    });
    assertThat(problems).isEmpty();
  }

  /** Each request example, sent as it is, answers 200 with a body of the documented schema. */
  @Test
  void eachRequestExampleIsAnsweredWithItsDocumentedResult() throws Exception {
    for (Endpoint endpoint : Endpoint.values()) { // publish first: history then has a message to show
      JsonNode post = DOCUMENT.get("paths").get(endpoint.path()).get("post");
      String example = JSON.writeValueAsString(post.at("/requestBody/content/application~1json/example"));
      HttpResponse<String> response = HTTP.send(withKey(endpoint.path())
          .POST(HttpRequest.BodyPublishers.ofString(example)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as("%s %s: %s", endpoint.path(), example, response.body()).isEqualTo(200);
      JsonNode body = JSON.readTree(response.body());
      assertThat(SCHEMAS.problems(body, post.at("/responses/200/content/application~1json/schema")))
          .as("%s answered %s", endpoint.path(), body).isEmpty();
      if (endpoint == Endpoint.HISTORY) assertThat(body.at("/result/messages")).as("the published example").isNotEmpty();
    }
  }

  // ---- every documented error -------------------------------------------------------------------

  /** A request that must produce one documented error. */
  private record Case(ParleyNode node, boolean withKey, String body) {}

  /** A body for each 400 code a path documents. */
  private static final Map<String, String> BAD_BODIES = Map.ofEntries(
      Map.entry("/api/publish INVALID_FORMAT", "{\"room\":"),
      Map.entry("/api/publish MISSING_ROOM", "{\"payload\":{\"content\":\"x\"}}"),
      Map.entry("/api/publish INVALID_ROOM", "{\"room\":\"no spaces\",\"payload\":{\"content\":\"x\"}}"),
      Map.entry("/api/publish INVALID_PAYLOAD", "{\"room\":\"r\",\"payload\":{\"content\":\"\"}}"),
      Map.entry("/api/broadcast INVALID_FORMAT", "[\"r\"]"),
      Map.entry("/api/broadcast MISSING_ROOM", "{\"payload\":{\"content\":\"x\"}}"),
      Map.entry("/api/broadcast INVALID_ROOM", "{\"rooms\":[\"r\",\"x/y\"],\"payload\":{\"content\":\"x\"}}"),
      Map.entry("/api/broadcast INVALID_PAYLOAD", "{\"rooms\":[],\"payload\":{\"content\":\"x\"}}"),
      Map.entry("/api/history INVALID_FORMAT", "not json"),
      Map.entry("/api/history MISSING_ROOM", "{\"limit\":5}"),
      Map.entry("/api/history INVALID_ROOM", "{\"room\":\"" + "r".repeat(65) + "\"}"),
      Map.entry("/api/history INVALID_PAYLOAD", "{\"room\":\"r\",\"before\":5,\"after\":1}"),
      Map.entry("/api/presence INVALID_FORMAT", "{} {}"),
      Map.entry("/api/presence MISSING_ROOM", "{\"room\":\"\"}"),
      Map.entry("/api/presence INVALID_ROOM", "{\"room\":42}"),
      Map.entry("/api/disconnect INVALID_FORMAT", "\"ann\""),
      Map.entry("/api/disconnect INVALID_PAYLOAD", "{\"user\":\"\"}"));

  private static Case caseFor(String path, int status, String code) {
    String valid = DOCUMENT.get("paths").get(path).at("/post/requestBody/content/application~1json/example").toString();
    return switch (status) {
      case 400 -> BAD_BODIES.containsKey(path + " " + code) ? new Case(on, true, BAD_BODIES.get(path + " " + code)) : null;
      case 401 -> new Case(on, false, valid);
      case 404 -> new Case(off, true, valid);
      case 413 -> new Case(on, true, "{\"room\":\"r\",\"pad\":\"" + "x".repeat(ApiRoutes.MAX_BODY) + "\"}");
      case 503 -> new Case(draining, true, valid);
      default -> null;
    };
  }

  /** Every (path, status, code) the document lists: its error responses' examples name the codes. */
  static Stream<String> documentedErrors() {
    List<String> errors = new ArrayList<>();
    DOCUMENT.get("paths").fields().forEachRemaining(path ->
        path.getValue().get("post").get("responses").fields().forEachRemaining(response -> {
          if (response.getKey().equals("200")) return;
          for (Iterator<String> codes = response(response.getValue()).at("/content/application~1json/examples").fieldNames();
              codes.hasNext(); ) {
            errors.add(path.getKey() + " " + response.getKey() + " " + codes.next());
          }
        }));
    return errors.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("documentedErrors")
  void eachDocumentedErrorIsProducedByACase(String error) throws Exception {
    String[] parts = error.split(" ");
    Case produce = caseFor(parts[0], Integer.parseInt(parts[1]), parts[2]);
    assertThat(produce).as("no case produces %s", error).isNotNull();
    if (produce.node() == draining) startDraining();
    HttpRequest.Builder request = produce.withKey() ? withKey(produce.node(), parts[0])
        : HttpRequest.newBuilder(TestNode.httpUri(produce.node(), parts[0]));
    HttpResponse<String> response = HTTP.send(request.POST(HttpRequest.BodyPublishers.ofString(produce.body())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("%s: %s", error, response.body()).isEqualTo(Integer.parseInt(parts[1]));
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.at("/error/code").textValue()).isEqualTo(parts[2]);
    assertThat(SCHEMAS.problems(body, SCHEMAS.resolve("#/components/schemas/Error"))).isEmpty();
  }

  /** The cases produce only documented errors: each 400 body's code is one its path lists. */
  @Test
  void everyCaseIsADocumentedError() {
    Set<String> documented = documentedErrors().collect(Collectors.toSet());
    for (String badBody : BAD_BODIES.keySet()) {
      String[] parts = badBody.split(" ");
      assertThat(documented).as("documented").contains(parts[0] + " 400 " + parts[1]);
    }
  }

  // ---- plumbing ---------------------------------------------------------------------------------

  private static JsonNode response(JsonNode response) {
    return response.has("$ref") ? SCHEMAS.resolve(response.get("$ref").textValue()) : response;
  }

  private static HttpRequest.Builder withKey(String path) {
    return withKey(on, path);
  }

  private static HttpRequest.Builder withKey(ParleyNode node, String path) {
    return HttpRequest.newBuilder(TestNode.httpUri(node, path)).header("X-API-Key", KEY)
        .header("Content-Type", "application/json");
  }

  /** The drain, as on SIGTERM: the node answers 503 for its drain delay (15 s), then stops. */
  private static void startDraining() {
    CoordinatedShutdown.get(draining.system()).runAll(CoordinatedShutdown.unknownReason());
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertThat(HTTP.sendAsync(HttpRequest.newBuilder(TestNode.httpUri(draining, "/ready")).build(),
          HttpResponse.BodyHandlers.ofString()).join().statusCode()).isEqualTo(503);
      return null;
    });
  }
}
