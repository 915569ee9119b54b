package io.parley.bench.storage;

import java.util.List;
import java.util.concurrent.CompletionStage;

/** One engine on one store, as the benchmark drives it: what a RoomActor would call. */
interface Candidate extends AutoCloseable {
    String name();

    /** Starts the room (recovers it) and returns its newest seq. */
    long openRoom(String room) throws Exception;

    /** Stores one message with the room's next seq; completes once it is durable. Never blocks. */
    CompletionStage<Void> append(Msg m);

    List<Msg> newest(String room, int limit) throws Exception;

    List<Msg> after(String room, long seq, int limit) throws Exception;

    /** Messages per write transaction since the last reset (the group commit's batch), or NaN when unknown. */
    double meanBatch();

    default void resetStats() {}
}
