package io.parley.http;

import java.time.Duration;
import java.util.Locale;
import java.util.Set;

/**
 * {@code parley.http}: where to bind, which browser origins may connect (empty: all), each
 * {@linkplain #normalizeOrigin normalized}, the URL users reach the node at when it differs from
 * its own (behind a proxy or a load balancer; empty: the node's own), and how long a connection
 * may idle before its upgrade.
 */
public record HttpSettings(
    String host, int port, Set<String> allowedOrigins, String publicUrl, Duration idleTimeout) {

  /** Origins compare case-insensitively and without a trailing slash. */
  public static String normalizeOrigin(String origin) {
    String trimmed = origin.trim().toLowerCase(Locale.ROOT);
    return trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed;
  }
}
