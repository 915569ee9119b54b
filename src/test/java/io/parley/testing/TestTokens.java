package io.parley.testing;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import java.time.Duration;
import java.time.Instant;

/** Tokens for tests, signed with {@link TestNode#SECRET} unless said otherwise. */
public final class TestTokens {
  private TestTokens() {}

  /** A valid token for an hour. */
  public static String token(String sub, String name) {
    return builder(sub, name).withExpiresAt(Instant.now().plus(Duration.ofHours(1)))
        .sign(Algorithm.HMAC256(TestNode.SECRET));
  }

  public static String expiringIn(String sub, Duration ttl) {
    return builder(sub, sub).withExpiresAt(Instant.now().plus(ttl))
        .sign(Algorithm.HMAC256(TestNode.SECRET));
  }

  public static JWTCreator.Builder builder(String sub, String name) {
    JWTCreator.Builder builder = JWT.create().withIssuedAt(Instant.now());
    if (sub != null) builder.withSubject(sub);
    if (name != null) builder.withClaim("name", name);
    return builder;
  }
}
