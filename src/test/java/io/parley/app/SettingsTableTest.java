package io.parley.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every setting's range (SettingsTable): a value outside it is one line that names the variable,
 * the value and what is allowed; values inside it pass.
 */
class SettingsTableTest {
  private static final Config DEFAULTS = ConfigFactory.load();

  /** The problems with one variable set as the environment would set it (a string). */
  private static List<String> problemsWith(String env, String value) {
    Setting setting = SettingsTable.SETTINGS.stream().filter(s -> s.env().equals(env)).findFirst().orElseThrow();
    if (setting.key() == null) return SettingsTable.problems(DEFAULTS, Map.of(env, value));
    Config config = ConfigFactory.parseMap(Map.of(setting.key(), value)).withFallback(DEFAULTS);
    return SettingsTable.problems(config, Map.of());
  }

  /** For each setting that restricts its values: a value outside its range, and what the line says is allowed. */
  static Stream<Arguments> badValues() {
    return Stream.of(
        Arguments.of("PARLEY_HTTP_HOST", "http://example.com", "a host name or IP address"),
        Arguments.of("PARLEY_HTTP_PORT", "99999", "a port number from 0 to 65535"),
        Arguments.of("PARLEY_DATA_DIR", "", "a directory path"),
        Arguments.of("PARLEY_PUBLIC_URL", "localhost:8080", "an http:// or https:// URL"),
        Arguments.of("PARLEY_MAX_CONNECT_RATE", "0", "a number from 0.01 to 1000000"),
        Arguments.of("PARLEY_CONNECT_BURST", "0", "a whole number from 1 to 1000000"),
        Arguments.of("PARLEY_DB_URL", "postgres://db/parley", "a JDBC URL"),
        Arguments.of("PARLEY_DB_TIMEOUT", "5ms", "a duration from 100ms to 1m"),
        Arguments.of("PARLEY_HISTORY_KEEP_MESSAGES", "0", "a whole number from 1 to 10000000"),
        Arguments.of("PARLEY_HISTORY_KEEP_FOR", "30s", "a duration from 1m to"),
        Arguments.of("PARLEY_RECOVERY_LIMIT", "0", "a whole number from 1 to 100000"),
        Arguments.of("PARLEY_API_KEY", "0123456789abcdef,short", "comma-separated keys of 16-256 visible ASCII"),
        Arguments.of("PARLEY_ALLOWED_ORIGINS", "chat.example.com", "comma-separated origins"),
        Arguments.of("PARLEY_JWT_PUBLIC_KEY", "/no/such/key.pem", "the path of a readable file"),
        Arguments.of("PARLEY_JWT_JWKS_URL", "ftp://id.example.com/jwks.json", "an http:// or https:// URL"),
        Arguments.of("PARLEY_JWT_JWKS_CACHE_TTL", "0s", "a duration from 1s to 1d"),
        Arguments.of("PARLEY_JWT_JWKS_REFETCH_INTERVAL", "2h", "a duration from 1s to 1h"),
        Arguments.of("PARLEY_JWT_JWKS_TIMEOUT", "10ms", "a duration from 100ms to 1m"),
        Arguments.of("PARLEY_JWT_REQUIRE_EXP", "maybe", "on or off"),
        Arguments.of("PARLEY_JWT_LEEWAY", "-5s", "a duration from 0s to 10m"),
        Arguments.of("PARLEY_MAX_FRAME_BYTES", "0", "a whole number from 128 to 1048576"),
        Arguments.of("PARLEY_PING_INTERVAL", "54", "with a unit"),
        Arguments.of("PARLEY_IDLE_TIMEOUT", "2h", "a duration from 100ms to 1h"),
        Arguments.of("PARLEY_WRITE_TIMEOUT", "500ms", "a duration from 1s to 10m"),
        Arguments.of("PARLEY_OUTGOING_BUFFER", "0", "a whole number from 1 to 65536"),
        Arguments.of("PARLEY_RATE_PER_SECOND", "-1", "a number from 0.1 to 1000000"),
        Arguments.of("PARLEY_RATE_BURST", "2.5", "a whole number from 1 to 1000000"),
        Arguments.of("PARLEY_ABUSE_DISCARDS", "0", "a whole number from 1 to 1000000"),
        Arguments.of("PARLEY_ABUSE_WINDOW", "0s", "a duration from 1s to 1h"),
        Arguments.of("PARLEY_MAX_ROOMS_PER_CONNECTION", "0", "a whole number from 1 to 10000"),
        Arguments.of("PARLEY_MAX_CONNECTIONS", "-3", "a whole number from 1 to 1000000"),
        Arguments.of("PARLEY_MAX_CONNECTIONS_PER_USER", "lots", "a whole number from 1 to 1000000"),
        Arguments.of("PARLEY_MAX_ROOMS_PER_NODE", "0", "a whole number from 1 to 100000000"),
        Arguments.of("PARLEY_DRAIN_DELAY", "1m", "a duration from 0s to 30s"),
        Arguments.of("PARLEY_CLOSE_TIMEOUT", "0s", "a duration from 1s to 30s"),
        Arguments.of("PARLEY_DEV_MODE", "sometimes", "auto, on or off"),
        Arguments.of("PARLEY_SEED_NODES", "10.0.0.2,10.0.0.3:2552", "comma-separated host:port"),
        Arguments.of("PARLEY_CLUSTER_HOST", "", "a host name or IP address"),
        Arguments.of("PARLEY_CLUSTER_PORT", "65536", "a port number from 0 to 65535"),
        Arguments.of("PARLEY_CLUSTER_BIND_HOST", "two words", "empty, or a host name or IP address"),
        Arguments.of("PARLEY_CLUSTER_BIND_PORT", "0", "empty, or a port number from 1 to 65535"),
        Arguments.of("PARLEY_FAILURE_DETECTOR_PAUSE", "100ms", "a duration from 1s to 1m"),
        Arguments.of("PARLEY_SBR_STABLE_AFTER", "1h", "a duration from 1s to 5m"),
        Arguments.of("PARLEY_HTTP_IDLE_TIMEOUT", "infinite", "a duration from 1s to 1d"),
        Arguments.of("PARLEY_PEKKO_LOG_LEVEL", "LOUD", "OFF, ERROR, WARNING, INFO or DEBUG"),
        Arguments.of("PARLEY_LOG_FORMAT", "JSON", "text or json"),
        Arguments.of("PARLEY_LOG_LEVEL", "verbose", "OFF, ERROR, WARN, INFO, DEBUG or TRACE"));
  }

