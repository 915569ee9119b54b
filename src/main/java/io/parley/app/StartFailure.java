package io.parley.app;

import java.util.List;

/**
 * Why a node cannot start, as lines for the person who started it: each names what is wrong and
 * the setting that fixes it. Main prints them, without a stack trace, and exits with status 1.
 */
public final class StartFailure extends RuntimeException {
  private final List<String> lines;

  public StartFailure(List<String> lines) {
    super(String.join("; ", lines));
    this.lines = List.copyOf(lines);
  }

  public StartFailure(String line, Throwable cause) {
    super(line, cause);
    this.lines = List.of(line);
  }

  public List<String> lines() {
    return lines;
  }
}
