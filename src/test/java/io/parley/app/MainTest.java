package io.parley.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.interfaces.DecodedJWT;
import com.typesafe.config.Config;
import io.parley.testing.TestNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The command line, run in-process with captured stdout and stderr: exit codes and messages. */
class MainTest {

  /** What one command line printed, and its exit status. */
  private record Run(int status, String out, String err) {}

  private static Run run(Supplier<Config> config, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = new Main(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8),
        config).run(args);
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static Run run(String... args) {
    return run(() -> TestNode.config(""), args);
  }

  /** A command that must not read the configuration, let alone start a node. */
  private static Run runWithoutConfig(String... args) {
    return run(() -> {
      throw new AssertionError("read the configuration");
    }, args);
  }

  // ---- help and version -------------------------------------------------------------------------

  @Test
  void helpPrintsUsageOnStdoutAndStartsNothing() {
    for (String help : new String[] {"--help", "-h"}) {
      Run run = runWithoutConfig(help);
      assertThat(run.status()).as(help).isZero();
      assertThat(run.out()).contains("usage: java -jar parley.jar", "token <user-id>", "--version", "Exit status");
      assertThat(run.err()).isEmpty();
    }
  }

  @Test
  void versionIsTheProjectVersionFromThePom() throws Exception {
    Matcher pom = Pattern.compile("<artifactId>parley</artifactId>\\s*<version>([^<]+)</version>")
        .matcher(Files.readString(Path.of("pom.xml")));
    assertThat(pom.find()).isTrue();
    Run run = runWithoutConfig("--version");
    assertThat(run.status()).isZero();
    assertThat(run.out()).startsWith("parley " + pom.group(1) + " (Apache Pekko 1.");
    assertThat(run.out().lines()).hasSize(1);
  }

  @Test
  void unknownOptionIsAUsageError() {
    Run run = runWithoutConfig("--frobnicate");
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).startsWith("parley: unknown option: --frobnicate\n").contains("usage:");
  }

  @Test
  void unknownCommandIsAUsageError() {
    Run run = runWithoutConfig("serve");
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.err()).startsWith("parley: unknown command: serve\n");
  }

  // ---- token ------------------------------------------------------------------------------------

  @Test
  void tokenPrintsOnlyTheTokenSignedWithTheConfiguredSecret() {
    Run run = run("token", "ann", "Ann", "Lee", "--ttl", "8h");
    assertThat(run.status()).isZero();
    assertThat(run.err()).isEmpty();
    assertThat(run.out()).endsWith("\n");
    DecodedJWT token = JWT.require(Algorithm.HMAC256(TestNode.SECRET)).build().verify(run.out().strip());
    assertThat(token.getSubject()).isEqualTo("ann");
    assertThat(token.getClaim("name").asString()).isEqualTo("Ann Lee");
    assertThat(Duration.between(Instant.now(), token.getExpiresAtAsInstant()))
        .isBetween(Duration.ofHours(8).minusMinutes(1), Duration.ofHours(8));
  }

  @Test
  void tokenWithoutArgumentsIsAUsageError() {
    Run run = runWithoutConfig("token");
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).startsWith("parley: token: missing <user-id>\n").contains("usage:");
  }

  @Test
  void ttlThatIsNotADurationIsAUsageErrorWithoutAStackTrace() {
    Run run = runWithoutConfig("token", "ann", "--ttl", "banana");
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).startsWith("parley: token: --ttl banana: must be a duration from 1s to ")
        .doesNotContain("Exception", "\tat ");
  }

  @Test
  void ttlWithoutAValueIsAUsageError() {
    Run run = runWithoutConfig("token", "ann", "--ttl");
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.err()).startsWith("parley: token: --ttl needs a value");
  }

  @Test
  void unknownTokenOptionIsAUsageError() {
    Run run = runWithoutConfig("token", "ann", "--admin");
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.err()).startsWith("parley: token: unknown option: --admin\n");
  }

  @Test
  void tokenNeedsASecretToSignWith() {
    Run run = run(() -> TestNode.config("parley.jwt.secret = \"\"\nparley.jwt.jwks-url = \"https://id.example.com/jwks\""),
        "token", "ann");
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).startsWith("parley: token: needs PARLEY_JWT_SECRET");
  }

  // ---- a node that cannot start -----------------------------------------------------------------

  @Test
  void badSettingsStopTheNodeWithOneLinePerProblemBeforeAnyPortIsTried() throws Exception {
    try (ServerSocket taken = listener()) {
      Run run = run(() -> TestNode.config("""
          parley.http.port = %d
          parley.limits.max-frame-bytes = abc
          parley.limits.rate-per-second = -1
          """.formatted(taken.getLocalPort())));
      assertThat(run.status()).isEqualTo(1);
      assertThat(run.out()).isEmpty();
      assertThat(run.err()).isEqualTo("""
          parley: PARLEY_MAX_FRAME_BYTES=abc: must be a whole number from 128 to 1048576
          parley: PARLEY_RATE_PER_SECOND=-1: must be a number from 0.1 to 1000000
          """);
    }
  }

  @Test
  void takenHttpPortIsOneLineNamingTheVariablesThatMoveIt() throws Exception {
    try (ServerSocket taken = listener()) {
      Run run = run(() -> TestNode.config("parley.http.port = " + taken.getLocalPort()));
      assertThat(run.status()).isEqualTo(1);
      assertThat(run.err()).isEqualTo("parley: cannot listen for HTTP on 127.0.0.1:" + taken.getLocalPort()
          + ": Address already in use; set PARLEY_HTTP_PORT (or PARLEY_HTTP_HOST) to move it\n");
    }
  }

  @Test
  void takenClusterPortIsOneLineNamingTheVariableThatMovesIt() throws Exception {
    try (ServerSocket taken = listener()) {
      Run run = run(() -> TestNode.config("pekko.remote.artery.canonical.port = " + taken.getLocalPort()));
      assertThat(run.status()).isEqualTo(1);
      assertThat(run.err()).isEqualTo("parley: cannot listen for the cluster (Artery) on 127.0.0.1:"
          + taken.getLocalPort() + ": Address already in use; set PARLEY_CLUSTER_PORT to move it\n");
    }
  }

  private static ServerSocket listener() throws Exception {
    ServerSocket socket = new ServerSocket();
    socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return socket;
  }
}
