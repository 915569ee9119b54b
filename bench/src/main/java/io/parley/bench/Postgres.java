package io.parley.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL from Debian's {@code postgresql} package, for the scenarios whose Parley
 * keeps its room log there (a cluster, the PostgreSQL store). PostgreSQL refuses to run as root,
 * so as root its files and processes belong to the {@code postgres} user (as in
 * scripts/cluster.sh). Durability is PostgreSQL's default (fsync and synchronous_commit on), as a
 * production server has it. Each caller gets a database of its own ({@link #createDatabase}); the
 * server and its directory go at {@link #close} (a shutdown hook too).
 */
final class Postgres implements AutoCloseable {
  private final Path bin;
  private final Path dir;
  private final String host;
  private final int port;
  private final Path pidFile;
  private final long pid;
  private final Thread hook = new Thread(this::stop);
  private boolean stopped;

  private Postgres(Path bin, Path dir, String host, int port, Path pidFile) throws IOException {
    this.bin = bin;
    this.dir = dir;
    this.host = host;
    this.port = port;
    this.pidFile = pidFile;
    Runtime.getRuntime().addShutdownHook(hook);
    this.pid = Long.parseLong(Files.readAllLines(dir.resolve("data/postmaster.pid")).get(0).trim());
    Files.writeString(pidFile, Long.toString(pid)); // bench/run.sh's trap kills it if all else fails
  }

  /**
   * initdb in {@code dir} (emptied first: whatever a crashed run left) and start on {@code
   * host:port}; {@code pidDir} gets the postmaster's pid file.
   */
  static Postgres start(Path dir, String host, int port, Path pidDir) throws IOException {
    Path bin = binaries();
    if (Files.exists(dir.resolve("data/postmaster.pid"))) {
      run(true, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "-w",
          "stop");
    }
    Servers.deleteRecursively(dir);
    Files.createDirectories(dir);
    if (root()) run(false, "chown", "postgres:", dir.toString());
    run(true, bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", "postgres", "-A", "trust",
        "-E", "UTF8", "--locale=C.UTF-8");
    run(true, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l",
        dir.resolve("log").toString(), "-w", "-t", "60", "-o",
        "-c listen_addresses=" + host + " -p " + port + " -k " + dir + " -c max_connections=50 -c shared_buffers=256MB",
        "start");
    return new Postgres(bin, dir, host, port, pidDir.resolve("postgres.pid"));
  }

  /** The newest installed server's binaries, or a clear failure. */
  private static Path binaries() {
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      return versions.filter(v -> v.getFileName().toString().matches("\\d+"))
          .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())))
          .map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("pg_ctl"))).orElseThrow();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("PostgreSQL is not installed (apt-get install postgresql)");
    }
  }

  /** The postmaster: its CPU and that of its backends is the store's ({@link Proc#treeCpuSeconds}). */
  long pid() {
    return pid;
  }

  /** A new, empty database; returns its JDBC URL (user postgres, no password). */
  String createDatabase(String name) throws IOException {
    run(false, bin.resolve("psql").toString(), "-h", host, "-p", Integer.toString(port), "-U", "postgres", "-qAt",
        "-c", "create database " + name);
    return "jdbc:postgresql://" + host + ":" + port + "/" + name;
  }

  @Override
  public void close() {
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs (or ran) stop() anyway
    }
  }

  private synchronized void stop() {
    if (stopped) return;
    stopped = true;
    try {
      run(true, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w", "stop");
      Files.deleteIfExists(pidFile);
      Servers.deleteRecursively(dir);
    } catch (IOException | RuntimeException e) {
      System.err.println("stopping PostgreSQL in " + dir + ": " + e);
    }
  }

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  /** Runs a command (as the postgres user when {@code asPostgres} and we are root), at most 2 min. */
  private static void run(boolean asPostgres, String... command) throws IOException {
    List<String> cmd = new ArrayList<>();
    if (asPostgres && root()) cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    cmd.addAll(List.of(command));
    Path output = Files.createTempFile("pg", ".txt");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + ": no answer within 120 s");
      }
      if (p.exitValue() != 0) {
        throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): "
            + Files.readString(output, StandardCharsets.UTF_8).trim());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } finally {
      Files.deleteIfExists(output);
    }
  }
}
