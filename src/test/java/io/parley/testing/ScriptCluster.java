package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The 3-node cluster of scripts/cluster.sh (127.0.0.2-4, node N at 127.0.0.(N+1):8080), run as
 * an operator would, for process-level tests. Whatever happens, {@link #stop} leaves no process.
 */
public final class ScriptCluster implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path runDir;
  private final Map<String, String> environment;

  private ScriptCluster(Path runDir, Map<String, String> environment) {
    this.runDir = runDir;
    this.environment = environment;
  }

  /** Starts the three nodes and waits until all are ready; stops them again on failure. */
  public static ScriptCluster start(Path runDir) throws Exception {
    return start(runDir, Map.of());
  }

  /**
   * As {@link #start(Path)}, with {@code environment} added to the script's (and so to the
   * nodes'), e.g. {@code PARLEY_API_KEY}. The cluster starts empty: whatever an earlier run left
   * in {@code runDir} (its PostgreSQL's rooms and idempotency keys, its logs) is stopped and deleted.
   */
  public static ScriptCluster start(Path runDir, Map<String, String> environment) throws Exception {
    ScriptCluster cluster = new ScriptCluster(runDir, environment);
    cluster.run(Duration.ofMinutes(2), "stop");
    deleteRecursively(runDir);
    Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
    try {
      cluster.run(Duration.ofMinutes(3), "start");
    } catch (Exception | AssertionError e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  /** Runs {@code scripts/cluster.sh args…}, which must succeed within {@code timeout}. */
  public void run(Duration timeout, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("scripts/cluster.sh"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(environment);
    builder.environment().put("PARLEY_CLUSTER_DIR", runDir.toString());
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("cluster.sh " + String.join(" ", args) + " timed out:\n" + output);
    }
    assertThat(process.exitValue()).as("cluster.sh %s:%n%s", String.join(" ", args), output).isZero();
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(path);
    }
  }

  public static String host(int node) {
    return "127.0.0." + (node + 1);
  }

  /** A token signed with the cluster's secret (docker/cluster.env). */
  public static String token(String user) throws IOException {
    String secret = null;
    for (String line : Files.readAllLines(Path.of("docker/cluster.env"))) {
      if (line.startsWith("PARLEY_JWT_SECRET=")) secret = line.substring(line.indexOf('=') + 1).trim();
    }
    return JWT.create().withSubject(user).withClaim("name", user)
        .withExpiresAt(Instant.now().plus(Duration.ofHours(1))).sign(Algorithm.HMAC256(secret));
  }

  public static URI wsUri(int node, String user) throws IOException {
    return URI.create("ws://" + host(node) + ":8080/ws?token=" + token(user));
  }

  public static JsonNode online(int node) throws Exception {
    return JSON.readTree(HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://" + host(node) + ":8080/ws/online")).build(),
        HttpResponse.BodyHandlers.ofString()).body());
  }

  /** SIGTERM to every node; SIGKILL to whatever the script could not stop. */
  @Override
  public void close() {
    try {
      run(Duration.ofMinutes(1), "stop");
    } catch (Exception | AssertionError e) {
      try (var pids = Files.newDirectoryStream(runDir, "*.pid")) {
        for (Path pid : pids) {
          ProcessHandle.of(Long.parseLong(Files.readString(pid).trim())).ifPresent(ProcessHandle::destroyForcibly);
        }
      } catch (IOException nothingStarted) {
        // no pid files
      }
    }
  }
}
