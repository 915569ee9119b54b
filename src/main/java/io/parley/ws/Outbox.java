package io.parley.ws;

import io.micrometer.core.instrument.Counter;
import java.util.Iterator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The sending side of one connection: a thread-safe queue in front of its socket, filled by any
 * number of actors and emptied by the socket's stream. Everything sent, in whatever lane, reaches
 * the socket in one FIFO order. The lanes differ only in what happens when the socket falls
 * behind (docs/protocol.md, "Limits", the outgoing buffer):
 *
 * <ul>
 *   <li>{@link #send}: a broadcast frame. At most {@code buffer} of them wait; one that does not
 *       fit is dropped and counted for this connection only, so a slow client never holds up
 *       whoever is sending to it.
 *   <li>{@link #reply}: an answer to the connection's own request, never dropped. The rate limit
 *       bounds how many can wait; beyond {@link #MAX_WAITING_REPLIES}, which no client that obeys
 *       it reaches, the connection is closed with 1008.
 *   <li>{@link #replay}: missed messages, never dropped and as many as the list holds; they go out
 *       as fast as the socket takes them, one at a time, so a long replay holds no more memory
 *       than its list.
 * </ul>
 */
public final class Outbox {
  /** Replies waiting for one socket beyond which it is closed (1008). */
  public static final int MAX_WAITING_REPLIES = 4096;

  private record Reply(OutFrame frame) {}

  private record Replay(List<OutFrame> frames) {}

  private final int buffer;
  private final Counter droppedTotal;
  private final Runnable wakeUp;
  // OutFrame (a broadcast), Reply or Replay
  private final Queue<Object> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger broadcasts = new AtomicInteger();
  private final AtomicInteger replies = new AtomicInteger();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicReference<CloseSignal> closing = new AtomicReference<>();
  private final AtomicBoolean consumerWaiting = new AtomicBoolean();
  private volatile boolean ended;
  // consumer side only: the replay being sent
  private Iterator<OutFrame> replaying;

  /**
   * @param buffer broadcast frames that may wait before further ones are dropped
   * @param droppedTotal the node-wide counter that every connection's drops also go to
   * @param wakeUp run (on the producer's thread) when frames or a close arrive for a consumer
   *     whose last {@link #poll} found nothing, and on {@link #close}
   */
  Outbox(int buffer, Counter droppedTotal, Runnable wakeUp) {
    this.buffer = buffer;
    this.droppedTotal = droppedTotal;
    this.wakeUp = wakeUp;
  }

  /**
   * A source of the frames sent to the outbox it materializes to. It fails with a {@link
   * CloseSignal} when the outbox is closed.
   *
   * @param buffer broadcast frames that may wait before further ones are dropped
   * @param droppedTotal the node-wide counter that every connection's drops also go to
   */
  public static Source<OutFrame, Outbox> source(int buffer, Counter droppedTotal) {
    return Source.fromGraph(new OutboxSource(buffer, droppedTotal));
  }

  /**
   * Queues a broadcast frame for the socket. False when it was not queued: dropped because {@code
   * buffer} of them wait already (counted), or the socket is closed (not counted).
   */
  public boolean send(OutFrame frame) {
    if (ended) return false;
    if (broadcasts.incrementAndGet() > buffer) {
      broadcasts.decrementAndGet();
      dropped.incrementAndGet();
      droppedTotal.increment();
      return false;
    }
    return enqueue(frame);
  }

  /**
   * Queues a reply to the connection's own request; never dropped. False when the socket is
   * closed, or when {@link #MAX_WAITING_REPLIES} wait already: then it is being closed with 1008.
   */
  public boolean reply(OutFrame frame) {
    if (ended) return false;
    if (replies.incrementAndGet() > MAX_WAITING_REPLIES) {
      replies.decrementAndGet();
      close(CloseCodes.POLICY_VIOLATION, "too many replies waiting");
      return false;
    }
    return enqueue(new Reply(frame));
  }

  /**
   * Queues replayed frames, in order; never dropped, however many. The list must not be changed
   * afterwards. False when the socket is closed.
   */
  public boolean replay(List<OutFrame> frames) {
    if (ended) return false;
    return frames.isEmpty() || enqueue(new Replay(frames));
  }

  /** Broadcast frames dropped for this connection so far. */
  public long dropped() {
    return dropped.get();
  }

  /** Closes the socket with this code; frames still queued are discarded. Later calls do nothing. */
  public void close(int code, String reason) {
    if (!ended && closing.compareAndSet(null, new CloseSignal(code, reason))) wakeUp.run();
  }

  private boolean enqueue(Object entry) {
    queue.add(entry);
    if (consumerWaiting.get() && consumerWaiting.compareAndSet(true, false)) wakeUp.run();
    return true;
  }

  // ---- consumer side: one thread at a time, the socket's stream ----------------------------------

  /** The close asked for, if any: it goes before every frame still queued. */
  CloseSignal closing() {
    return closing.get();
  }

  /**
   * The next frame for the socket, or null when none waits: then {@code wakeUp} runs when the next
   * one arrives. A wake-up can also come when a frame was found after all; the consumer just polls.
   */
  OutFrame poll() {
    OutFrame next = take();
    if (next != null) return next;
    consumerWaiting.set(true);
    // a frame queued before the flag was up woke nobody
    next = take();
    if (next != null) consumerWaiting.set(false);
    return next;
  }

  private OutFrame take() {
    if (replaying != null) {
      if (replaying.hasNext()) return replaying.next();
      replaying = null;
    }
    Object entry = queue.poll();
    if (entry == null) return null;
    if (entry instanceof OutFrame frame) {
      broadcasts.decrementAndGet();
      return frame;
    }
    if (entry instanceof Reply reply) {
      replies.decrementAndGet();
      return reply.frame();
    }
    replaying = ((Replay) entry).frames().iterator();
    return replaying.next();
  }

  /** The socket is gone: nothing more is queued, and what waits is let go. */
  void end() {
    ended = true;
    replaying = null;
    queue.clear();
  }
}
