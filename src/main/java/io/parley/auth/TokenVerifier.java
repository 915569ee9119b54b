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
import java.util.function.LongSupplier;

/**
 * Checks tokens at connect time. One verifier per accepted algorithm, chosen by the token's
 * header but bound to its own key: HS256 only with the shared secret, RS256 only with an RSA
 * public key, ES256 only with an EC P-256 public key. {@code none} and anything else is refused,
 * and a public key is never used as an HMAC secret (algorithm confusion).
 *
 * <p>With a JWKS URL, RS256 and ES256 tokens name their key with {@code kid} and are checked
 * against that key of the published set ({@link JwksKeys}), which must fit the token's algorithm:
 * an RSA key for RS256, an EC P-256 key for ES256, its {@code alg} (when given) equal to the
 * token's, its {@code use} (when given) {@code sig}. HS256 never goes near the key set.
 */
public final class TokenVerifier {

  public sealed interface Result {}

  /** {@code expiresAt} is null for a token without {@code exp} (when that is allowed). */
  public record Accepted(User user, Instant expiresAt) implements Result {}

  /** Why a token was refused, for the log; clients only ever see "authentication required". */
  public record Refused(String reason) implements Result {}

  private static final String RS256 = "RS256";
  private static final String ES256 = "ES256";

  private final Map<String, JWTVerifier> verifiers;
  private final JwtSettings settings;
  /** Null without a JWKS URL. */
  private final JwksKeys jwks;

  private TokenVerifier(Map<String, JWTVerifier> verifiers, JwtSettings settings, JwksKeys jwks) {
    this.verifiers = verifiers;
    this.settings = settings;
    this.jwks = jwks;
  }

  public static TokenVerifier create(JwtSettings settings)
      throws IOException, GeneralSecurityException {
    return create(settings, System::nanoTime);
  }

  /** {@code nanoClock} times the JWKS cache. */
  static TokenVerifier create(JwtSettings settings, LongSupplier nanoClock)
      throws IOException, GeneralSecurityException {
    if (!settings.publicKeyPath().isEmpty() && settings.jwks().configured()) {
      throw new GeneralSecurityException(
          "configure either a public key (parley.jwt.public-key) or a JWKS URL (parley.jwt.jwks-url), not both");
    }
    Map<String, JWTVerifier> verifiers = new HashMap<>();
    if (!settings.secret().isEmpty()) {
      verifiers.put("HS256", verifier(Algorithm.HMAC256(settings.secret()), settings));
    }
    if (!settings.publicKeyPath().isEmpty()) {
      PublicKey key = PemKeys.readPublicKey(settings.publicKeyPath());
      if (key instanceof RSAPublicKey rsa) {
        verifiers.put("RS256", verifier(Algorithm.RSA256(rsa, null), settings));
      } else if (key instanceof ECPublicKey ec && isP256(ec)) {
        verifiers.put("ES256", verifier(Algorithm.ECDSA256(ec, null), settings));
      } else {
        throw new GeneralSecurityException(
            settings.publicKeyPath() + ": expected an RSA or EC P-256 public key");
      }
    }
    JwksKeys jwks = null;
    if (settings.jwks().configured()) {
      jwks = new JwksKeys(settings.jwks(), nanoClock);
      jwks.prefetch();
    }
    return new TokenVerifier(Map.copyOf(verifiers), settings, jwks);
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

  /** True when {@link #verify} may wait for a JWKS fetch: call it off the actors' threads. */
  public boolean mayBlock() {
    return jwks != null;
  }

  /**
   * Checks a token. Pure computation, except with a JWKS URL on a key miss, which may wait for a
   * fetch of the key set for at most {@code parley.jwt.jwks-timeout} (see {@link JwksKeys}).
   */
  public Result verify(String token) {
    if (token == null || token.isEmpty()) return new Refused("no token");
    DecodedJWT decoded;
    try {
      decoded = JWT.decode(token);
    } catch (JWTDecodeException e) {
      return new Refused("malformed token");
    }
    String algorithm = decoded.getAlgorithm();
    if (jwks != null && (RS256.equals(algorithm) || ES256.equals(algorithm))) {
      return verifyWithJwks(decoded, algorithm);
    }
    JWTVerifier verifier = verifiers.get(algorithm);
    if (verifier == null) return new Refused("algorithm " + algorithm + " not accepted");
    return verify(verifier, decoded);
  }

  private Result verifyWithJwks(DecodedJWT decoded, String algorithm) {
    String kid = decoded.getKeyId();
    if (kid == null || kid.isEmpty()) return new Refused("no kid");
    JwksKeys.Lookup lookup = jwks.find(kid);
    if (lookup instanceof JwksKeys.NotFound notFound) return new Refused(notFound.reason());
    JwksKeys.Found found = (JwksKeys.Found) lookup;
    String jwkAlgorithm = found.jwk().getAlgorithm();
    String use = found.jwk().getUsage();
    if (use != null && !use.equals("sig")) return new Refused("key " + kid + " is not for signatures");
    if (jwkAlgorithm != null && !jwkAlgorithm.equals(algorithm)) {
      return new Refused("key " + kid + " is for " + jwkAlgorithm + ", not " + algorithm);
    }
    Algorithm verification;
    if (RS256.equals(algorithm) && "RSA".equals(found.jwk().getType())
        && found.key() instanceof RSAPublicKey rsa) {
      verification = Algorithm.RSA256(rsa, null);
    } else if (ES256.equals(algorithm) && "EC".equals(found.jwk().getType())
        && found.key() instanceof ECPublicKey ec && isP256(ec)) {
      verification = Algorithm.ECDSA256(ec, null);
    } else {
      return new Refused("key " + kid + " (" + found.jwk().getType() + ") does not fit " + algorithm);
    }
    return verify(verifier(verification, settings), decoded);
  }

  private static boolean isP256(ECPublicKey key) {
    return key.getParams().getCurve().getField().getFieldSize() == 256;
  }

  private static Result verify(JWTVerifier verifier, DecodedJWT decoded) {
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
