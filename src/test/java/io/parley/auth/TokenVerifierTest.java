package io.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import io.parley.protocol.User;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every refusal row of docs/protocol.md's table that concerns the token, and each accepted algorithm. */
class TokenVerifierTest {
  private static final String SECRET = "unit-test-secret";
  private static final Duration LEEWAY = Duration.ofSeconds(5);

  @TempDir static Path keys;
  private static KeyPair rsa;
  private static KeyPair ec;
  private static Path rsaPem;
  private static Path ecPem;

  @BeforeAll
  static void generateKeys() throws Exception {
    KeyPairGenerator rsaGenerator = KeyPairGenerator.getInstance("RSA");
    rsaGenerator.initialize(2048);
    rsa = rsaGenerator.generateKeyPair();
    KeyPairGenerator ecGenerator = KeyPairGenerator.getInstance("EC");
    ecGenerator.initialize(new ECGenParameterSpec("secp256r1"));
    ec = ecGenerator.generateKeyPair();
    rsaPem = writePem("rsa.pem", rsa);
    ecPem = writePem("ec.pem", ec);
  }

  private static Path writePem(String name, KeyPair pair) throws Exception {
    String pem = "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(pair.getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
    return Files.writeString(keys.resolve(name), pem);
  }

  private static JwtSettings settings(String secret, String publicKey) {
    return new JwtSettings(secret, publicKey, "", "", true, LEEWAY, false);
  }

  private static TokenVerifier verifier(JwtSettings settings) throws Exception {
    return TokenVerifier.create(settings);
  }

  private static TokenVerifier hmac() throws Exception {
    return verifier(settings(SECRET, ""));
  }

  private static JWTCreator.Builder valid(String sub) {
    return JWT.create().withSubject(sub).withClaim("name", "Ann")
        .withIssuedAt(Instant.now()).withExpiresAt(Instant.now().plusSeconds(300));
  }

  private static String refusal(TokenVerifier verifier, String token) {
    TokenVerifier.Result result = verifier.verify(token);
    assertThat(result).isInstanceOf(TokenVerifier.Refused.class);
    return ((TokenVerifier.Refused) result).reason();
  }

  private static TokenVerifier.Accepted accepted(TokenVerifier verifier, String token) {
    TokenVerifier.Result result = verifier.verify(token);
    assertThat(result).isInstanceOf(TokenVerifier.Accepted.class);
    return (TokenVerifier.Accepted) result;
  }

  @Test
  void hs256TokenIsAcceptedWithUserAndExpiry() throws Exception {
    Instant exp = Instant.now().plusSeconds(300).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    TokenVerifier.Accepted ok = accepted(hmac(),
        valid("u1").withExpiresAt(exp).sign(Algorithm.HMAC256(SECRET)));
    assertThat(ok.user()).isEqualTo(new User("u1", "Ann"));
    assertThat(ok.expiresAt()).isEqualTo(exp);
  }

  @Test
  void nameDefaultsToSub() throws Exception {
    String token = JWT.create().withSubject("u2").withExpiresAt(Instant.now().plusSeconds(60))
        .sign(Algorithm.HMAC256(SECRET));
    assertThat(accepted(hmac(), token).user()).isEqualTo(new User("u2", "u2"));
  }

  @Test
  void missingTokenIsRefused() throws Exception {
    assertThat(refusal(hmac(), null)).isEqualTo("no token");
    assertThat(refusal(hmac(), "")).isEqualTo("no token");
  }

  @Test
  void malformedTokenIsRefused() throws Exception {
    assertThat(refusal(hmac(), "definitely.not.ajwt")).isEqualTo("malformed token");
  }

  @Test
  void badSignatureIsRefused() throws Exception {
    assertThat(refusal(hmac(), valid("u").sign(Algorithm.HMAC256("another-secret"))))
        .isEqualTo("bad signature");
  }

