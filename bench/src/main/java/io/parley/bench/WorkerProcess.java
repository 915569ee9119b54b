package io.parley.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@link Worker} process: one command line in, one answer line out. */
final class WorkerProcess implements AutoCloseable {
  private final Servers servers;
  private final String tag;
  private final Process process;
  private final PrintWriter in;
  private final BufferedReader out;

  WorkerProcess(Servers servers, String tag) throws Exception {
    this.servers = servers;
    this.tag = tag;
    this.process = servers.startWorker(tag);
    this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
    this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /** Sends one command; the answer arrives on another thread. */
  CompletableFuture<String> ask(String command) {
    in.println(command);
    return CompletableFuture.supplyAsync(this::readLine);
  }

  /** One command and its answer, waiting at most {@code seconds}. */
  String call(String command, long seconds) throws Exception {
    return ask(command).get(seconds, TimeUnit.SECONDS);
  }

  private String readLine() {
    try {
      String line = out.readLine();
      return line == null ? "worker ended" : line;
    } catch (Exception e) {
      return "worker failed: " + e;
    }
  }

  /** {@code name=value} from an answer line, or the fallback. */
  static String field(String line, String name, String fallback) {
    Matcher m = Pattern.compile("(?:^| )" + name + "=(\\S+)").matcher(line);
    return m.find() ? m.group(1) : fallback;
  }

  static long number(String line, String name) {
    String v = field(line, name, null);
    if (v == null) throw new IllegalStateException("no " + name + " in the worker's answer: " + line);
    return Long.parseLong(v);
  }

  /** Resets every socket, then ends the process (forcibly if it does not end in 10 s). */
  @Override
  public void close() {
    try {
      call("close", 60);
      in.println("quit");
      if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
    } catch (Exception e) {
      process.destroyForcibly();
    }
    servers.workerStopped(tag);
  }
}
