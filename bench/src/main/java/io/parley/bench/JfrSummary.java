package io.parley.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where the server's CPU and allocation go, from a JFR recording (settings=profile) of one fan-out
 * step: on-CPU samples (jdk.ExecutionSample, plus jdk.NativeMethodSample minus threads parked in
 * epoll/park/sleep) attributed to a layer by their innermost frame that belongs to a known layer,
 * the top self frames, the top inclusive methods, and allocation (jdk.ObjectAllocationSample
 * weights) by class and by site, each scaled per delivery.
 */
final class JfrSummary {
  private JfrSummary() {}

  /** Layers, by class-name prefix, checked from the innermost frame outwards. */
  private static final List<String[]> LAYERS = List.of(
      new String[] {"sun.nio.ch.", "socket I/O syscalls (sun.nio.ch: write/read/epoll)"},
      new String[] {"org.apache.pekko.io.", "pekko.io TCP connection actors"},
      new String[] {"org.apache.pekko.stream.impl.io.", "pekko-stream TCP stage"},
      new String[] {"org.apache.pekko.http.impl.engine.ws.", "pekko-http WebSocket framing"},
      new String[] {"org.apache.pekko.http.", "pekko-http (HTTP layer)"},
      new String[] {"io.parley.", "Parley code"},
      new String[] {"io.micrometer.", "metrics (micrometer)"},
      new String[] {"com.fasterxml.jackson.", "JSON (Jackson, CBOR)"},
      new String[] {"ch.qos.logback.", "logging"},
      new String[] {"org.slf4j.", "logging"},
      new String[] {"org.apache.pekko.remote.", "Artery remoting"},
      new String[] {"org.apache.pekko.cluster.", "cluster / sharding"},
      new String[] {"org.apache.pekko.stream.", "pekko-stream interpreter (incl. Source.queue)"},
      new String[] {"org.apache.pekko.dispatch.", "actor mailboxes and dispatcher"},
      new String[] {"org.apache.pekko.actor.", "actor mailboxes and dispatcher"},
      new String[] {"java.util.concurrent.ForkJoin", "actor mailboxes and dispatcher"},
      new String[] {"java.util.concurrent.", "actor mailboxes and dispatcher"});

  private static final Set<String> IDLE = Set.of(
      "sun.nio.ch.EPoll.wait", "jdk.internal.misc.Unsafe.park", "java.lang.Thread.sleep",
      "java.lang.Object.wait", "sun.nio.ch.Net.accept", "sun.nio.ch.Net.poll",
      "java.lang.ref.Reference.waitForReferencePendingList");

