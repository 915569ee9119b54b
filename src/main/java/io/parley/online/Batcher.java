package io.parley.online;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits user ids into batches of at most {@link OnlineTracker#MAX_CHARS_PER_MESSAGE} characters
 * (one id always fits, however long), each with the ids now present and those now absent.
 */
final class Batcher {
  record Batch(List<String> present, List<String> absent) {}

  private final List<Batch> done = new ArrayList<>();
  private List<String> present = new ArrayList<>();
  private List<String> absent = new ArrayList<>();
  private int chars;

  void add(String user, boolean isPresent) {
    if (chars > 0 && chars + user.length() > OnlineTracker.MAX_CHARS_PER_MESSAGE) cut();
    (isPresent ? present : absent).add(user);
    chars += user.length();
  }

  /** The batches, in order: at least one, empty when nothing was added. */
  List<Batch> done() {
    if (done.isEmpty() || !present.isEmpty() || !absent.isEmpty()) cut();
    return done;
  }

  private void cut() {
    done.add(new Batch(present, absent));
    present = new ArrayList<>();
    absent = new ArrayList<>();
    chars = 0;
  }
}
