package io.parley.bench;

import java.nio.file.Path;

/**
 * parley-bench: the load generator and the bare baseline server.
 *
 * <pre>
 *   run [options]              every scenario, servers started here; see Runner and BENCHMARKS.md
 *   soak [options]             the soak run (steady chat and churn for --minutes); see Soak
 *   density [options]          3 nodes × --per-node idle sockets, then a reconnect storm; see ClusterDensity
 *   publish [options]          the server API's publish calls, one node and three; see PublishBench
 *   bare-server --host --port  the bare pekko-http broadcast server
 *   jfr-summary FILE.jfr [deliveries/s µs-per-delivery]
 *   worker                     a socket-holding process driven on stdin (used by run)
 * </pre>
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String command = args.length == 0 ? "help" : args[0];
    switch (command) {
      case "run" -> {
        new Runner(args).run();
        System.exit(0);
      }
      case "soak" -> System.exit(new Soak(args).run() ? 0 : 1);
      case "density" -> System.exit(new ClusterDensity(args).run() ? 0 : 1);
      case "publish" -> System.exit(new PublishBench(args).run() ? 0 : 1);
      case "bare-server" -> BareServer.main(args);
      case "worker" -> Worker.main(args);
      case "jfr-summary" -> System.out.println(JfrSummary.summarize(Path.of(args[1]),
          args.length > 2 ? Double.parseDouble(args[2]) : 0, args.length > 3 ? Double.parseDouble(args[3]) : 0, 25));
      default -> {
        System.out.println("usage: run [--reps N --scenarios idle,fanout,cluster,profile ...] | density [--per-node N] | soak [--minutes N] | bare-server"
            + " --host H --port P | jfr-summary FILE [deliveries cpu-seconds] | worker");
        System.exit(2);
      }
    }
  }

  /** {@code --name value} from the arguments, or the default. */
  static String option(String[] args, String name, String fallback) {
    for (int i = 0; i < args.length - 1; i++) if (args[i].equals(name)) return args[i + 1];
    return fallback;
  }
}
