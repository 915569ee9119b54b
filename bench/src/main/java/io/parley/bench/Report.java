package io.parley.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/** summary.md: medians over the repetitions; ratios taken within a repetition, then the median. */
final class Report {
  private Report() {}

  static String markdown(Runner run, ZonedDateTime now, double elapsedSeconds) {
    StringBuilder md = new StringBuilder();
    md.append("# Benchmark run ").append(now.withNano(0)).append("\n\n");
    md.append(machine()).append('\n');
    md.append(String.format(Locale.ROOT, "Run took %.0f s. Settings:", elapsedSeconds));
    run.describe().forEach((k, v) -> md.append(" ").append(k).append(" = ").append(v).append(";"));
    md.append("\n\nEvery figure is the median over the repetitions (n = number of runs that reached that row);"
        + " every ratio is taken between servers measured in the same repetition, then the median.\n\n");

    List<Runner.Record> records = run.records;
    List<String> fanoutServers = servers(records, "fanout");
    if (!fanoutServers.isEmpty()) {
      md.append("## Fan-out, one node: ").append(run.rooms).append(" rooms × ").append(run.members)
          .append(" members, 100-byte content\n\n");
      md.append("| server | offered deliveries/s | n | achieved /s | p50 ms | p99 ms | p99.9 ms | max ms | missing | seq gaps | errors | server CPU µs/delivery | deliveries per server CPU-s | generator CPU-s per s |\n");
      md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (String server : fanoutServers) {
        for (double rate : rates(records, "fanout", server)) {
          List<Fanout.Step> steps = steps(records, "fanout", server, rate);
          md.append(String.format(Locale.ROOT,
              "| %s | %.0f | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.2f | **%.0f** | %.2f |%n",
              server, rate, steps.size(),
              med(steps, Fanout.Step::deliveriesPerSecond), med(steps, Fanout.Step::p50),
              med(steps, Fanout.Step::p99), med(steps, Fanout.Step::p999), med(steps, Fanout.Step::max),
              med(steps, s -> s.missing()), med(steps, s -> s.seqGaps()), med(steps, s -> s.errors()),
              med(steps, s -> s.received() > 0 ? s.serverCpu() / s.received() * 1e6 : 0),
              med(steps, Fanout.Step::deliveriesPerCpuSecond),
              med(steps, s -> s.generatorCpu() / run.duration)));
        }
      }
      md.append("\n### Deliveries per server CPU-second, against the baselines of the same repetition\n\n");
      List<String> others = fanoutServers.stream().filter(s -> !s.equals("parley")).toList();
      md.append("Each column divides Parley (as committed) by the named server, in the same repetition.\n\n");
      md.append("| offered deliveries/s | parley");
      for (String o : others) md.append(" | ").append(o).append(" | parley ÷ ").append(o);
      md.append(" |\n|---:|---:");
      for (String o : others) md.append("|---:|---:");
      md.append("|\n");
      for (double rate : rates(records, "fanout", "parley")) {
        md.append(String.format(Locale.ROOT, "| %.0f | %.0f", rate,
            med(steps(records, "fanout", "parley", rate), Fanout.Step::deliveriesPerCpuSecond)));
        for (String o : others) {
          List<Double> ratios = ratios(records, "fanout", "parley", "fanout", o, rate);
          md.append(String.format(Locale.ROOT, " | %.0f | %s",
              med(steps(records, "fanout", o, rate), Fanout.Step::deliveriesPerCpuSecond), ratio(ratios)));
        }
        md.append(" |\n");
      }
      md.append("\n### Peak and latency at half of peak\n\n"
          + "Peak: the highest offered rate of a repetition delivered in full (no missing delivery, achieved ≥ 97% of"
          + " offered, p99 < 1 s). Half of peak: the lowest step at or above half of that repetition's peak.\n\n"
          + "| server | n | peak deliveries/s | step used as half of peak | p50 ms there | p99 ms there | missing there |\n"
          + "|---|---:|---:|---:|---:|---:|---:|\n");
      for (String server : fanoutServers) {
        List<Double> peaks = new ArrayList<>();
        List<Double> halfRates = new ArrayList<>();
        List<Double> halfP50 = new ArrayList<>();
        List<Double> halfP99 = new ArrayList<>();
        List<Double> halfMissing = new ArrayList<>();
        for (int rep : reps(records)) {
          List<Runner.Record> mine = records.stream()
              .filter(r -> r.scenario().equals("fanout") && r.server().equals(server) && r.rep() == rep).toList();
          if (mine.isEmpty()) continue;
          double peak = 0;
          for (Runner.Record r : mine) {
            Fanout.Step s = r.step();
            if (s.missing() == 0 && s.deliveriesPerSecond() >= 0.97 * s.offered() && s.p99() < 1000) {
              peak = Math.max(peak, s.offered());
            }
          }
          peaks.add(peak);
          final double half = peak / 2;
          mine.stream().map(Runner.Record::step).filter(s -> s.offered() >= half)
              .min((x, y) -> Double.compare(x.offered(), y.offered())).ifPresent(s -> {
                halfRates.add(s.offered());
                halfP50.add(s.p50());
                halfP99.add(s.p99());
                halfMissing.add((double) s.missing());
              });
        }
        md.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.0f | %.1f | %.1f | %.0f |%n", server, peaks.size(),
            median(peaks), median(halfRates), median(halfP50), median(halfP99), median(halfMissing)));
      }
      md.append('\n');
    }

    List<String> clusterServers = servers(records, "cluster");
    if (!clusterServers.isEmpty()) {
      md.append("## Fan-out, 3-node cluster on this machine (members of every room on every node)\n\n"
          + "Server CPU is the sum of the three node processes. Fan-out messages per broadcast: Deliver messages"
          + " from rooms to node fan-outs (parley_fanout_messages_total) per parley_broadcasts_total; remote ones"
          + " cross nodes.\n\n"
          + "| offered deliveries/s | n | achieved /s | p50 ms | p99 ms | max ms | missing | seq gaps | deliveries per server CPU-s | one node, same rep | 3 nodes ÷ one node | fan-out msgs per broadcast | of which cross-node |\n"
          + "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (String server : clusterServers) {
        for (double rate : rates(records, "cluster", server)) {
          List<Fanout.Step> steps = steps(records, "cluster", server, rate);
          List<Double> ratios = ratios(records, "cluster", server, "fanout", "parley", rate);
          md.append(String.format(Locale.ROOT,
              "| %.0f | %d | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | **%.0f** | %.0f | %s | %.2f | %.2f |%n",
              rate, steps.size(), med(steps, Fanout.Step::deliveriesPerSecond), med(steps, Fanout.Step::p50),
              med(steps, Fanout.Step::p99), med(steps, Fanout.Step::max), med(steps, s -> s.missing()),
              med(steps, s -> s.seqGaps()), med(steps, Fanout.Step::deliveriesPerCpuSecond),
              med(steps(records, "fanout", "parley", rate), Fanout.Step::deliveriesPerCpuSecond),
              ratio(ratios),
              med(steps, s -> perBroadcast(s, true)), med(steps, s -> perBroadcast(s, false))));
        }
      }
      md.append('\n');
    }

    List<String> densityServers = servers(records, "density");
    if (!densityServers.isEmpty()) {
      md.append("## Idle connections: connect rate and memory per connection\n\n"
          + "Heap: used after two forced GCs (jcmd GC.run; GC.heap_info). RSS: VmRSS. Per connection: the slope"
          + " between the first two counts, so fixed overhead cancels. Upgrades/s: the first batch (0 → first"
          + " count, after a warm-up batch), authenticated (HS256 token in the query) for Parley; per server CPU-s:"
          + " the same upgrades over the server's utime+stime in that batch, the figure a loaded machine does not"
          + " distort.\n\n"
          + "| server | n | upgrades/s | upgrades per server CPU-s | failures (all counts) | heap KiB per connection | RSS KiB per connection | heap MiB at last count | RSS MiB at last count | connections at last count | idle server CPU there (% of a core) |\n"
          + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (String server : densityServers) {
        List<Density.Result> results = records.stream()
            .filter(r -> r.scenario().equals("density") && r.server().equals(server))
            .map(Runner.Record::density).toList();
        md.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.0f | %.0f | **%.1f** | **%.1f** | %.0f | %.0f | %.0f | %.1f |%n",
            server, results.size(),
            medR(results, Density.Result::upgradesPerSecond),
            medR(results, Density.Result::upgradesPerCpuSecond),
            medR(results, r -> r.points().stream().mapToInt(Density.Point::failed).sum()),
            medR(results, Density.Result::heapSlopeKiB), medR(results, Density.Result::rssSlopeKiB),
            medR(results, r -> last(r).heapKiB() / 1024.0), medR(results, r -> last(r).rssKiB() / 1024.0),
            medR(results, r -> r.points().stream().mapToInt(Density.Point::ok).sum()),
            medR(results, Density.Result::idleCpuPercent)));
      }
      md.append('\n');
    }

    for (String name : List.of("parley", "bare")) {
      Path profile = run.out.resolve("profile-" + name + ".md");
      if (Files.exists(profile)) {
        try {
          md.append("## JFR profile: ").append(name).append("\n\n")
              .append(Files.readString(profile, StandardCharsets.UTF_8)).append('\n');
        } catch (Exception e) {
          md.append("(cannot read ").append(profile).append(")\n");
        }
      }
    }
    return md.toString();
  }

  private static Density.Point last(Density.Result r) {
    return r.points().get(r.points().size() - 1);
  }

  private static double perBroadcast(Fanout.Step s, boolean all) {
    Map<String, Double> m = s.serverMetrics();
    double broadcasts = m.getOrDefault("parley_broadcasts_total", 0.0);
    double remote = m.getOrDefault("parley_fanout_messages_total{target=\"remote\"}", 0.0);
    double local = m.getOrDefault("parley_fanout_messages_total{target=\"local\"}", 0.0);
    if (broadcasts <= 0) return Double.NaN;
    return (all ? remote + local : remote) / broadcasts;
  }

  private static List<Double> ratios(List<Runner.Record> records, String scenarioA, String a, String scenarioB,
      String b, double rate) {
    List<Double> ratios = new ArrayList<>();
    for (int rep : reps(records)) {
      Fanout.Step x = find(records, scenarioA, a, rep, rate);
      Fanout.Step y = find(records, scenarioB, b, rep, rate);
      if (x != null && y != null && y.deliveriesPerCpuSecond() > 0) {
        ratios.add(x.deliveriesPerCpuSecond() / y.deliveriesPerCpuSecond());
      }
    }
    return ratios;
  }

  private static String ratio(List<Double> ratios) {
    if (ratios.isEmpty()) return "–";
    return String.format(Locale.ROOT, "%.2f (n=%d)", median(ratios), ratios.size());
  }

  private static Fanout.Step find(List<Runner.Record> records, String scenario, String server, int rep, double rate) {
    return records.stream()
        .filter(r -> r.scenario().equals(scenario) && r.server().equals(server) && r.rep() == rep
            && r.step() != null && r.step().offered() == rate)
        .map(Runner.Record::step).findFirst().orElse(null);
  }

  private static Set<Integer> reps(List<Runner.Record> records) {
    Set<Integer> reps = new LinkedHashSet<>();
    for (Runner.Record r : records) reps.add(r.rep());
    return reps;
  }

  private static List<String> servers(List<Runner.Record> records, String scenario) {
    return records.stream().filter(r -> r.scenario().equals(scenario)).map(Runner.Record::server)
        .distinct().toList();
  }

  private static List<Double> rates(List<Runner.Record> records, String scenario, String server) {
    return records.stream().filter(r -> r.scenario().equals(scenario) && r.server().equals(server))
        .map(r -> r.step().offered()).distinct().sorted().toList();
  }

  private static List<Fanout.Step> steps(List<Runner.Record> records, String scenario, String server, double rate) {
    return records.stream()
        .filter(r -> r.scenario().equals(scenario) && r.server().equals(server) && r.step() != null
            && r.step().offered() == rate)
        .map(Runner.Record::step).filter(Objects::nonNull).toList();
  }

  private static double med(List<Fanout.Step> steps, ToDoubleFunction<Fanout.Step> f) {
    return median(steps.stream().map(f::applyAsDouble).toList());
  }

  private static double medR(List<Density.Result> results, ToDoubleFunction<Density.Result> f) {
    return median(results.stream().map(f::applyAsDouble).toList());
  }

  static double median(List<Double> values) {
    List<Double> v = values.stream().filter(d -> !d.isNaN()).sorted().toList();
    if (v.isEmpty()) return Double.NaN;
    int n = v.size();
    return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
  }

  /** nproc, CPU model, RAM, kernel, Java. */
  static String machine() {
    StringBuilder sb = new StringBuilder("Machine: ");
    sb.append(Runtime.getRuntime().availableProcessors()).append(" CPUs");
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          sb.append(" (").append(line.substring(line.indexOf(':') + 1).trim()).append(")");
          break;
        }
      }
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal")) {
          long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
          sb.append(String.format(Locale.ROOT, ", %.1f GiB RAM", kib / 1024.0 / 1024.0));
        }
      }
      sb.append(", kernel ").append(Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim());
      sb.append(", load average at the end ").append(Files.readString(Path.of("/proc/loadavg")).trim());
    } catch (Exception e) {
      // partial description
    }
    sb.append(", Java ").append(System.getProperty("java.vm.name")).append(' ')
        .append(System.getProperty("java.runtime.version")).append(".\n");
    return sb.toString();
  }
}
