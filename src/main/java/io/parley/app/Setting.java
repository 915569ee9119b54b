package io.parley.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * One deploy-time setting: its configuration key, the environment variable that sets it, and the
 * values it takes. {@link SettingsTable} lists them all.
 *
 * @param key the configuration key, or null for a variable that only logback reads (from the
 *     environment, before the configuration is loaded)
 */
record Setting(String key, String env, Rule rule) {

  /**
   * The values a setting takes: {@code allowed} says which, for people ("a whole number from 1 to
   * 100"); {@code accepts} tests one value as written. A {@code secret}'s value is never shown.
   */
  record Rule(String allowed, Predicate<String> accepts, boolean secret) {
    Rule(String allowed, Predicate<String> accepts) {
      this(allowed, accepts, false);
    }
  }

  /** The problem with this setting's value, as one line, or empty when the value is allowed. */
  Optional<String> problem(Config config, Map<String, String> environment) {
    String value;
    if (key == null) {
      value = environment.get(env);
      if (value == null) return Optional.empty();
    } else if (!config.hasPath(key)) {
      return Optional.of(env + " is missing (" + key + " is not in the configuration): must be " + rule.allowed());
    } else {
      value = scalar(config.getValue(key));
    }
    boolean accepted;
    try {
      accepted = value != null && rule.accepts().test(value);
    } catch (RuntimeException e) {
      accepted = false;
    }
    if (accepted) return Optional.empty();
    String shown = rule.secret() ? "(hidden)"
        : value == null ? config.getValue(key).render(ConfigRenderOptions.concise())
        : value.isEmpty() || !value.strip().equals(value) ? '"' + value + '"'
        : value;
    return Optional.of(env + "=" + shown + ": must be " + rule.allowed());
  }

  /** A string, number or boolean as written; null for a list, an object or null. */
  private static String scalar(ConfigValue value) {
    ConfigValueType type = value.valueType();
    boolean scalar = type == ConfigValueType.STRING || type == ConfigValueType.NUMBER
        || type == ConfigValueType.BOOLEAN;
    return scalar ? String.valueOf(value.unwrapped()) : null;
  }

