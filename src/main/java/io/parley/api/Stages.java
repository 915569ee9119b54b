package io.parley.api;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Pekko's CompletionStages (asks, toStrict) are Scala futures seen through Scala's converter,
 * whose {@code thenApply}, {@code thenCompose}, {@code whenComplete} and {@code exceptionally}
 * run their function asynchronously on the common pool. With fewer than three CPUs the common
 * pool has one thread, and CompletableFuture then starts a new thread for each such function:
 * several threads per API call, measured as most of a call's cost here (bench/run.sh publish).
 * A stage passed through {@link #plain} completes a plain CompletableFuture on the thread that
 * completes it, and what is chained on that runs there too, as Pekko's own callbacks do.
 */
final class Stages {
  /** Runs a completion on the thread that completed the stage (the functions chained are short). */
  private static final Executor COMPLETING_THREAD = Runnable::run;

  private Stages() {}

  static <T> CompletableFuture<T> plain(CompletionStage<T> stage) {
    CompletableFuture<T> plain = new CompletableFuture<>();
    stage.whenCompleteAsync((value, failure) -> {
      if (failure == null) plain.complete(value);
      else plain.completeExceptionally(failure);
    }, COMPLETING_THREAD);
    return plain;
  }
}
