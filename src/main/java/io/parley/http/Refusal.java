package io.parley.http;

import java.time.Duration;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;

/**
 * A connection refused before the upgrade (docs/protocol.md, "Connecting").
 *
 * @param status and {@code error}: the HTTP answer the contract gives
 * @param reason what {@code POST /ws/check} says: unavailable, origin_not_allowed, token_rejected
 * @param label the metrics label, from a fixed vocabulary (draining, node_full, origin, token, ...)
 * @param detail more for the log (never a token); for a token, why it was rejected
 * @param headers sent with the answer, e.g. {@code WWW-Authenticate} with a 401
 */
record Refusal(
    StatusCode status,
    String error,
    String reason,
    String label,
    String detail,
    String remote,
    List<HttpHeader> headers) {

  static final String TOKEN_REJECTED = "token_rejected";

  /** 503; with {@code retryAfter} (beyond the connect rate), a {@code Retry-After} in whole seconds, at least one. */
  static Refusal unavailable(String label, String detail, String remote, Duration retryAfter) {
    List<HttpHeader> headers = retryAfter == null ? List.of()
        : List.of(RetryAfter.create(Math.max(1, (retryAfter.toMillis() + 999) / 1000)));
    return new Refusal(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", "unavailable", label, detail, remote, headers);
  }

  static Refusal noUpgrade(String remote) {
    return new Refusal(StatusCodes.BAD_REQUEST, "websocket upgrade required", "no_upgrade", "no_upgrade", "",
        remote, List.of());
  }

  static Refusal origin(String origin, String remote) {
    return new Refusal(StatusCodes.FORBIDDEN, "origin not allowed", "origin_not_allowed", "origin", origin,
        remote, List.of());
  }

  static Refusal token(String why, String remote) {
    return new Refusal(StatusCodes.UNAUTHORIZED, "authentication required", TOKEN_REJECTED, "token", why,
        remote, List.of(RawHeader.create("WWW-Authenticate", "Bearer")));
  }
}