  // ---- rules ------------------------------------------------------------------------------------

  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._:\\[\\]%-]+");
  private static final Pattern ORIGIN = Pattern.compile("[a-z][a-z0-9+.-]*://[^/\\s?#]+");
  private static final Pattern DURATION = Pattern.compile("\\s*[0-9.]+\\s*[a-zA-Z]+\\s*");

  static Rule whole(long min, long max) {
    return new Rule("a whole number from " + min + " to " + max,
        value -> inRange(Long.parseLong(value.strip()), min, max));
  }

  static Rule decimal(double min, double max) {
    return new Rule("a number from " + plain(min) + " to " + plain(max), value -> {
      double parsed = Double.parseDouble(value.strip());
      return Double.isFinite(parsed) && parsed >= min && parsed <= max;
    });
  }

  /** A port; 0 lets the system pick a free one. */
  static Rule port() {
    return new Rule("a port number from 0 to 65535 (0: any free port)",
        value -> inRange(Integer.parseInt(value.strip()), 0, 65535));
  }

  /** A duration with its unit, as HOCON reads it (a bare number would be milliseconds). */
  static Rule duration(Duration min, Duration max) {
    return new Rule("a duration from " + human(min) + " to " + human(max) + " with a unit (e.g. 500ms, 10s, 5m)",
        value -> {
          if (!DURATION.matcher(value).matches()) return false;
          Duration parsed = parseDuration(value);
          return parsed.compareTo(min) >= 0 && parsed.compareTo(max) <= 0;
        });
  }

  /** {@code on} or {@code off}, as HOCON reads booleans. */
  static Rule flag() {
    return new Rule("on or off", value -> Arrays.asList("on", "off", "true", "false", "yes", "no").contains(value));
  }

  /** One of {@code values}, exactly as written. */
  static Rule oneOf(String... values) {
    return new Rule(listed(values), Arrays.asList(values)::contains);
  }

  /** One of {@code values}, in any case. */
  static Rule oneOfAnyCase(String... values) {
    return new Rule(listed(values) + " (any case)",
        value -> Arrays.asList(values).contains(value.toUpperCase(Locale.ROOT))
            || Arrays.asList(values).contains(value.toLowerCase(Locale.ROOT)));
  }

  /** Any text, empty included. */
  static Rule text() {
    return new Rule("text", value -> true);
  }

  /** Any text, never shown in a problem. */
  static Rule secret() {
    return new Rule("text", value -> true, true);
  }

  /** A host name or IP address to bind or to be reached at. */
  static Rule host() {
    return new Rule("a host name or IP address (e.g. 0.0.0.0, 10.0.0.2, node1.example.com)",
        value -> HOST.matcher(value).matches());
  }

  static Rule hostOrEmpty() {
    return new Rule("empty, or a host name or IP address",
        value -> value.isEmpty() || HOST.matcher(value).matches());
  }

  static Rule portOrEmpty() {
    return new Rule("empty, or a port number from 1 to 65535",
        value -> value.isEmpty() || inRange(Integer.parseInt(value.strip()), 1, 65535));
  }

  /** Comma-separated {@code host:port}, or empty. */
  static Rule hostPorts() {
    return new Rule("comma-separated host:port (e.g. 10.0.0.2:2552,10.0.0.3:2552), or empty",
        value -> Arrays.stream(value.split(",")).map(String::strip).filter(part -> !part.isEmpty())
            .allMatch(part -> {
              int colon = part.lastIndexOf(':');
              return colon > 0 && HOST.matcher(part.substring(0, colon)).matches()
                  && inRange(Integer.parseInt(part.substring(colon + 1)), 1, 65535);
            }));
  }

  /** Comma-separated browser origins ({@code scheme://host[:port]}, a trailing slash allowed), or empty. */
  static Rule origins() {
    return new Rule("comma-separated origins, scheme and host without a path (e.g. "
        + "https://chat.example.com,http://localhost:3000), or empty for any",
        value -> Arrays.stream(value.split(",")).map(String::strip).filter(part -> !part.isEmpty())
            .map(part -> part.endsWith("/") ? part.substring(0, part.length() - 1) : part)
            .allMatch(part -> ORIGIN.matcher(part.toLowerCase(Locale.ROOT)).matches()));
  }

  /** Empty, or an http(s) URL. */
  static Rule urlOrEmpty() {
    return new Rule("empty, or an http:// or https:// URL", value -> {
      if (value.isEmpty()) return true;
      URI uri = URI.create(value.strip());
      return ("https".equals(uri.getScheme()) || "http".equals(uri.getScheme())) && uri.getHost() != null;
    });
  }

  /** Empty, or comma-separated keys of 16-256 visible ASCII characters each; never shown. */
  static Rule apiKeys() {
    return new Rule("empty (the API is off), or comma-separated keys of 16-256 visible ASCII characters each",
        value -> Arrays.stream(value.split(",")).map(String::strip).filter(key -> !key.isEmpty())
            .allMatch(key -> key.length() >= 16 && key.length() <= 256
                && key.chars().allMatch(c -> c > ' ' && c < 127)),
        true);
  }

  /** Empty, or a JDBC URL of PostgreSQL. */
  static Rule jdbcUrlOrEmpty() {
    return new Rule("empty, or a JDBC URL such as jdbc:postgresql://db.example.com:5432/parley",
        value -> value.isBlank() || value.strip().startsWith("jdbc:postgresql://"));
  }

  /** A directory path (it is created when missing). */
  static Rule directory() {
    return new Rule("a directory path", value -> {
      if (value.isBlank()) return false;
      try {
        Path path = Path.of(value);
        return !Files.exists(path) || Files.isDirectory(path);
      } catch (InvalidPathException e) {
        return false;
      }
    });
  }

  /** Empty, or the path of a file this process can read. */
  static Rule readableFileOrEmpty() {
    return new Rule("empty, or the path of a readable file", value -> {
      if (value.isEmpty()) return true;
      try {
        Path path = Path.of(value);
        return Files.isRegularFile(path) && Files.isReadable(path);
      } catch (InvalidPathException e) {
        return false;
      }
    });
  }

  /** How HOCON (and so the node) reads a duration. */
  static Duration parseDuration(String value) {
    try {
      return ConfigFactory.parseMap(Map.of("d", value)).getDuration("d");
    } catch (ConfigException e) {
      throw new IllegalArgumentException(value + " is not a duration", e);
    }
  }

  private static boolean inRange(long value, long min, long max) {
    return value >= min && value <= max;
  }

  private static String listed(String... values) {
    return values.length == 1 ? values[0]
        : String.join(", ", Arrays.asList(values).subList(0, values.length - 1)) + " or " + values[values.length - 1];
  }

  private static String plain(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }

  /** 500ms, 10s, 5m, 2h, 1d: the shortest exact form. */
  static String human(Duration duration) {
    long millis = duration.toMillis();
    if (millis == 0) return "0s";
    if (millis % 86_400_000 == 0) return millis / 86_400_000 + "d";
    if (millis % 3_600_000 == 0) return millis / 3_600_000 + "h";
    if (millis % 60_000 == 0) return millis / 60_000 + "m";
    if (millis % 1000 == 0) return millis / 1000 + "s";
    return millis + "ms";
  }
}
