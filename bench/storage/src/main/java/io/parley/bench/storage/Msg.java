package io.parley.bench.storage;

import java.time.Instant;

/** One stored new_message; {@code idempotencyKey} is null unless it came from a keyed publish. */
record Msg(String roomId, long seq, String messageId, String senderId, String senderName,
           String payload, Instant createdAt, String idempotencyKey) {

    /** A chat-sized message (about 120 bytes of JSON payload), as a room would store it. */
    static Msg sample(String roomId, long seq, String idempotencyKey) {
        return new Msg(roomId, seq, java.util.UUID.randomUUID().toString(), "user-" + (seq % 50),
                "User " + (seq % 50),
                "{\"content\":\"hello from the storage benchmark, message number " + seq
                        + " in this room\",\"reply_to\":null}",
                Instant.now(), idempotencyKey);
    }
}
