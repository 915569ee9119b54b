package io.parley.room;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A room's idempotency keys (server API publishes): the first result of each recent key, and
 * for each key in flight (being looked up in the log, or its first publish being stored) the
 * publishes waiting for that outcome, so that a key is never appended twice. The log is the truth;
 * this is what the room already knows of it. Plain state, owned by one {@link RoomActor}.
 */
final class PublishKeys {
  /** Results kept in memory; older ones are read back from the log. */
  static final int REMEMBERED = 1024;

  private record Result(RoomActor.Published published, Instant at) {}

  private final Duration window;
  private final Map<String, Result> results = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Result> eldest) {
      return size() > REMEMBERED;
    }
  };
  private final Map<String, List<RoomActor.Publish>> inFlight = new HashMap<>();

  /** @param window how long a key holds ({@code idempotencyFor} of the log) */
  PublishKeys(Duration window) {
    this.window = window;
  }

  /** The first result of {@code key}, when known here and within the window. */
  Optional<RoomActor.Published> known(String key) {
    Result result = results.get(key);
    if (result == null || result.at().plus(window).isBefore(Instant.now())) return Optional.empty();
    return Optional.of(result.published());
  }

  /**
   * {@code publish} waits for the outcome of its key. True when it is the first to: the room
   * then looks the key up in the log.
   */
  boolean await(RoomActor.Publish publish) {
    List<RoomActor.Publish> waiting = inFlight.computeIfAbsent(publish.idempotencyKey(), key -> new ArrayList<>());
    waiting.add(publish);
    return waiting.size() == 1;
  }

  /** The publish the room stores for a key that the log does not know: the first that waited. */
  RoomActor.Publish first(String key) {
    return inFlight.get(key).get(0);
  }

  /** The key's first result is known: remembered, and returned to every publish that waited. */
  List<RoomActor.Publish> settle(String key, RoomActor.Published published) {
    results.put(key, new Result(published, Instant.now()));
    return release(key);
  }

  /** The key's outcome is not known (the store failed): the publishes that waited, forgotten. */
  List<RoomActor.Publish> release(String key) {
    List<RoomActor.Publish> waiting = inFlight.remove(key);
    return waiting == null ? List.of() : waiting;
  }

  /** No key in flight. */
  boolean idle() {
    return inFlight.isEmpty();
  }
}
