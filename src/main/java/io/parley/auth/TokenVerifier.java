package io.parley.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTVerifier;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.AlgorithmMismatchException;
import com.auth0.jwt.exceptions.IncorrectClaimException;
import com.auth0.jwt.exceptions.JWTDecodeException;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.exceptions.MissingClaimException;
import com.auth0.jwt.exceptions.SignatureVerificationException;
import com.auth0.jwt.exceptions.TokenExpiredException;
import com.auth0.jwt.interfaces.DecodedJWT;
import com.auth0.jwt.interfaces.Verification;
import io.parley.protocol.User;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Checks tokens at connect time. One verifier per accepted algorithm, chosen by the token's
 * header but bound to its own key: HS256 only with the shared secret, RS256 only with an RSA
 * public key, ES256 only with an EC P-256 public key. {@code none} and anything else is refused,
 * and a public key is never used as an HMAC secret (algorithm confusion).
 */
public final class TokenVerifier {

  public sealed interface Result {}

  /** {@code expiresAt} is null for a token without {@code exp} (when that is allowed). */
  public record Accepted(User user, Instant expiresAt) implements Result {}

  /** Why a token was refused, for the log; clients only ever see "authentication required". */
  public record Refused(String reason) implements Result {}

  private final Map<String, JWTVerifier> verifiers;

  private TokenVerifier(Map<String, JWTVerifier> verifiers) {
    this.verifiers = verifiers;
  }

  public static TokenVerifier create(JwtSettings settings)
      throws IOException, GeneralSecurityException {
    Map<String, JWTVerifier> verifiers = new HashMap<>();
    if (!settings.secret().isEmpty()) {
      verifiers.put("HS256", verifier(Algorithm.HMAC256(settings.secret()), settings));
    }
    if (!settings.publicKeyPath().isEmpty()) {
      PublicKey key = PemKeys.readPublicKey(settings.publicKeyPath());
      if (key instanceof RSAPublicKey rsa) {
        verifiers.put("RS256", verifier(Algorithm.RSA256(rsa, null), settings));
      } else if (key instanceof ECPublicKey ec && ec.getParams().getCurve().getField().getFieldSize() == 256) {
        verifiers.put("ES256", verifier(Algorithm.ECDSA256(ec, null), settings));
      } else {
        throw new GeneralSecurityException(
            settings.publicKeyPath() + ": expected an RSA or EC P-256 public key");
      }
    }
    return new TokenVerifier(Map.copyOf(verifiers));
  }

  private static JWTVerifier verifier(Algorithm algorithm, JwtSettings settings) {
    Verification verification = JWT.require(algorithm)
        .acceptLeeway(settings.leeway().toSeconds())
        .withClaimPresence("sub");
    if (settings.requireExp()) verification.withClaimPresence("exp");
    if (!settings.issuer().isEmpty()) verification.withIssuer(settings.issuer());
    if (!settings.audience().isEmpty()) verification.withAudience(settings.audience());
    return verification.build();
  }

  public Result verify(String token) {
    if (token == null || token.isEmpty()) return new Refused("no token");
    DecodedJWT decoded;
    try {
      decoded = JWT.decode(token);
    } catch (JWTDecodeException e) {
      return new Refused("malformed token");
    }
    JWTVerifier verifier = verifiers.get(decoded.getAlgorithm());
    if (verifier == null) return new Refused("algorithm " + decoded.getAlgorithm() + " not accepted");
    DecodedJWT verified;
    try {
      verified = verifier.verify(decoded);
    } catch (TokenExpiredException e) {
      return new Refused("expired");
    } catch (SignatureVerificationException | AlgorithmMismatchException e) {
      return new Refused("bad signature");
    } catch (MissingClaimException e) {
      return new Refused("no " + e.getClaimName());
    } catch (IncorrectClaimException e) {
      return new Refused(switch (e.getClaimName()) {
        case "nbf" -> "not yet valid";
        case "iat" -> "issued in the future";
        default -> "wrong " + e.getClaimName();
      });
    } catch (JWTVerificationException e) {
      return new Refused("invalid token");
    }
    String sub = verified.getSubject();
    if (sub == null || sub.isBlank()) return new Refused("no sub");
    String name = verified.getClaim("name").asString();
    User user = new User(sub, name == null || name.isBlank() ? sub : name);
    return new Accepted(user, verified.getExpiresAtAsInstant());
  }
}
