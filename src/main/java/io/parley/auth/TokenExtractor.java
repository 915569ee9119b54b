package io.parley.auth;

import java.util.List;
import java.util.Optional;

/**
 * Finds the token of an upgrade request (docs/protocol.md, "Connecting"), in this order: the query
 * parameter {@code token}; {@code Authorization: Bearer}; {@code Sec-WebSocket-Protocol}, as the
 * single offered value or as {@code bearer, <token>}. Also picks the subprotocol to echo, because
 * browsers drop a connection whose offered protocols the server ignores.
 */
public final class TokenExtractor {
  private static final String BEARER = "bearer";

  /** {@code token} is null when none was found; {@code subprotocol} is empty when none applies. */
  public record Found(String token, Optional<String> subprotocol) {}

  private TokenExtractor() {}

  public static Found extract(
      Optional<String> query, Optional<String> authorization, List<String> offeredProtocols) {
    String token = query.filter(t -> !t.isEmpty()).orElse(null);
    if (token == null) token = authorization.map(TokenExtractor::bearer).orElse(null);

    int bearerAt = indexOfBearer(offeredProtocols);
    if (token == null) {
      if (bearerAt >= 0 && bearerAt + 1 < offeredProtocols.size()) {
        token = offeredProtocols.get(bearerAt + 1);
      } else if (offeredProtocols.size() == 1 && bearerAt < 0) {
        token = offeredProtocols.get(0);
      }
    }

    Optional<String> subprotocol = Optional.empty();
    if (bearerAt >= 0) subprotocol = Optional.of(offeredProtocols.get(bearerAt));
    else if (offeredProtocols.size() == 1 && offeredProtocols.get(0).equals(token)) {
      subprotocol = Optional.of(token);
    }
    return new Found(token, subprotocol);
  }

  private static String bearer(String authorization) {
    String value = authorization.trim();
    if (value.length() > BEARER.length() + 1
        && value.regionMatches(true, 0, BEARER, 0, BEARER.length())
        && value.charAt(BEARER.length()) == ' ') {
      String token = value.substring(BEARER.length() + 1).trim();
      return token.isEmpty() ? null : token;
    }
    return null;
  }

  private static int indexOfBearer(List<String> offered) {
    for (int i = 0; i < offered.size(); i++) {
      if (offered.get(i).equalsIgnoreCase(BEARER)) return i;
    }
    return -1;
  }
}