  static String summarize(Path file, double deliveriesPerSecond, double cpuMicrosPerDelivery, int top)
      throws IOException {
    Map<String, Long> layers = new HashMap<>();
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> inclusive = new HashMap<>();
    Map<String, Long> allocClass = new HashMap<>();
    Map<String, Long> allocSite = new HashMap<>();
    Map<String, double[]> threadLoad = new HashMap<>();
    long samples = 0;
    long allocTotal = 0;
    long gcPauseNanos = 0;
    int gcs = 0;
    Instant first = null;
    Instant last = null;
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      String type = e.getEventType().getName();
      Instant t = e.getStartTime();
      if (first == null || t.isBefore(first)) first = t;
      if (last == null || t.isAfter(last)) last = t;
      switch (type) {
        case "jdk.ExecutionSample", "jdk.NativeMethodSample" -> {
          RecordedStackTrace stack = e.getStackTrace();
          if (stack == null || stack.getFrames().isEmpty()) continue;
          List<RecordedFrame> frames = stack.getFrames();
          String top0 = name(frames.get(0));
          if (type.equals("jdk.NativeMethodSample") && IDLE.contains(top0)) continue;
          samples++;
          self.merge(top0, 1L, Long::sum);
          layers.merge(layer(frames), 1L, Long::sum);
          Set<String> seen = new HashSet<>();
          for (RecordedFrame f : frames) {
            String n = name(f);
            if (seen.add(n)) inclusive.merge(n, 1L, Long::sum);
          }
        }
        case "jdk.ObjectAllocationSample" -> {
          long weight = e.getLong("weight");
          allocTotal += weight;
          String cls = e.getClass("objectClass") == null ? "?" : e.getClass("objectClass").getName();
          allocClass.merge(cls, weight, Long::sum);
          RecordedStackTrace stack = e.getStackTrace();
          String site = "?";
          if (stack != null) {
            for (RecordedFrame f : stack.getFrames()) {
              String n = name(f);
              if (!n.startsWith("java.") && !n.startsWith("jdk.") && !n.startsWith("scala.")) {
                site = n;
                break;
              }
            }
          }
          allocSite.merge(cls + " at " + site, weight, Long::sum);
        }
        case "jdk.ThreadCPULoad" -> {
          String thread = e.getThread("eventThread") == null ? "?" : e.getThread("eventThread").getJavaName();
          double[] acc = threadLoad.computeIfAbsent(String.valueOf(thread), g -> new double[2]);
          acc[0] += e.getFloat("user") + e.getFloat("system");
          acc[1]++;
        }
        case "jdk.GarbageCollection" -> {
          gcs++;
          gcPauseNanos += e.getLong("sumOfPauses");
        }
        default -> {
          // other events: not summarized
        }
      }
    }
    double seconds = first == null ? 0 : (last.toEpochMilli() - first.toEpochMilli()) / 1000.0;
    double deliveries = deliveriesPerSecond * seconds;
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT,
        "Recording %s: %.1f s, %d on-CPU samples, %.0f deliveries/s, %.2f µs server CPU per delivery"
            + " (measured from /proc over the same step). %d GCs, %.0f ms of pauses in all.%n%n",
        file.getFileName(), seconds, samples, deliveriesPerSecond, cpuMicrosPerDelivery, gcs,
        gcPauseNanos / 1e6));
    md.append("| layer (innermost known frame) | share of samples | ≈ µs CPU per delivery |\n|---|---:|---:|\n");
    for (Map.Entry<String, Long> en : sorted(layers, 40)) {
      double share = (double) en.getValue() / Math.max(1, samples);
      md.append(String.format(Locale.ROOT, "| %s | %.1f%% | %.2f |%n", en.getKey(), 100 * share,
          share * cpuMicrosPerDelivery));
    }
    if (!threadLoad.isEmpty()) {
      // ThreadCPULoad: each Java thread's share of the machine's CPU time, sampled; GC and JIT threads are
      // native (not Java) threads and do not appear here
      md.append("\nCPU by Java thread group (jdk.ThreadCPULoad, summed over the group's threads, % of one core):\n\n"
          + "| thread group | % of a core |\n|---|---:|\n");
      int cores = Runtime.getRuntime().availableProcessors();
      Map<String, Double> groups = new HashMap<>();
      threadLoad.forEach((thread, acc) -> groups.merge(
          thread.replaceAll("[-#]?[0-9]+$", "").replaceAll("-[0-9]+-", "-"), acc[0] / acc[1], Double::sum));
      groups.entrySet().stream()
          .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
          .limit(10)
          .forEach(en -> md.append(String.format(Locale.ROOT, "| %s | %.1f |%n", en.getKey(),
              100.0 * cores * en.getValue())));
    }
    md.append("\nTop self frames:\n\n| frame | share |\n|---|---:|\n");
    for (Map.Entry<String, Long> en : sorted(self, top)) {
      md.append(String.format(Locale.ROOT, "| `%s` | %.1f%% |%n", en.getKey(),
          100.0 * en.getValue() / Math.max(1, samples)));
    }
    md.append("\nInclusive (on the stack), Parley and pekko-http/stream methods:\n\n| method | share |\n|---|---:|\n");
    Map<String, Long> interesting = inclusive.entrySet().stream()
        .filter(en -> en.getKey().startsWith("io.parley.") || en.getKey().startsWith("org.apache.pekko.http.impl.engine.ws.")
            || en.getKey().startsWith("org.apache.pekko.io.TcpConnection") || en.getKey().contains("BoundedSourceQueue")
            || en.getKey().contains("QueueSource") || en.getKey().startsWith("org.apache.pekko.stream.impl.io.TcpConnectionStage"))
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    for (Map.Entry<String, Long> en : sorted(interesting, top)) {
      md.append(String.format(Locale.ROOT, "| `%s` | %.1f%% |%n", en.getKey(),
          100.0 * en.getValue() / Math.max(1, samples)));
    }
    md.append(String.format(Locale.ROOT,
        "%nAllocation (JFR allocation samples, weighted): %.0f bytes per delivery in all.%n%n"
            + "| class | bytes per delivery |\n|---|---:|\n",
        deliveries > 0 ? allocTotal / deliveries : 0));
    for (Map.Entry<String, Long> en : sorted(allocClass, 15)) {
      md.append(String.format(Locale.ROOT, "| `%s` | %.1f |%n", en.getKey(),
          deliveries > 0 ? en.getValue() / deliveries : 0));
    }
    md.append("\n| class at allocating site (first non-JDK frame) | bytes per delivery |\n|---|---:|\n");
    for (Map.Entry<String, Long> en : sorted(allocSite, 15)) {
      md.append(String.format(Locale.ROOT, "| `%s` | %.1f |%n", en.getKey(),
          deliveries > 0 ? en.getValue() / deliveries : 0));
    }
    return md.toString();
  }

  private static String layer(List<RecordedFrame> frames) {
    for (RecordedFrame f : frames) {
      String cls = f.getMethod().getType().getName();
      for (String[] layer : LAYERS) if (cls.startsWith(layer[0])) return layer[1];
    }
    return "other (JDK, Scala library)";
  }

  private static String name(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static List<Map.Entry<String, Long>> sorted(Map<String, Long> m, int limit) {
    return m.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(limit)
        .toList();
  }
}
