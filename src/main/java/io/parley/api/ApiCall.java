package io.parley.api;

import io.parley.protocol.ErrorCode;
import io.parley.protocol.User;
import java.util.List;

/**
 * A server API call decoded from its JSON body ({@link ApiCallDecoder}); actors never see the
 * JSON. {@code payload} is the JSON object to deliver, as Jackson's UTF-8 generator writes it.
 */
sealed interface ApiCall {

  record Publish(String room, String payload, User sender, String idempotencyKey) implements ApiCall {}

  record Broadcast(List<String> rooms, String payload, User sender, String idempotencyKey) implements ApiCall {}

  record History(String room, Long before, Long after, int limit) implements ApiCall {}

  record Presence(String room) implements ApiCall {}

  record Disconnect(String user) implements ApiCall {}

  /** A body that is not a valid call: 400 with this code. */
  record Invalid(ErrorCode code, String message) implements ApiCall {}
}
