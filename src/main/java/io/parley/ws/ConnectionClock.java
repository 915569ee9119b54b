package io.parley.ws;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * The timing of every WebSocket on this node, in one task: once per tick it looks at each
 * connection's deadlines (next ping, idle close, stalled write, unanswered close) and wakes only
 * the connections that have one due. An idle connection has no timer of its own and is woken
 * once per ping interval, to ping.
 */
final class ConnectionClock implements Extension {
  /** Finest tick: timeouts are kept to within this (or a tenth of the shortest timeout). */
  private static final Duration MAX_TICK = Duration.ofMillis(500);
  private static final Duration MIN_TICK = Duration.ofMillis(10);

  /** A connection the clock watches; {@link #check} runs on the clock's thread. */
  interface Watched {
    /** Wakes the connection if one of its deadlines is at or before {@code now} (nanoTime). */
    void check(long now);
  }

  private static final Id ID = new Id();

  private final ActorSystem system;
  private final Set<Watched> watched = ConcurrentHashMap.newKeySet();
  // the tick in use: only ever shortened, when a connection needs finer timing
  private Duration tick;
  private Cancellable task;

  private ConnectionClock(ActorSystem system) {
    this.system = system;
  }

  static ConnectionClock get(ActorSystem system) {
    return ID.get(system);
  }

  /** The tick that keeps {@code shortest} (the shortest timeout of a connection) to within 10 %. */
  static Duration tickFor(Duration shortest) {
    Duration tenth = shortest.dividedBy(10);
    return tenth.compareTo(MAX_TICK) > 0 ? MAX_TICK : tenth.compareTo(MIN_TICK) < 0 ? MIN_TICK : tenth;
  }

  void register(Watched connection, Duration neededTick) {
    watched.add(connection);
    synchronized (this) {
      if (tick == null || neededTick.compareTo(tick) < 0) {
        if (task != null) task.cancel();
        tick = neededTick;
        task = system.scheduler().scheduleWithFixedDelay(
            tick, tick, this::tick, system.dispatchers().internalDispatcher());
      }
    }
  }

  void unregister(Watched connection) {
    watched.remove(connection);
  }

  private void tick() {
    long now = System.nanoTime();
    for (Watched connection : watched) connection.check(now);
  }

  private static final class Id extends AbstractExtensionId<ConnectionClock> {
    @Override
    public ConnectionClock createExtension(ExtendedActorSystem system) {
      return new ConnectionClock(system);
    }
  }
}
