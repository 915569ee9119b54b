package io.parley.online;

import java.util.HashSet;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What one node's tracker knows of another node: its users and connection count as of that
 * node's batch {@link #seq}, and the snapshot it may be receiving. Every change to its users is
 * also made to the tracker's {@link OnlineUsers}.
 */
final class PeerView {
  /** What became of a batch. */
  enum Batch { APPLIED, IGNORED, MISSED_SOME }

  final ActorRef<OnlineTracker.Command> tracker;
  private final OnlineUsers online;
  private Set<String> users = new HashSet<>();
  private long connections;
  private long seq;
  /** False until a snapshot arrived, and again from a missed batch until the next snapshot. */
  private boolean synced;
  /** Snapshot requests since the last snapshot, for the backoff. */
  private int requests;
  /** The snapshot being received, and the part expected next. */
  private Set<String> incoming;
  private int nextPart;

  PeerView(ActorRef<OnlineTracker.Command> tracker, OnlineUsers online) {
    this.tracker = tracker;
    this.online = online;
  }

  long connections() {
    return connections;
  }

  long seq() {
    return seq;
  }

  boolean synced() {
    return synced;
  }

  /** A snapshot was asked for: until it comes, batches are ignored. Returns the requests so far. */
  int snapshotRequested() {
    synced = false;
    return requests++;
  }

  /** Applies the batch after the last one applied; older ones and any before a snapshot are ignored. */
  Batch apply(OnlineTracker.Changes changes) {
    if (!synced || changes.seq() <= seq) return Batch.IGNORED;
    if (changes.seq() > seq + 1) return Batch.MISSED_SOME;
    for (String user : changes.arrived()) if (users.add(user)) online.arrived(user);
    for (String user : changes.left()) if (users.remove(user)) online.left(user);
    seq = changes.seq();
    connections = changes.connections();
    return Batch.APPLIED;
  }

  /** Whether the node has sent batches this view has not seen. */
  boolean isBehind(long lastSeq) {
    return synced && lastSeq > seq;
  }

  /**
   * Takes a snapshot part; true when it completed a snapshot, which then replaces what was
   * known. Parts arrive in order (one sender, one receiver), so a part out of order means one
   * was lost: the assembly is dropped, and the tracker asks again.
   */
  boolean add(OnlineTracker.Snapshot part) {
    if (part.part() == 0) {
      incoming = new HashSet<>();
      nextPart = 0;
    }
    if (incoming == null || part.part() != nextPart) {
      incoming = null;
      return false;
    }
    incoming.addAll(part.users());
    if (++nextPart < part.parts()) return false;
    Set<String> snapshot = incoming;
    incoming = null;
    if (synced && part.seq() < seq) return false;
    for (String user : users) if (!snapshot.contains(user)) online.left(user);
    for (String user : snapshot) if (!users.contains(user)) online.arrived(user);
    users = snapshot;
    seq = part.seq();
    connections = part.connections();
    synced = true;
    requests = 0;
    return true;
  }

  /** The node is gone: its users leave. */
  void drop() {
    for (String user : users) online.left(user);
    users = Set.of();
    connections = 0;
  }
}
