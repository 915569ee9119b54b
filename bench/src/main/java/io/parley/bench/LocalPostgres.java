package io.parley.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL for a Parley cluster under test, from Debian's {@code postgresql} package, as
 * scripts/cluster.sh runs it: a fresh data folder, 127.0.0.1 only, a port of its own, trust
 * authentication, and a database {@code parley}. PostgreSQL refuses to run as root: as root, its
 * files and process belong to {@code postgres}. {@link #stop} stops it; so does a shutdown hook.
 */
final class LocalPostgres implements AutoCloseable {
  private final Path bin;
  private final Path data;
  private final int port;

  private LocalPostgres(Path bin, Path data, int port) {
    this.bin = bin;
    this.data = data;
    this.port = port;
  }

  static LocalPostgres start(Path dir, int port) throws IOException {
    Path bin;
    try (var versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      bin = versions.map(version -> version.resolve("bin")).filter(Files::isDirectory)
          .max(Comparator.comparing(Path::toString))
          .orElseThrow(() -> new IOException("no PostgreSQL under /usr/lib/postgresql"));
    } catch (IOException e) {
      throw new IOException("a Parley cluster shares a PostgreSQL: apt-get install postgresql", e);
    }
    Files.createDirectories(dir);
    Path data = dir.toAbsolutePath().resolve("data");
    LocalPostgres pg = new LocalPostgres(bin, data, port);
    if (root()) pg.run(List.of("chown", "postgres:", dir.toAbsolutePath().toString()), false);
    if (!Files.exists(data.resolve("PG_VERSION"))) {
      pg.run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust",
          "-E", "UTF8", "--locale=C.UTF-8"), true);
    }
    pg.run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.toAbsolutePath().resolve("log").toString(),
        "-w", "-t", "60", "-o", "-c listen_addresses=127.0.0.1 -p " + port + " -k " + dir.toAbsolutePath()
           , "start"), true);
    Runtime.getRuntime().addShutdownHook(new Thread(pg::close));
    pg.run(List.of(bin.resolve("psql").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres",
        "-q", "-c", "create database parley"), true);
    return pg;
  }

  /** The JDBC URL the nodes get as PARLEY_DB_URL (PARLEY_DB_USER=postgres). */
  String url() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/parley";
  }

  @Override
  public void close() {
    try {
      if (Files.exists(data.resolve("postmaster.pid"))) {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"), true);
      }
    } catch (IOException e) {
      System.err.println("stopping PostgreSQL: " + e.getMessage());
    }
  }

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  private void run(List<String> command, boolean asPostgres) throws IOException {
    List<String> full = new ArrayList<>();
    if (asPostgres && root()) full.addAll(List.of("runuser", "-u", "postgres", "--"));
    full.addAll(command);
    Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!process.waitFor(90, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", command) + " failed: " + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
