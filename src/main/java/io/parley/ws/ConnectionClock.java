package io.parley.ws;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * The timing of every WebSocket on this node, in one task: a timing wheel that, once per tick,
 * looks only at the connections with a deadline in that tick (next ping, idle close, stalled
 * write, unanswered close), and wakes those for which one is due. A connection has no timer of
 * its own; an idle one is looked at and woken once per ping interval, to ping.
 */
final class ConnectionClock implements Extension {
  /** A deadline that is not set. */
  static final long NONE = Long.MIN_VALUE;
  private static final Duration MAX_TICK = Duration.ofMillis(500);
  private static final Duration MIN_TICK = Duration.ofMillis(10);
  private static final int SLOTS = 512;

  /** A connection the clock watches. */
  abstract static class Watched {
    // the deadline of this connection's live entry in the wheel; older entries are dropped
    private final AtomicLong queuedFor = new AtomicLong(NONE);

    /**
     * On the clock's thread, at or after a deadline it asked for: wakes the connection if one of
     * its deadlines is due, and returns its next deadline (NONE when it has none left).
     */
    abstract long check(long now);
  }

  private record Entry(Watched connection, long deadline) {}

  private static final Id ID = new Id();

  private final ActorSystem system;
  @SuppressWarnings("unchecked")
  private final Queue<Entry>[] slots = new Queue[SLOTS];
  private final long origin = System.nanoTime();
  // the tick in use: only ever shortened, when a connection needs finer timing
  private volatile long tickNanos = Long.MAX_VALUE;
  private Cancellable task;
  // clock thread only: the next tick to look at
  private long cursor;

  private ConnectionClock(ActorSystem system) {
    this.system = system;
    for (int i = 0; i < SLOTS; i++) slots[i] = new ConcurrentLinkedQueue<>();
  }

  static ConnectionClock get(ActorSystem system) {
    return ID.get(system);
  }

  /** The tick that keeps {@code shortest} (the shortest timeout of a connection) to within 10 %. */
  static Duration tickFor(Duration shortest) {
    Duration tenth = shortest.dividedBy(10);
    return tenth.compareTo(MAX_TICK) > 0 ? MAX_TICK : tenth.compareTo(MIN_TICK) < 0 ? MIN_TICK : tenth;
  }

  /** Starts the clock with a tick at least this fine. */
  synchronized void ensureTick(Duration tick) {
    if (tick.toNanos() >= tickNanos) return;
    if (task != null) task.cancel();
    tickNanos = tick.toNanos();
    cursor = (System.nanoTime() - origin) / tickNanos;
    // entries were placed for the old tick: put them where the new one finds them
    List<Entry> all = new ArrayList<>();
    for (Queue<Entry> slot : slots) {
      for (Entry e = slot.poll(); e != null; e = slot.poll()) all.add(e);
    }
    for (Entry e : all) slotOf(e.deadline()).add(e);
    task = system.scheduler().scheduleWithFixedDelay(tick, tick, this::tick, system.dispatchers().internalDispatcher());
  }

  /** Looks at {@code connection} at {@code deadline}, unless it is already due to be looked at earlier. */
  void wakeAt(Watched connection, long deadline) {
    // never in a tick the wheel may have passed already
    deadline = Math.max(deadline, System.nanoTime() + tickNanos);
    while (true) {
      long queued = connection.queuedFor.get();
      if (queued != NONE && queued - deadline <= 0) return;
      if (connection.queuedFor.compareAndSet(queued, deadline)) {
        slotOf(deadline).add(new Entry(connection, deadline));
        return;
      }
    }
  }

  /** The connection is gone: its entries are dropped when their tick comes. */
  void forget(Watched connection) {
    connection.queuedFor.set(NONE);
  }

  private long tickOf(long nanoTime) {
    return Math.max(0, (nanoTime - origin + tickNanos - 1) / tickNanos);
  }

  private Queue<Entry> slotOf(long deadline) {
    return slots[(int) (tickOf(deadline) % SLOTS)];
  }

  private synchronized void tick() {
    long now = System.nanoTime();
    long current = (now - origin) / tickNanos;
    List<Entry> later = new ArrayList<>();
    for (; cursor <= current; cursor++) {
      Queue<Entry> slot = slots[(int) (cursor % SLOTS)];
      for (Entry e = slot.poll(); e != null; e = slot.poll()) {
        if (tickOf(e.deadline()) > cursor) {
          later.add(e); // a later turn of the wheel
        } else if (e.connection().queuedFor.compareAndSet(e.deadline(), NONE)) {
          long next = e.connection().check(now);
          if (next != NONE) wakeAt(e.connection(), next);
        }
        // else: a stale entry (an earlier one replaced it, or the connection is gone)
      }
      slot.addAll(later);
      later.clear();
    }
  }

  private static final class Id extends AbstractExtensionId<ConnectionClock> {
    @Override
    public ConnectionClock createExtension(ExtendedActorSystem system) {
      return new ConnectionClock(system);
    }
  }
}
