package io.parley.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import java.time.Duration;
import java.time.Instant;

/** Mints HS256 tokens: for the dev banner, the dev token endpoint and the {@code token} CLI. */
public final class Tokens {
  private Tokens() {}

  public static String mint(JwtSettings jwt, String sub, String name, Duration ttl) {
    Instant now = Instant.now();
    var builder = JWT.create()
        .withSubject(sub)
        .withClaim("name", name)
        .withIssuedAt(now)
        .withExpiresAt(now.plus(ttl));
    if (!jwt.issuer().isEmpty()) builder.withIssuer(jwt.issuer());
    if (!jwt.audience().isEmpty()) builder.withAudience(jwt.audience());
    return builder.sign(Algorithm.HMAC256(jwt.secret()));
  }
}
