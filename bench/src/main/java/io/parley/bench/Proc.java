package io.parley.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the kernel and the JVM tell about a process: CPU time, RSS, heap after a forced GC. */
final class Proc {
  private Proc() {}

  /** USER_HZ: clock ticks per second of utime/stime in /proc/PID/stat (100 on Linux). */
  static final double TICKS = clockTicks();

  private static double clockTicks() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
      p.waitFor(5, TimeUnit.SECONDS);
      return Double.parseDouble(out);
    } catch (Exception e) {
      return 100.0;
    }
  }

  /** utime + stime of the process, in seconds (all its threads, GC and JIT included). */
  static double cpuSeconds(long pid) {
    String[] f = stat(pid);
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS;
  }

  /**
   * CPU of a process and everything it started, in seconds: its own utime + stime, its reaped
   * children's (cutime + cstime), and those of its live descendants. A child that ends between two
   * readings moves from the live ones to the reaped ones, so the sum only grows (e.g. PostgreSQL's
   * postmaster and its backends).
   */
  static double treeCpuSeconds(long pid) {
    String[] f = stat(pid);
    double sum = (Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]))
        / TICKS;
    for (ProcessHandle child : ProcessHandle.of(pid).map(p -> p.descendants().toList()).orElse(List.of())) {
      try {
        sum += cpuSeconds(child.pid());
      } catch (IllegalStateException ended) {
        // ended since it was listed: its parent counts it once reaped
      }
    }
    return sum;
  }

  /** /proc/PID/stat's fields after the ")" that closes the command name (state, field 3, first). */
  private static String[] stat(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      // utime is field 14 (index 11 here), stime 15, cutime 16, cstime 17
      return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc/" + pid + "/stat", e);
    }
  }

  static double cpuSeconds(List<Long> pids) {
    double sum = 0;
    for (long pid : pids) sum += cpuSeconds(pid);
    return sum;
  }

  static double selfCpuSeconds() {
    return cpuSeconds(ProcessHandle.current().pid());
  }

  /** Resident set size in KiB. */
  static long rssKiB(long pid) {
    return status(pid, "VmRSS:");
  }

  static int threads(long pid) {
    return (int) status(pid, "Threads:");
  }

  /** The number on the line of /proc/PID/status that starts with {@code field}, or -1. */
  private static long status(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith(field)) return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return -1;
  }

  static int openFiles(long pid) {
    String[] fds = Path.of("/proc/" + pid + "/fd").toFile().list();
    return fds == null ? -1 : fds.length;
  }

  private static final Pattern USED = Pattern.compile("used (\\d+)K");

  /** Heap used after two forced full GCs (jcmd GC.run), in KiB. */
  static long heapAfterGcKiB(long pid) {
    jcmd(pid, "GC.run");
    sleep(300);
    jcmd(pid, "GC.run");
    sleep(300);
    String info = jcmd(pid, "GC.heap_info");
    Matcher m = USED.matcher(info);
    if (!m.find()) throw new IllegalStateException("no heap figure in: " + info);
    return Long.parseLong(m.group(1));
  }

  /** jcmd's output; a jcmd that hangs is killed after 60 s (its output then is what it wrote). */
  static String jcmd(long pid, String... command) {
    try {
      String[] cmd = new String[command.length + 2];
      cmd[0] = "jcmd";
      cmd[1] = Long.toString(pid);
      System.arraycopy(command, 0, cmd, 2, command.length);
      Path output = Files.createTempFile("jcmd", ".txt");
      try {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          p.waitFor(5, TimeUnit.SECONDS);
        }
        return Files.readString(output);
      } finally {
        Files.deleteIfExists(output);
      }
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException("jcmd " + String.join(" ", command), e);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
