package io.parley.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.auth.JwtSettings;
import io.parley.auth.Tokens;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The command line: {@code java -jar parley.jar} starts a node from {@code conf/application.conf}
 * and the environment; {@code token} prints a token; {@code --help} and {@code --version} print
 * and exit. Exit status: 0 done, 1 the node could not start (the reason is printed), 2 usage error.
 */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;
  /** {@link #run} started a node, which now runs until it is stopped. */
  static final int SERVING = -1;

  private static final Duration BANNER_TOKEN_TTL = Duration.ofHours(24);
  private static final Duration DEFAULT_TTL = Duration.ofHours(1);
  private static final Setting.Rule TTL = Setting.duration(Duration.ofSeconds(1), Duration.ofDays(366));

  private static final String USAGE_LINES = """
      usage: java -jar parley.jar                  start a node
             java -jar parley.jar token <user-id> [display name] [--ttl 1h]
                                                   print a token signed with PARLEY_JWT_SECRET
             java -jar parley.jar --version        print the version
             java -jar parley.jar --help           print this help
      """;

  private static final String HELP = """
      Parley, a realtime WebSocket rooms server.

      %s
      A node is configured with environment variables (PARLEY_HTTP_PORT, PARLEY_JWT_SECRET, ...);
      the README's configuration table lists them all. A value that is not allowed stops the node
      before it starts, with one line per problem.

      Exit status: 0 done, 1 the node could not start (the reason is printed), 2 usage error.
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Supplier<Config> config;

  Main(PrintStream out, PrintStream err, Supplier<Config> config) {
    this.out = out;
    this.err = err;
    this.config = config;
  }

  public static void main(String[] args) {
    int status = new Main(System.out, System.err, ConfigFactory::load).run(args);
    if (status != SERVING) System.exit(status);
  }

  /** Runs one command line; returns its exit status, or {@link #SERVING} once a node runs. */
  int run(String... args) {
    List<String> arguments = Arrays.asList(args);
    String command = arguments.isEmpty() ? "" : arguments.get(0);
    try {
      return switch (command) {
        case "" -> serve();
        case "--help", "-h", "help" -> help();
        case "--version" -> version();
        case "token" -> token(arguments.subList(1, arguments.size()));
        default -> usageError(command.startsWith("-")
            ? "unknown option: " + command
            : "unknown command: " + command);
      };
    } catch (StartFailure failure) {
      failure.lines().forEach(line -> err.println("parley: " + line));
      return FAILED;
    }
  }

  private int help() {
    out.print(HELP.formatted(USAGE_LINES));
    return OK;
  }

  private int version() {
    out.println("parley " + projectVersion() + " (Apache Pekko " + org.apache.pekko.Version.current()
        + ", Java " + Runtime.version() + ")");
    return OK;
  }

  /** The project's version, written into {@code parley-version.properties} by the build. */
  static String projectVersion() {
    try (InputStream in = Main.class.getResourceAsStream("/parley-version.properties")) {
      if (in == null) return "(unknown version)";
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version", "(unknown version)");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private int usageError(String problem) {
    err.println("parley: " + problem);
    err.print(USAGE_LINES);
    return USAGE;
  }

  // ---- token ------------------------------------------------------------------------------------

  private int token(List<String> args) {
    Duration ttl = DEFAULT_TTL;
    List<String> words = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("--help") || arg.equals("-h")) {
        out.print(USAGE_LINES);
        return OK;
      } else if (arg.equals("--ttl")) {
        if (i + 1 == args.size()) return usageError("token: --ttl needs a value: " + TTL.allowed());
        String value = args.get(++i);
        if (!TTL.accepts().test(value)) return usageError("token: --ttl " + value + ": must be " + TTL.allowed());
        ttl = Setting.parseDuration(value);
      } else if (arg.startsWith("--")) {
        return usageError("token: unknown option: " + arg);
      } else {
        words.add(arg);
      }
    }
    if (words.isEmpty()) return usageError("token: missing <user-id>");
    JwtSettings jwt = ParleySettings.load(config.get()).jwt();
    if (jwt.secret().isEmpty()) {
      err.println("parley: token: needs PARLEY_JWT_SECRET; this node checks tokens with "
          + "PARLEY_JWT_PUBLIC_KEY or PARLEY_JWT_JWKS_URL, and only your identity provider can sign those");
      return FAILED;
    }
    String sub = words.get(0);
    String name = words.size() == 1 ? sub : String.join(" ", words.subList(1, words.size()));
    out.println(Tokens.mint(jwt, sub, name, ttl));
    return OK;
  }

  // ---- serve ------------------------------------------------------------------------------------

  private int serve() {
    ParleyNode node;
    try {
      node = ParleyNode.start(config.get());
    } catch (StartFailure failure) {
      throw failure;
    } catch (Exception unexpected) {
      err.println("parley: the node could not start: " + unexpected);
      unexpected.printStackTrace(err);
      return FAILED;
    }
    if (node.settings().jwt().devSecret() || node.settings().devMode()) printDevBanner(node);
    return SERVING;
  }

  /**
   * On the development secret, or in dev mode: how to try the node (the demo page, tokens, wscat),
   * at {@code PARLEY_PUBLIC_URL} when it is behind a proxy.
   */
  private void printDevBanner(ParleyNode node) {
    JwtSettings jwt = node.settings().jwt();
    String publicUrl = node.settings().http().publicUrl();
    String http = publicUrl.isEmpty() ? node.url() : publicUrl;
    String ws = "ws" + http.substring("http".length());
    if (jwt.devSecret()) {
      log.warn("Running on the built-in DEVELOPMENT secret: anyone can mint tokens for this node. "
          + "Set PARLEY_JWT_SECRET, PARLEY_JWT_PUBLIC_KEY or PARLEY_JWT_JWKS_URL for real use.");
    }
    out.println();
    out.println("  Parley is up (" + (jwt.devSecret() ? "development secret, " : "")
        + "dev mode " + (node.settings().devMode() ? "on" : "off") + ").");
    out.println("  Demo page:  " + http + "/");
    if (node.settings().devMode()) {
      out.println("  A token:    curl -X POST " + http + "/dev/token -d '{\"name\":\"Ann\"}'");
    }
    if (!jwt.secret().isEmpty()) {
      out.println("  Connect as Alice and as Bob (tokens valid " + BANNER_TOKEN_TTL.toHours() + " h):");
      for (String[] user : new String[][] {{"alice", "Alice"}, {"bob", "Bob"}}) {
        out.println("    wscat -c \"" + ws + "/ws?token="
            + Tokens.mint(jwt, user[0], user[1], BANNER_TOKEN_TTL) + "\"");
      }
    }
    out.println("  Then:  {\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\"}}");
    out.println("         {\"type\":\"send_message\",\"room\":\"general\",\"payload\":{\"content\":\"Hello!\"}}");
    out.println("  Online: curl " + http + "/ws/online");
    out.println("  Server API: " + (node.settings().apiKeys().enabled()
        ? "on, POST " + http + "/api/publish etc. with X-API-Key"
        : "off (set PARLEY_API_KEY to turn it on)"));
    out.println();
  }
}