  @Test
  void algorithmNoneIsRefused() throws Exception {
    assertThat(refusal(hmac(), valid("u").sign(Algorithm.none()))).isEqualTo("algorithm none not accepted");
  }

  @Test
  void otherHmacAlgorithmsAreRefused() throws Exception {
    assertThat(refusal(hmac(), valid("u").sign(Algorithm.HMAC512(SECRET))))
        .isEqualTo("algorithm HS512 not accepted");
  }

  @Test
  void hs256SignedWithThePublicKeyIsRefused() throws Exception {
    // algorithm confusion: an attacker signs HS256 with the (public) RSA key as the secret
    TokenVerifier verifier = verifier(settings("", rsaPem.toString()));
    String attack = valid("u").sign(Algorithm.HMAC256(Files.readAllBytes(rsaPem)));
    assertThat(refusal(verifier, attack)).isEqualTo("algorithm HS256 not accepted");
    String attackDer = valid("u").sign(Algorithm.HMAC256(rsa.getPublic().getEncoded()));
    assertThat(refusal(verifier, attackDer)).isEqualTo("algorithm HS256 not accepted");
  }

  @Test
  void rs256IsAcceptedWithTheConfiguredRsaKey() throws Exception {
    TokenVerifier verifier = verifier(settings("", rsaPem.toString()));
    String token = valid("rsa-user").sign(
        Algorithm.RSA256((RSAPublicKey) rsa.getPublic(), (RSAPrivateKey) rsa.getPrivate()));
    assertThat(accepted(verifier, token).user().id()).isEqualTo("rsa-user");
  }

