package io.parley.http;

import java.util.Locale;
import java.util.Set;

/**
 * {@code parley.http}: where to bind and which browser origins may connect (empty: all), each
 * {@linkplain #normalizeOrigin normalized}.
 */
public record HttpSettings(String host, int port, Set<String> allowedOrigins) {

  /** Origins compare case-insensitively and without a trailing slash. */
  public static String normalizeOrigin(String origin) {
    String trimmed = origin.trim().toLowerCase(Locale.ROOT);
    return trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed;
  }
}
