package io.parley.testing;

import java.nio.file.Path;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The 3-node process cluster of scripts/cluster.sh for a test class, started before its tests
 * and stopped after them, with a probe to wait on:
 * {@code @RegisterExtension static final ScriptClusterExtension nodes = new ScriptClusterExtension("target/x");}
 */
public final class ScriptClusterExtension implements BeforeAllCallback, AfterAllCallback {
  private final Path runDir;
  private ActorTestKit kit;
  private TestProbe<Object> waiter;
  private ScriptCluster cluster;

  public ScriptClusterExtension(String runDir) {
    this.runDir = Path.of(runDir);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    kit = ActorTestKit.create(context.getRequiredTestClass().getSimpleName() + "Probes");
    waiter = kit.createTestProbe();
    cluster = ScriptCluster.start(runDir);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (cluster != null) cluster.close();
    if (kit != null) kit.shutdownTestKit();
  }

  public ScriptCluster cluster() {
    return cluster;
  }

  /** Waits on conditions ({@code awaitAssert}); never sleeps. */
  public TestProbe<Object> waiter() {
    return waiter;
  }
}
