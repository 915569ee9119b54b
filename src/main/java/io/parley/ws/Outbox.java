package io.parley.ws;

import io.micrometer.core.instrument.Counter;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;

/**
 * The sending side of one connection: a bounded, thread-safe queue in front of its socket. A
 * frame that does not fit is dropped and counted for this connection only, so a slow client never
 * holds up whoever is sending to it.
 */
public final class Outbox {
  private final BoundedSourceQueue<OutFrame> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final Counter droppedTotal;

  /** {@code droppedTotal} is the node-wide counter that every connection's drops also go to. */
  public Outbox(BoundedSourceQueue<OutFrame> queue, Counter droppedTotal) {
    this.queue = queue;
    this.droppedTotal = droppedTotal;
  }

  /**
   * Queues a frame for the socket. False when it was not queued: dropped because the queue is
   * full (counted), or the socket is already closed (not counted).
   */
  public boolean send(OutFrame frame) {
    QueueOfferResult result = queue.offer(frame);
    if (result == QueueOfferResult.enqueued()) return true;
    if (result == QueueOfferResult.dropped()) {
      dropped.incrementAndGet();
      droppedTotal.increment();
    }
    return false;
  }

  public long dropped() {
    return dropped.get();
  }

  /** Closes the socket with this code; frames still queued are discarded. */
  public void close(int code, String reason) {
    try {
      queue.fail(new CloseSignal(code, reason));
    } catch (IllegalStateException alreadyClosed) {
      // the socket is closing or closed already
    }
  }
}
