package io.parley.auth;

import java.time.Duration;

/**
 * Token checks, from {@code parley.jwt}. Empty strings mean "not configured". {@code devSecret}
 * is true when no key was configured and the built-in development secret is in use.
 */
public record JwtSettings(
    String secret,
    String publicKeyPath,
    Jwks jwks,
    String issuer,
    String audience,
    boolean requireExp,
    Duration leeway,
    boolean devSecret) {

  /** Public on purpose: anyone can mint tokens for a node that runs on it. */
  public static final String DEV_SECRET = "parley-dev-secret-do-not-use-in-production";

  /**
   * RS256/ES256 keys from a JWKS URL ({@code url} empty: not used). The key set is trusted for
   * {@code cacheTtl}; a token whose {@code kid} is not in it makes the node fetch the set again,
   * at most once per {@code refetchInterval}; a fetch may take {@code timeout}.
   */
  public record Jwks(String url, Duration cacheTtl, Duration refetchInterval, Duration timeout) {
    public static final Jwks NONE =
        new Jwks("", Duration.ofMinutes(10), Duration.ofSeconds(10), Duration.ofSeconds(2));

    public boolean configured() {
      return !url.isEmpty();
    }
  }

  /** Without a JWKS URL. */
  public JwtSettings(
      String secret,
      String publicKeyPath,
      String issuer,
      String audience,
      boolean requireExp,
      Duration leeway,
      boolean devSecret) {
    this(secret, publicKeyPath, Jwks.NONE, issuer, audience, requireExp, leeway, devSecret);
  }

  /** With no secret, no public key and no JWKS URL, the development secret. */
  public JwtSettings withDevSecretIfUnset() {
    if (!secret.isEmpty() || !publicKeyPath.isEmpty() || jwks.configured()) return this;
    return new JwtSettings(DEV_SECRET, publicKeyPath, jwks, issuer, audience, requireExp, leeway, true);
  }
}
