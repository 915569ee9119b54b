package io.parley.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One node of a cluster as its own JVM ({@code java -jar target/parley.jar}) on a loopback
 * address of its own, HTTP and Artery on fixed ports there, for process-level tests. Its output
 * goes to {@code log}.
 */
public final class NodeProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String host;
  private final int httpPort;
  private final Path log;
  private final Process process;

  private NodeProcess(String host, int httpPort, Path log, Process process) {
    this.host = host;
    this.httpPort = httpPort;
    this.log = log;
    this.process = process;
  }

  /**
   * Starts a node; {@code env} adds to (and overrides) the test secret, addresses and seeds;
   * {@code jvmArgs} come before {@code -jar} (heap, {@code -D} overrides of any setting).
   */
  public static NodeProcess start(String name, String host, int httpPort, int clusterPort, String seeds,
      Map<String, String> env, List<String> jvmArgs, Path log) throws IOException {
    Files.createDirectories(log.getParent());
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(jvmArgs);
    command.addAll(List.of("-jar", "target/parley.jar"));
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    Map<String, String> environment = builder.environment();
    environment.put("PARLEY_JWT_SECRET", TestNode.SECRET);
    environment.put("PARLEY_NODE_NAME", name);
    environment.put("PARLEY_HTTP_HOST", host);
    environment.put("PARLEY_HTTP_PORT", String.valueOf(httpPort));
    environment.put("PARLEY_CLUSTER_HOST", host);
    environment.put("PARLEY_CLUSTER_PORT", String.valueOf(clusterPort));
    environment.put("PARLEY_SEED_NODES", seeds);
    environment.putAll(env);
    return new NodeProcess(host, httpPort, log, builder.start());
  }

  public String host() {
    return host;
  }

  public int httpPort() {
    return httpPort;
  }

  public Path log() {
    return log;
  }

  /** CPU seconds the process has used (user + system), from /proc. */
  public double cpuSeconds() throws IOException {
    String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public URI uri(String pathAndQuery) {
    return URI.create("http://" + host + ":" + httpPort + pathAndQuery);
  }

  /** GET, or null when the node does not answer. */
  public HttpResponse<String> get(String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  public boolean ready() {
    HttpResponse<String> ready = get("/ready");
    return ready != null && ready.statusCode() == 200;
  }

  /** SIGKILL. */
  public void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM (the graceful drain), then SIGKILL if it has not stopped within a minute. */
  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(1, TimeUnit.MINUTES)) kill();
  }
}
