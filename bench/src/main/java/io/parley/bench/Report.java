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

    if (!run.failures.isEmpty()) {
      md.append("**Scenarios that failed** (their servers' logs are in logs/; their rows are missing or partial):\n\n");
      run.failures.forEach(f -> md.append("- ").append(f).append('\n'));
      md.append('\n');
    }
    List<Runner.Record> records = run.records;
    List<String> fanoutServers = servers(records, "fanout");
    if (!fanoutServers.isEmpty()) {
      md.append("## Fan-out, one node: ").append(run.rooms).append(" rooms × ").append(run.members)
          .append(" members, 100-byte content\n\n");
      md.append("Window: " + run.duration + " s, longer at low rates (at least " + Math.round(run.minWindowDeliveries)
          + " deliveries). The last column divides each server's CPU per delivery by go-hub's in the same"
          + " repetition (below 1: cheaper than go-hub).\n\n");
      md.append("| server | offered deliveries/s | n | achieved /s | p50 ms | p99 ms | p99.9 ms | max ms | missing | seq gaps | errors | server CPU µs/delivery | deliveries per server CPU-s | generator CPU-s per s | CPU/delivery ÷ go-hub |\n");
      md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (String server : fanoutServers) {
        for (double rate : rates(records, "fanout", server)) {
          List<Fanout.Step> steps = steps(records, "fanout", server, rate);
          md.append(String.format(Locale.ROOT,
              "| %s | %.0f | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.2f | **%.0f** | %.2f | %s |%n",
              server, rate, steps.size(),
              med(steps, Fanout.Step::deliveriesPerSecond), med(steps, Fanout.Step::p50),
              med(steps, Fanout.Step::p99), med(steps, Fanout.Step::p999), med(steps, Fanout.Step::max),
              med(steps, s -> s.missing()), med(steps, s -> s.seqGaps()), med(steps, s -> s.errors()),
              med(steps, Report::cpuPerDelivery),
              med(steps, Fanout.Step::deliveriesPerCpuSecond),
              med(steps, s -> s.generatorCpu() / s.windowSeconds()),
              ratio(ratios(records, "fanout", server, "fanout", Runner.GO_HUB, rate, Report::cpuPerDelivery))));
        }
      }
      if (fanoutServers.contains("parley") && fanoutServers.contains(Runner.GO_HUB)) {
        md.append("\n### Parley ÷ go-hub, same repetition\n\n"
            + "Each ratio is Parley's figure over go-hub's in the same repetition, then the median over the"
            + " repetitions (below 1: Parley spends less, or waits less). Missing: deliveries that had not"
            + " arrived at the end of the drain.\n\n"
            + "| offered deliveries/s | Parley µs/delivery | go-hub µs/delivery | **Parley ÷ go-hub** | Parley p50 ms | go-hub p50 ms | **Parley ÷ go-hub** | Parley p99 ms | go-hub p99 ms | **Parley ÷ go-hub** | Parley missing | go-hub missing |\n"
            + "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (double rate : rates(records, "fanout", "parley")) {
          List<Fanout.Step> p = steps(records, "fanout", "parley", rate);
          List<Fanout.Step> g = steps(records, "fanout", Runner.GO_HUB, rate);
          md.append(String.format(Locale.ROOT,
              "| %.0f | %.2f | %.2f | **%s** | %.1f | %.1f | **%s** | %.1f | %.1f | **%s** | %.0f | %.0f |%n", rate,
              med(p, Report::cpuPerDelivery), med(g, Report::cpuPerDelivery),
              ratio(ratios(records, "fanout", "parley", "fanout", Runner.GO_HUB, rate, Report::cpuPerDelivery)),
              med(p, Fanout.Step::p50), med(g, Fanout.Step::p50),
              ratio(ratios(records, "fanout", "parley", "fanout", Runner.GO_HUB, rate, Fanout.Step::p50)),
              med(p, Fanout.Step::p99), med(g, Fanout.Step::p99),
              ratio(ratios(records, "fanout", "parley", "fanout", Runner.GO_HUB, rate, Fanout.Step::p99)),
              med(p, s -> s.missing()), med(g, s -> s.missing())));
        }
      }
      md.append("\n### Server CPU per delivery, against every baseline of the same repetition\n\n");
      List<String> others = fanoutServers.stream().filter(s -> !s.equals("parley")).toList();
      md.append("µs of server CPU per delivery; each ratio divides Parley's (as committed) by the named server's, in"
          + " the same repetition, then the median (below 1: Parley spends less).\n\n");
      md.append("| offered deliveries/s | parley");
      for (String o : others) md.append(" | ").append(o).append(" | parley ÷ ").append(o);
      md.append(" |\n|---:|---:");
      for (String o : others) md.append("|---:|---:");
      md.append("|\n");
      for (double rate : rates(records, "fanout", "parley")) {
        md.append(String.format(Locale.ROOT, "| %.0f | %.2f", rate,
            med(steps(records, "fanout", "parley", rate), Report::cpuPerDelivery)));
        for (String o : others) {
          List<Double> ratios = ratios(records, "fanout", "parley", "fanout", o, rate, Report::cpuPerDelivery);
          md.append(String.format(Locale.ROOT, " | %.2f | %s",
              med(steps(records, "fanout", o, rate), Report::cpuPerDelivery), ratio(ratios)));
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
          + " cross nodes. The last column divides the three nodes' CPU per delivery by one go-hub's at the same"
          + " rate in the same repetition.\n\n"
          + "| offered deliveries/s | n | achieved /s | p50 ms | p99 ms | max ms | missing | seq gaps | deliveries per server CPU-s | one node, same rep | 3 nodes ÷ one node | fan-out msgs per broadcast | of which cross-node | CPU/delivery ÷ go-hub |\n"
          + "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (String server : clusterServers) {
        for (double rate : rates(records, "cluster", server)) {
          List<Fanout.Step> steps = steps(records, "cluster", server, rate);
          List<Double> ratios = ratios(records, "cluster", server, "fanout", "parley", rate,
              Fanout.Step::deliveriesPerCpuSecond);
          md.append(String.format(Locale.ROOT,
              "| %.0f | %d | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | **%.0f** | %.0f | %s | %.2f | %.2f | %s |%n",
              rate, steps.size(), med(steps, Fanout.Step::deliveriesPerSecond), med(steps, Fanout.Step::p50),
              med(steps, Fanout.Step::p99), med(steps, Fanout.Step::max), med(steps, s -> s.missing()),
              med(steps, s -> s.seqGaps()), med(steps, Fanout.Step::deliveriesPerCpuSecond),
              med(steps(records, "fanout", "parley", rate), Fanout.Step::deliveriesPerCpuSecond),
              ratio(ratios),
              med(steps, s -> perBroadcast(s, true)), med(steps, s -> perBroadcast(s, false)),
              ratio(ratios(records, "cluster", server, "fanout", Runner.GO_HUB, rate, Report::cpuPerDelivery))));
        }
      }
      md.append('\n');
    }

    if (!servers(records, "store").isEmpty()) store(md, run);

    List<String> idleServers = servers(records, "idle");
    if (!idleServers.isEmpty()) {
      List<Integer> counts = run.idleCounts;
      md.append("## Idle connections: connect rate, memory per connection, idle CPU\n\n"
          + "Upgrades/s: the first batch (0 → " + counts.get(0) + ", after a warm-up batch), " + run.connectInflight
          + " handshakes in flight, authenticated (HS256 token in the query) for Parley and go-hub; per server"
          + " CPU-s: the same upgrades over the server's utime+stime in that batch. RSS: VmRSS in steady state (before"
          + " any forced GC); heap: used after two forced GCs (JVMs only). Per connection: the slope between the"
          + " first and the last count, so fixed overhead cancels. Idle CPU: the server's utime+stime over a "
          + run.idleWindow + " s window, " + run.idleSettle + " s after the count was reached, nothing sent. Ratios:"
          + " the server's figure over go-hub's in the same repetition.\n\n");
      md.append("| server | n | upgrades/s | upgrades per server CPU-s | failures (all counts) | heap KiB per connection"
          + " | RSS KiB per connection | RSS MiB at last count | connections at last count");
      for (int c : counts) md.append(" | idle CPU at ").append(c).append(" (% of a core)");
      md.append(" | upgrades/s ÷ go-hub | RSS per connection ÷ go-hub");
      for (int c : counts) md.append(" | idle CPU at ").append(c).append(" ÷ go-hub");
      md.append(" |\n|---|---:|---:|---:|---:|---:|---:|---:|---:");
      md.append("|---:".repeat(2 * counts.size() + 2)).append("|\n");
      for (String server : idleServers) {
        List<Idle.Result> results = idleResults(records, server);
        double heap = medR(results, Idle.Result::heapSlopeKiB);
        md.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.0f | %.0f | %s | **%.1f** | %.0f | %.0f",
            server, results.size(),
            medR(results, Idle.Result::upgradesPerSecond),
            medR(results, Idle.Result::upgradesPerCpuSecond),
            medR(results, r -> r.points().stream().mapToInt(Idle.Point::failed).sum()),
            Double.isNaN(heap) ? "– (no JVM)" : String.format(Locale.ROOT, "**%.1f**", heap),
            medR(results, Idle.Result::rssSlopeKiB),
            medR(results, r -> r.last().rssKiB() / 1024.0),
            medR(results, r -> r.points().stream().mapToInt(Idle.Point::ok).sum())));
        for (int c : counts) md.append(String.format(Locale.ROOT, " | **%.1f**", medR(results, r -> r.idleCpuAt(c))));
        md.append(" | ").append(ratio(idleRatios(records, server, Idle.Result::upgradesPerSecond)));
        md.append(" | ").append(ratio(idleRatios(records, server, Idle.Result::rssSlopeKiB)));
        for (int c : counts) md.append(" | ").append(ratio(idleRatios(records, server, r -> r.idleCpuAt(c))));
        md.append(" |\n");
      }
      md.append("\nA ratio shows as – where go-hub's figure is 0 (e.g. no measurable idle CPU: then compare the"
          + " percentages).\n\n");
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

  /** Issue 11's numbers: stored messages per second and ack latency per store, fan-out against the reference. */
  private static void store(StringBuilder md, Runner run) {
    List<Runner.Record> records = run.records;
    md.append("## Room log: stored messages per second and ack latency (`store`)\n\n")
        .append(String.format(Locale.ROOT, "%d rooms × %d members: the first member of each room posts (at most %.0f"
            + " messages/s each, the server's rate limit raised to twice that; a faster room adds posters), the"
            + " others read. Parley acknowledges a message once its room log has stored it, so acks per second are"
            + " stored messages per second. Ack latency: from the message's intended send time to its ack (open"
            + " loop); delivery p99: to the readers' new_message. Parley CPU: the server process (with the embedded"
            + " store inside it); PostgreSQL CPU: its postmaster and backends; both per stored message. %s acknowledges"
            + " without a log (the version before it).%n%n",
            run.storeRooms, run.storeMembers, run.storeMaxPerSender, run.refJar == null ? "A reference" : run.refName))
        .append("| server | offered messages/s | n | stored (acked) /s | ack p50 ms | ack p99 ms | ack p99.9 ms"
            + " | ack max ms | delivery p99 ms | acks missing | deliveries missing | seq gaps | errors"
            + " | Parley CPU µs/message | PostgreSQL CPU µs/message |\n")
        .append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    List<String> storeServers = servers(records, "store");
    for (String server : storeServers) {
      for (double rate : rates(records, "store", server)) {
        List<Fanout.Step> steps = steps(records, "store", server, rate);
        md.append(String.format(Locale.ROOT,
            "| %s | %.0f | %d | **%.0f** | %.1f | **%.1f** | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %.1f | %s |%n",
            server, med(steps, Fanout.Step::offeredMessages), steps.size(),
            med(steps, s -> s.acked() / s.windowSeconds()), med(steps, Fanout.Step::ackP50),
            med(steps, Fanout.Step::ackP99), med(steps, Fanout.Step::ackP999), med(steps, Fanout.Step::ackMax),
            med(steps, Fanout.Step::p99), med(steps, s -> s.ackMissing()), med(steps, s -> s.missing()),
            med(steps, s -> s.seqGaps()), med(steps, s -> s.errors()),
            med(steps, s -> s.acked() > 0 ? s.serverCpu() / s.acked() * 1e6 : Double.NaN),
            steps.stream().allMatch(s -> s.storeCpu() == 0) ? "–" : String.format(Locale.ROOT, "%.1f",
                med(steps, s -> s.acked() > 0 ? s.storeCpu() / s.acked() * 1e6 : Double.NaN))));
      }
    }

    md.append("\n### Against issue 11's targets\n\n"
        + "Stored in full: the highest offered rate of a repetition whose every message was acknowledged (none"
        + " missing, no error, at least 97 % of the offered rate, ack p99 under 1 s), then the median over the"
        + " repetitions. Fan-out: Parley's server CPU per delivery divided by the reference's, in the same"
        + " repetition, then the median.\n\n"
        + "| target | server | measured | verdict |\n|---|---|---|---|\n");
    for (String server : storeServers) {
      if (server.equals(run.refName)) continue;
      List<Double> full = new ArrayList<>();
      for (int rep : reps(records)) {
        double best = 0;
        for (Runner.Record r : records) {
          Fanout.Step s = r.step();
          if (!r.scenario().equals("store") || !r.server().equals(server) || r.rep() != rep) continue;
          if (s.ackMissing() == 0 && s.errors() == 0 && s.acked() / s.windowSeconds() >= 0.97 * s.offeredMessages()
              && s.ackP99() < 1000) {
            best = Math.max(best, s.offeredMessages());
          }
        }
        if (records.stream().anyMatch(r -> r.scenario().equals("store") && r.server().equals(server) && r.rep() == rep)) {
          full.add(best);
        }
      }
      double stored = median(full);
      md.append(String.format(Locale.ROOT, "| stored messages/s per node ≥ 5,000 | %s | %.0f stored in full (n=%d) | %s |%n",
          server, stored, full.size(), stored >= 5000 ? "met" : "not met"));
      List<Fanout.Step> at1k = records.stream()
          .filter(r -> r.scenario().equals("store") && r.server().equals(server)
              && Math.abs(r.step().offeredMessages() - 1000) < 1)
          .map(Runner.Record::step).toList();
      double p99 = med(at1k, Fanout.Step::ackP99);
      md.append(String.format(Locale.ROOT, "| ack p99 at 1,000 messages/s ≤ 20 ms | %s | p50 %.1f ms, p99 %.1f ms (n=%d) | %s |%n",
          server, med(at1k, Fanout.Step::ackP50), p99, at1k.size(),
          at1k.isEmpty() ? "not measured" : p99 <= 20 ? "met" : "not met"));
    }
    for (double rate : rates(records, "fanout", "parley")) {
      List<Double> ratios = ratios(records, "fanout", "parley", "fanout", run.refName, rate, Report::cpuPerDelivery);
      if (ratios.isEmpty()) continue;
      double r = median(ratios);
      md.append(String.format(Locale.ROOT,
          "| fan-out %d × %d: CPU per delivery within 10 %% of the version before the log | parley ÷ %s at %.0f"
              + " deliveries/s | %s (%.2f ÷ %.2f µs) | %s |%n",
          run.rooms, run.members, run.refName, rate, ratio(ratios), med(steps(records, "fanout", "parley", rate), Report::cpuPerDelivery),
          med(steps(records, "fanout", run.refName, rate), Report::cpuPerDelivery), r <= 1.10 ? "met" : "not met"));
    }
    md.append('\n');
  }

  /** Server CPU per delivery in µs; NaN when nothing arrived. */
  static double cpuPerDelivery(Fanout.Step s) {
    return s.received() > 0 ? s.serverCpu() / s.received() * 1e6 : Double.NaN;
  }

  private static List<Idle.Result> idleResults(List<Runner.Record> records, String server) {
    return records.stream().filter(r -> r.scenario().equals("idle") && r.server().equals(server))
        .map(Runner.Record::idle).toList();
  }

  /** {@code f(server) / f(go-hub)} for each repetition that measured both (go-hub's figure not 0). */
  private static List<Double> idleRatios(List<Runner.Record> records, String server,
      ToDoubleFunction<Idle.Result> f) {
    List<Double> ratios = new ArrayList<>();
    for (Runner.Record a : records) {
      if (!a.scenario().equals("idle") || !a.server().equals(server)) continue;
      for (Runner.Record b : records) {
        if (b.scenario().equals("idle") && b.server().equals(Runner.GO_HUB) && b.rep() == a.rep()) {
          double y = f.applyAsDouble(b.idle());
          if (y > 0) ratios.add(f.applyAsDouble(a.idle()) / y);
        }
      }
    }
    return ratios;
  }

  private static double perBroadcast(Fanout.Step s, boolean all) {
    Map<String, Double> m = s.serverMetrics();
    double broadcasts = m.getOrDefault("parley_broadcasts_total", 0.0);
    double remote = m.getOrDefault("parley_fanout_messages_total{target=\"remote\"}", 0.0);
    double local = m.getOrDefault("parley_fanout_messages_total{target=\"local\"}", 0.0);
    if (broadcasts <= 0) return Double.NaN;
    return (all ? remote + local : remote) / broadcasts;
  }

  /** {@code f(a) / f(b)} at {@code rate} for each repetition that measured both (b's figure not 0). */
  private static List<Double> ratios(List<Runner.Record> records, String scenarioA, String a, String scenarioB,
      String b, double rate, ToDoubleFunction<Fanout.Step> f) {
    List<Double> ratios = new ArrayList<>();
    for (int rep : reps(records)) {
      Fanout.Step x = find(records, scenarioA, a, rep, rate);
      Fanout.Step y = find(records, scenarioB, b, rep, rate);
      if (x != null && y != null && f.applyAsDouble(y) > 0) ratios.add(f.applyAsDouble(x) / f.applyAsDouble(y));
    }
    return ratios;
  }

  private static String ratio(List<Double> ratios) {
    ratios = ratios.stream().filter(d -> !d.isNaN() && !d.isInfinite()).toList();
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

  private static double medR(List<Idle.Result> results, ToDoubleFunction<Idle.Result> f) {
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
