package io.parley.room;

import io.parley.history.RoomLog;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a room knows of its log: its epoch, the last seq stored, and its newest stored messages
 * (at most {@code cacheSize}), from which most joins, recoveries and history requests are served
 * without asking the store. Plain state, owned by one {@link RoomActor}.
 */
final class RoomHistory {
  private final String epoch;
  private final int cacheSize;
  private final Deque<RoomLog.Message> newest;
  private final Map<String, Long> seqById = new HashMap<>();
  /** True while {@link #newest} holds every kept message (the room has no more than that). */
  private boolean complete;
  private long stored;

  RoomHistory(RoomLog.Room room, int cacheSize) {
    this.epoch = room.epoch();
    this.cacheSize = cacheSize;
    this.stored = room.lastSeq();
    this.newest = new ArrayDeque<>(room.newest());
    this.complete = room.newest().size() < cacheSize;
    room.newest().forEach(message -> seqById.put(message.id(), message.seq()));
  }

  String epoch() {
    return epoch;
  }

  /** The last seq stored; 0 when the room has none. */
  long stored() {
    return stored;
  }

  /** A message was stored (in seq order). */
  void add(RoomLog.Message message) {
    stored = message.seq();
    newest.addLast(message);
    seqById.put(message.id(), message.seq());
    if (newest.size() > cacheSize) {
      seqById.remove(newest.removeFirst().id());
      complete = false;
    }
  }

  /** The seq of a recent stored message with this id (a request sent again after a move). */
  Optional<Long> seqOf(String messageId) {
    return Optional.ofNullable(seqById.get(messageId));
  }

  /** The newest {@code limit}, oldest first, when known here. */
  Optional<List<RoomLog.Message>> newest(int limit) {
    if (limit > newest.size() && !complete) return Optional.empty();
    List<RoomLog.Message> list = new ArrayList<>(newest);
    return Optional.of(list.subList(Math.max(0, list.size() - limit), list.size()));
  }

  /** At most {@code limit} after {@code seq}, oldest first, when known here. */
  Optional<List<RoomLog.Message>> after(long seq, int limit) {
    if (!complete && (newest.isEmpty() || newest.getFirst().seq() > seq + 1) && seq < stored) {
      return Optional.empty();
    }
    List<RoomLog.Message> list = new ArrayList<>(Math.min(limit, newest.size()));
    for (RoomLog.Message message : newest) {
      if (message.seq() > seq && list.size() < limit) list.add(message);
    }
    return Optional.of(list);
  }

  /** At most {@code limit} before {@code seq}, oldest first, when known here. */
  Optional<List<RoomLog.Message>> before(long seq, int limit) {
    List<RoomLog.Message> list = new ArrayList<>(Math.min(limit, newest.size()));
    Iterator<RoomLog.Message> descending = newest.descendingIterator();
    while (descending.hasNext() && list.size() < limit) {
      RoomLog.Message message = descending.next();
      if (message.seq() < seq) list.add(0, message);
    }
    boolean reachesBack = complete || list.size() == limit
        || !newest.isEmpty() && newest.getFirst().seq() == 1;
    return reachesBack ? Optional.of(list) : Optional.empty();
  }

  /** Whether {@code messages} are exactly every seq in ({@code after}, {@code upTo}]. */
  static boolean contiguous(List<RoomLog.Message> messages, long after, long upTo) {
    long expected = after + 1;
    for (RoomLog.Message message : messages) {
      if (message.seq() != expected++) return false;
    }
    return expected == upTo + 1;
  }
}
