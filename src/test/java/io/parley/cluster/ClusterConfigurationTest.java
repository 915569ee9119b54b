package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docker/docker-compose.yml and scripts/cluster.sh must run the same configuration: the same
 * variables with the same values, but for each node's own address (nodeN in Compose,
 * 127.0.0.(N+1) for local processes). Compose also gives the nodes docker/compose.env, the
 * address and account of its own PostgreSQL service and the JVM options of the demo, which local
 * processes do not have.
 */
class ClusterConfigurationTest {
  private static final Pattern NODE = Pattern.compile("node(\\d)");

  /** Per service, the variables Compose gives it: env_file cluster.env, then `environment`. */
  private static Map<String, Map<String, String>> composeEnvironments() throws IOException {
    Map<String, String> shared = envFile(Path.of("docker/cluster.env"));
    List<String> lines = Files.readAllLines(Path.of("docker/docker-compose.yml"));
    Map<String, Map<String, String>> services = new TreeMap<>();
    String service = null;
    boolean inEnvironment = false;
    for (String line : lines) {
      if (line.isBlank() || line.trim().startsWith("#")) continue;
      Matcher serviceHeader = Pattern.compile("^  (node\\d):$").matcher(line);
      if (serviceHeader.matches()) {
        service = serviceHeader.group(1);
        services.put(service, new LinkedHashMap<>(shared));
        inEnvironment = false;
      } else if (service != null && line.equals("    environment:")) {
        inEnvironment = true;
      } else if (inEnvironment && line.startsWith("      ")) {
        String[] pair = line.trim().split(":\\s*", 2);
        services.get(service).put(pair[0], pair[1]);
      } else {
        inEnvironment = false;
        if (!line.startsWith("    ")) service = null;
      }
    }
    return services;
  }

  private static Map<String, String> envFile(Path file) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank() || line.trim().startsWith("#")) continue;
      String[] pair = line.split("=", 2);
      env.put(pair[0].trim(), pair[1].trim());
    }
    return env;
  }

  private static Map<String, String> scriptEnvironment(int node) throws Exception {
    Process process = new ProcessBuilder("scripts/cluster.sh", "env", String.valueOf(node))
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    Map<String, String> env = new LinkedHashMap<>();
    for (String line : output.split("\n")) {
      if (line.isBlank()) continue;
      String[] pair = line.split("=", 2);
      env.put(pair[0], pair[1]);
    }
    return env;
  }

  /** Compose addresses nodes by name; local processes by loopback address. */
  private static String asLocal(String composeValue) {
    return NODE.matcher(composeValue).replaceAll(m -> "127.0.0." + (Integer.parseInt(m.group(1)) + 1));
  }

  /** Where the shared PostgreSQL is differs: its own service in Compose, the script's own server. */
  private static final Set<String> STORE = Set.of("PARLEY_DB_URL", "PARLEY_DB_USER", "PARLEY_DB_PASSWORD");

  @Test
  void scriptGivesEachNodeExactlyTheComposeEnvironment() throws Exception {
    Map<String, Map<String, String>> compose = composeEnvironments();
    assertThat(compose).containsOnlyKeys("node1", "node2", "node3");
    for (int node = 1; node <= 3; node++) {
      Map<String, String> expected = new TreeMap<>();
      compose.get("node" + node).forEach((key, value) -> {
        if (!STORE.contains(key)) expected.put(key, key.equals("PARLEY_NODE_NAME") ? value : asLocal(value));
      });
      Map<String, String> script = new TreeMap<>(scriptEnvironment(node));
      assertThat(script).as("node%d shares a PostgreSQL", node).containsKey("PARLEY_DB_URL");
      script.keySet().removeAll(STORE);
      assertThat(script).as("node%d", node).isEqualTo(expected);
    }
  }

  @Test
  void composeNodesReadTheSharedEnvFileAndTheLoadBalancerKnowsThemAll() throws IOException {
    String compose = Files.readString(Path.of("docker/docker-compose.yml"));
    assertThat(compose).containsPattern("(?m)^  env_file:\n    - cluster\\.env\n    - compose\\.env$");
    String nginx = Files.readString(Path.of("docker/nginx.conf"));
    for (int node = 1; node <= 3; node++) assertThat(nginx).contains("server node" + node + ":8080");
    assertThat(nginx).contains("proxy_set_header Upgrade $http_upgrade;");
    Matcher timeout = Pattern.compile("proxy_read_timeout (\\d+)s;").matcher(nginx);
    assertThat(timeout.find()).isTrue();
    assertThat(Integer.parseInt(timeout.group(1))).as("above Parley's 60 s idle timeout").isGreaterThan(60);
  }
}
