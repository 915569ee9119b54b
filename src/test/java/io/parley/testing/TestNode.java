package io.parley.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.app.ParleyNode;
import java.net.URI;
import java.nio.file.Path;
import java.util.UUID;

/** Starts real nodes on loopback with random ports, for end-to-end tests. */
public final class TestNode {
  public static final String SECRET = "test-secret-for-parley-end-to-end-tests";

  private TestNode() {}

  /** The application's own configuration, with test overrides on top. */
  public static Config config(String overrides) {
    return ConfigFactory.parseString(overrides)
        .withFallback(ConfigFactory.parseString("""
            parley.http.host = 127.0.0.1
            parley.http.port = 0
            parley.jwt.secret = "%s"
            pekko.remote.artery.canonical.hostname = 127.0.0.1
            pekko.remote.artery.canonical.port = 0
            pekko.coordinated-shutdown.exit-jvm = off
            pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
            pekko.fail-mixed-versions = off
            parley.storage.data-dir = "%s"
            """.formatted(SECRET, dataDir())))
        .withFallback(ConfigFactory.load());
  }

  /** A fresh directory for a node's embedded store, under target/. */
  public static String dataDir() {
    return Path.of("target", "test-data", UUID.randomUUID().toString()).toAbsolutePath().toString();
  }

  public static ParleyNode start(String overrides) throws Exception {
    return ParleyNode.start(config(overrides));
  }

  public static URI wsUri(ParleyNode node, String token) {
    return URI.create("ws://127.0.0.1:" + node.port() + "/ws" + (token == null ? "" : "?token=" + token));
  }

  public static URI httpUri(ParleyNode node, String path) {
    return URI.create("http://127.0.0.1:" + node.port() + path);
  }
}