  @Test
  void rs256SignedByAnotherKeyIsRefused() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    KeyPair other = generator.generateKeyPair();
    String token = valid("u").sign(
        Algorithm.RSA256((RSAPublicKey) other.getPublic(), (RSAPrivateKey) other.getPrivate()));
    assertThat(refusal(verifier(settings("", rsaPem.toString())), token)).isEqualTo("bad signature");
  }

  @Test
  void es256IsAcceptedWithTheConfiguredEcKey() throws Exception {
    TokenVerifier verifier = verifier(settings("", ecPem.toString()));
    String token = valid("ec-user").sign(
        Algorithm.ECDSA256((ECPublicKey) ec.getPublic(), (ECPrivateKey) ec.getPrivate()));
    assertThat(accepted(verifier, token).user().id()).isEqualTo("ec-user");
  }

  @Test
  void rs256TokenIsRefusedByAnEcConfiguredNode() throws Exception {
    String token = valid("u").sign(
        Algorithm.RSA256((RSAPublicKey) rsa.getPublic(), (RSAPrivateKey) rsa.getPrivate()));
    assertThat(refusal(verifier(settings("", ecPem.toString())), token))
        .isEqualTo("algorithm RS256 not accepted");
  }

  @Test
  void hs256IsRefusedWhenOnlyAPublicKeyIsConfigured() throws Exception {
    assertThat(refusal(verifier(settings("", ecPem.toString())), valid("u").sign(Algorithm.HMAC256(SECRET))))
        .isEqualTo("algorithm HS256 not accepted");
  }

  @Test
  void secretAndPublicKeyCanBeAcceptedSideBySide() throws Exception {
    TokenVerifier verifier = verifier(settings(SECRET, rsaPem.toString()));
    accepted(verifier, valid("a").sign(Algorithm.HMAC256(SECRET)));
    accepted(verifier, valid("b").sign(
        Algorithm.RSA256((RSAPublicKey) rsa.getPublic(), (RSAPrivateKey) rsa.getPrivate())));
  }

  @Test
  void expiredTokenIsRefusedButLeewayApplies() throws Exception {
    assertThat(refusal(hmac(), valid("u").withExpiresAt(Instant.now().minusSeconds(30))
        .sign(Algorithm.HMAC256(SECRET)))).isEqualTo("expired");
    accepted(hmac(), valid("u").withIssuedAt(Instant.now().minusSeconds(60))
        .withExpiresAt(Instant.now().minusSeconds(2)).sign(Algorithm.HMAC256(SECRET)));
  }

  @Test
  void notYetValidTokenIsRefusedButLeewayApplies() throws Exception {
    assertThat(refusal(hmac(), valid("u").withNotBefore(Instant.now().plusSeconds(60))
        .sign(Algorithm.HMAC256(SECRET)))).isEqualTo("not yet valid");
    accepted(hmac(), valid("u").withNotBefore(Instant.now().plusSeconds(2)).sign(Algorithm.HMAC256(SECRET)));
  }

  @Test
  void tokenIssuedInTheFutureIsRefused() throws Exception {
    assertThat(refusal(hmac(), valid("u").withIssuedAt(Instant.now().plusSeconds(120))
        .sign(Algorithm.HMAC256(SECRET)))).isEqualTo("issued in the future");
  }

  @Test
  void issuerAndAudienceAreCheckedWhenConfigured() throws Exception {
    TokenVerifier verifier = verifier(
        new JwtSettings(SECRET, "", "https://id.example", "parley", true, LEEWAY, false));
    accepted(verifier, valid("u").withIssuer("https://id.example").withAudience("parley", "other")
        .sign(Algorithm.HMAC256(SECRET)));
    assertThat(refusal(verifier, valid("u").withIssuer("https://evil.example").withAudience("parley")
        .sign(Algorithm.HMAC256(SECRET)))).isEqualTo("wrong iss");
    assertThat(refusal(verifier, valid("u").withIssuer("https://id.example").withAudience("not-parley")
        .sign(Algorithm.HMAC256(SECRET)))).isEqualTo("wrong aud");
    assertThat(refusal(verifier, valid("u").withAudience("parley").sign(Algorithm.HMAC256(SECRET))))
        .isEqualTo("no iss");
  }

  @Test
  void issuerIsNotCheckedWhenNotConfigured() throws Exception {
    accepted(hmac(), valid("u").withIssuer("anyone").sign(Algorithm.HMAC256(SECRET)));
  }

  @Test
  void tokenWithoutSubIsRefused() throws Exception {
    String noSub = JWT.create().withExpiresAt(Instant.now().plusSeconds(60)).sign(Algorithm.HMAC256(SECRET));
    assertThat(refusal(hmac(), noSub)).isEqualTo("no sub");
    assertThat(refusal(hmac(), valid(" ").sign(Algorithm.HMAC256(SECRET)))).isEqualTo("no sub");
  }

  @Test
  void expIsRequiredUnlessConfiguredOtherwise() throws Exception {
    String noExp = JWT.create().withSubject("u").sign(Algorithm.HMAC256(SECRET));
    assertThat(refusal(hmac(), noExp)).isEqualTo("no exp");
    TokenVerifier lenient = verifier(new JwtSettings(SECRET, "", "", "", false, LEEWAY, false));
    assertThat(accepted(lenient, noExp).expiresAt()).isNull();
  }

  @Test
  void ecKeysOnOtherCurvesAreRejectedAtStart() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp384r1"));
    Path p384 = writePem("p384.pem", generator.generateKeyPair());
    assertThatThrownBy(() -> verifier(settings("", p384.toString())))
        .isInstanceOf(GeneralSecurityException.class);
  }

  @Test
  void devSecretIsUsedOnlyWhenNothingIsConfigured() {
    assertThat(settings("", "").withDevSecretIfUnset().devSecret()).isTrue();
    assertThat(settings("", "").withDevSecretIfUnset().secret()).isEqualTo(JwtSettings.DEV_SECRET);
    assertThat(settings(SECRET, "").withDevSecretIfUnset().devSecret()).isFalse();
    assertThat(settings("", "/some/key.pem").withDevSecretIfUnset().secret()).isEmpty();
  }
}
