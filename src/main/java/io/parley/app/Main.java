package io.parley.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.auth.JwtSettings;
import io.parley.auth.Tokens;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar parley.jar} starts a node from {@code conf/application.conf} and the
 * environment; {@code java -jar parley.jar token <user-id> [display name] [--ttl 1h]} prints a
 * token signed with the configured HS256 secret.
 */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);
  private static final Duration BANNER_TOKEN_TTL = Duration.ofHours(24);

  private Main() {}

  public static void main(String[] args) throws Exception {
    Config config = ConfigFactory.load();
    if (args.length > 0 && args[0].equals("token")) {
      System.exit(mintToken(ParleySettings.load(config).jwt(), List.of(args).subList(1, args.length)));
    }
    ParleyNode node = ParleyNode.start(config);
    if (node.settings().jwt().devSecret()) printDevBanner(node);
  }

  private static int mintToken(JwtSettings jwt, List<String> args) {
    Duration ttl = Duration.ofHours(1);
    String sub = null;
    StringBuilder name = new StringBuilder();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("--ttl") && i + 1 < args.size()) {
        ttl = ConfigFactory.parseString("d = " + args.get(++i)).getDuration("d");
      } else if (sub == null) {
        sub = arg;
      } else {
        name.append(name.length() == 0 ? "" : " ").append(arg);
      }
    }
    if (sub == null || jwt.secret().isEmpty()) {
      System.err.println("usage: java -jar parley.jar token <user-id> [display name] [--ttl 1h]");
      System.err.println("signs with PARLEY_JWT_SECRET (the development secret when unset)");
      return 2;
    }
    System.out.println(Tokens.mint(jwt, sub, name.length() == 0 ? sub : name.toString(), ttl));
    return 0;
  }

  private static void printDevBanner(ParleyNode node) {
    JwtSettings jwt = node.settings().jwt();
    String base = "localhost:" + node.port();
    log.warn("Running on the built-in DEVELOPMENT secret: anyone can mint tokens for this node. "
        + "Set PARLEY_JWT_SECRET, PARLEY_JWT_PUBLIC_KEY or PARLEY_JWT_JWKS_URL for real use.");
    System.out.println();
    System.out.println("  Parley is up (development secret, dev mode " + (node.settings().devMode() ? "on" : "off") + ").");
    System.out.println("  Demo page:  http://" + base + "/");
    System.out.println("  Connect as Alice and as Bob (tokens valid " + BANNER_TOKEN_TTL.toHours() + " h):");
    for (String[] user : new String[][] {{"alice", "Alice"}, {"bob", "Bob"}}) {
      System.out.println("    wscat -c \"ws://" + base + "/ws?token="
          + Tokens.mint(jwt, user[0], user[1], BANNER_TOKEN_TTL) + "\"");
    }
    System.out.println("  Then:  {\"type\":\"join_room\",\"payload\":{\"room_id\":\"general\"}}");
    System.out.println("         {\"type\":\"send_message\",\"room\":\"general\",\"payload\":{\"content\":\"Hello!\"}}");
    System.out.println("  Online: curl http://" + base + "/ws/online");
    System.out.println();
  }
}
