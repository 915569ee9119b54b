package io.parley.auth;

import java.time.Duration;

/**
 * Token checks, from {@code parley.jwt}. Empty strings mean "not configured". {@code devSecret}
 * is true when no key was configured and the built-in development secret is in use.
 */
public record JwtSettings(
    String secret,
    String publicKeyPath,
    String issuer,
    String audience,
    boolean requireExp,
    Duration leeway,
    boolean devSecret) {

  /** Public on purpose: anyone can mint tokens for a node that runs on it. */
  public static final String DEV_SECRET = "parley-dev-secret-do-not-use-in-production";

  /** With no secret and no public key, the development secret. */
  public JwtSettings withDevSecretIfUnset() {
    if (!secret.isEmpty() || !publicKeyPath.isEmpty()) return this;
    return new JwtSettings(DEV_SECRET, publicKeyPath, issuer, audience, requireExp, leeway, true);
  }
}