  @ParameterizedTest(name = "{0}={1}")
  @MethodSource("badValues")
  void aValueOutsideTheRangeIsOneLineNamingTheVariableTheValueAndWhatIsAllowed(
      String env, String value, String allowed) {
    List<String> problems = problemsWith(env, value);
    boolean secret = SettingsTable.SETTINGS.stream().anyMatch(s -> s.env().equals(env) && s.rule().secret());
    String shown = secret ? "(hidden)" : value.isEmpty() ? "\"\"" : value;
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0))
        .startsWith(env + "=" + shown + ": must be ")
        .contains(allowed)
        .doesNotContain("ConfigException", "Exception", "\n");
  }

  /** A setting added to the table without a case above fails here, so every rule is tested. */
  @Test
  void everySettingThatRestrictsItsValuesHasABadValueCase() {
    Set<String> tested = badValues().map(arguments -> (String) arguments.get()[0]).collect(Collectors.toSet());
    Set<String> restricted = SettingsTable.SETTINGS.stream()
        .filter(setting -> !setting.rule().allowed().equals("text"))
        .map(Setting::env)
        .collect(Collectors.toSet());
    assertThat(tested).isEqualTo(restricted);
  }

  static Stream<Arguments> allowedValues() {
    return Stream.of(
        Arguments.of("PARLEY_HTTP_HOST", "0.0.0.0"),
        Arguments.of("PARLEY_HTTP_HOST", "::"),
        Arguments.of("PARLEY_HTTP_HOST", "node1.example.com"),
        Arguments.of("PARLEY_HTTP_PORT", "0"),
        Arguments.of("PARLEY_HTTP_PORT", "65535"),
        Arguments.of("PARLEY_ALLOWED_ORIGINS", "https://chat.example.com/, http://localhost:3000"),
        Arguments.of("PARLEY_JWT_JWKS_URL", "https://id.example.com/.well-known/jwks.json"),
        Arguments.of("PARLEY_JWT_REQUIRE_EXP", "off"),
        Arguments.of("PARLEY_JWT_LEEWAY", "0s"),
        Arguments.of("PARLEY_MAX_FRAME_BYTES", "1048576"),
        Arguments.of("PARLEY_FAILURE_DETECTOR_PAUSE", "1.5 s"),
        Arguments.of("PARLEY_RATE_PER_SECOND", "0.5"),
        Arguments.of("PARLEY_DRAIN_DELAY", "30s"),
        Arguments.of("PARLEY_DEV_MODE", "ON"),
        Arguments.of("PARLEY_SEED_NODES", "10.0.0.2:2552, node3:2552"),
        Arguments.of("PARLEY_CLUSTER_BIND_PORT", "2552"),
        Arguments.of("PARLEY_PEKKO_LOG_LEVEL", "debug"),
        Arguments.of("PARLEY_LOG_FORMAT", "json"),
        Arguments.of("PARLEY_LOG_LEVEL", "warn"),
        Arguments.of("PARLEY_NODE_NAME", "any name at all"),
        Arguments.of("PARLEY_API_KEY", ""),
        Arguments.of("PARLEY_API_KEY", "k-2026-11-new-0123456789, k-2026-05-old-0123456789"));
  }

  @ParameterizedTest(name = "{0}={1}")
  @MethodSource("allowedValues")
  void valuesInsideTheRangePass(String env, String value) {
    assertThat(problemsWith(env, value)).isEmpty();
  }

  @Test
  void theShippedDefaultsAreAllAllowed() {
    assertThat(SettingsTable.problems(DEFAULTS, Map.of())).isEmpty();
  }

  @Test
  void aReadableKeyFileIsAllowed(@TempDir Path dir) throws Exception {
    Path key = Files.writeString(dir.resolve("key.pem"), "-----BEGIN PUBLIC KEY-----\n");
    assertThat(problemsWith("PARLEY_JWT_PUBLIC_KEY", key.toString())).isEmpty();
  }

  @Test
  void pingsMustComeBeforeTheIdleTimeout() {
    Config config = ConfigFactory.parseMap(Map.of(
            "parley.limits.ping-interval", "60s", "parley.limits.idle-timeout", "60s"))
        .withFallback(DEFAULTS);
    assertThat(SettingsTable.problems(config, Map.of())).containsExactly(
        "PARLEY_PING_INTERVAL=1m must be shorter than PARLEY_IDLE_TIMEOUT=1m: "
            + "a client must get a ping before it counts as idle");
  }

  @Test
  void everyProblemIsReportedAtOnceOneLineEach() {
    Map<String, Object> bad = new HashMap<>();
    bad.put("parley.limits.max-frame-bytes", "abc");
    bad.put("parley.limits.rate-per-second", "-1");
    bad.put("parley.http.port", "99999");
    Config config = ConfigFactory.parseMap(bad).withFallback(DEFAULTS);
    assertThat(SettingsTable.problems(config, Map.of())).containsExactly(
        "PARLEY_HTTP_PORT=99999: must be a port number from 0 to 65535 (0: any free port)",
        "PARLEY_MAX_FRAME_BYTES=abc: must be a whole number from 128 to 1048576",
        "PARLEY_RATE_PER_SECOND=-1: must be a number from 0.1 to 1000000");
  }

  @Test
  void aListWhereAValueBelongsIsAProblemToo() {
    Config config = ConfigFactory.parseString("parley.node-name = [a, b]").withFallback(DEFAULTS);
    assertThat(SettingsTable.problems(config, Map.of())).containsExactly(
        "PARLEY_NODE_NAME=[\"a\",\"b\"]: must be text");
  }

  @Test
  void aSecretsValueIsNeverShown() {
    Config config = ConfigFactory.parseString("parley.jwt.secret = [s3cr3t]").withFallback(DEFAULTS);
    assertThat(SettingsTable.problems(config, Map.of())).containsExactly(
        "PARLEY_JWT_SECRET=(hidden): must be text");
  }

  /** The README's configuration tables list exactly the settings that are checked. */
  @Test
  void theReadmeListsEverySettingOfTheTableAndNoOther() throws Exception {
    Pattern variable = Pattern.compile("PARLEY_[A-Z_]+");
    Set<String> documented = Files.readAllLines(Path.of("README.md")).stream()
        .filter(line -> line.startsWith("| `PARLEY_"))
        .map(line -> line.split("\\|")[1])
        .flatMap(cell -> variable.matcher(cell).results().map(MatchResult::group))
        .collect(Collectors.toSet());
    assertThat(documented).isEqualTo(SettingsTable.SETTINGS.stream().map(Setting::env).collect(Collectors.toSet()));
  }

  @Test
  void loadingSettingsWithABadValueFailsWithTheProblemLines() {
    Config config = ConfigFactory.parseMap(Map.of("parley.limits.max-frame-bytes", "abc")).withFallback(DEFAULTS);
    assertThatThrownBy(() -> ParleySettings.load(config))
        .isInstanceOfSatisfying(StartFailure.class, failure -> assertThat(failure.lines())
            .containsExactly("PARLEY_MAX_FRAME_BYTES=abc: must be a whole number from 128 to 1048576"));
  }
}
