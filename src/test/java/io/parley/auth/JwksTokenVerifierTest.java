package io.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import com.sun.net.httpserver.HttpServer;
import io.parley.app.ParleyNode;
import io.parley.testing.RawWsClient;
import io.parley.testing.TestNode;
import io.parley.testing.WsClient;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RS256 / ES256 keys from a JWKS URL, served over loopback by a local HTTP server: keys chosen by
 * {@code kid}, caching (fetches are counted), rotation, algorithm confusion, and an unreachable
 * URL. The cache runs on a fake clock, so TTLs and refetch intervals pass without waiting.
 */
class JwksTokenVerifierTest {
  private static final Duration TTL = Duration.ofMinutes(10);
  private static final Duration REFETCH = Duration.ofSeconds(10);
  private static final Duration TIMEOUT = Duration.ofMillis(800);
  private static final String SECRET = "jwks-test-secret";

  private static KeyPair rsaA;
  private static KeyPair rsaB;
  private static KeyPair ecA;
  private static KeyPair ec384;

  private JwksServer server;
  private final AtomicLong clock = new AtomicLong(1_000_000_000L);

  @BeforeAll
  static void generateKeys() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    rsaA = rsa.generateKeyPair();
    rsaB = rsa.generateKeyPair();
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(new ECGenParameterSpec("secp256r1"));
    ecA = ec.generateKeyPair();
    ec.initialize(new ECGenParameterSpec("secp384r1"));
    ec384 = ec.generateKeyPair();
  }

  @BeforeEach
  void startServer() throws IOException {
    server = new JwksServer();
    server.publish(rsaJwk("rsa-a", rsaA, "RS256"), ecJwk("ec-a", ecA, "P-256", 32));
  }

  @AfterEach
  void stopServer() {
    server.stop();
  }

  // ---- the local JWKS server and the keys it publishes ----------------------------------------

  /** Serves {@code /jwks.json} from loopback and counts the fetches. */
  private static final class JwksServer {
    final HttpServer http;
    final AtomicReference<String> body = new AtomicReference<>("{\"keys\":[]}");
    final AtomicInteger fetches = new AtomicInteger();

    JwksServer() throws IOException {
      http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
      http.createContext("/jwks.json", exchange -> {
        fetches.incrementAndGet();
        byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
      });
      http.start();
    }

    String url() {
      return "http://127.0.0.1:" + http.getAddress().getPort() + "/jwks.json";
    }

    void publish(String... jwks) {
      body.set("{\"keys\":[" + String.join(",", jwks) + "]}");
    }

    void stop() {
      http.stop(0);
    }
  }

  private static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** A non-negative integer as big-endian bytes of exactly {@code length}, or minimal when 0. */
  private static byte[] unsigned(BigInteger value, int length) {
    byte[] bytes = value.toByteArray();
    if (bytes.length > 1 && bytes[0] == 0) bytes = Arrays.copyOfRange(bytes, 1, bytes.length);
    if (length == 0 || bytes.length == length) return bytes;
    byte[] padded = new byte[length];
    System.arraycopy(bytes, 0, padded, length - bytes.length, bytes.length);
    return padded;
  }

  /** An RSA JWK; {@code alg} null leaves it out. */
  private static String rsaJwk(String kid, KeyPair pair, String alg) {
    RSAPublicKey key = (RSAPublicKey) pair.getPublic();
    return "{\"kty\":\"RSA\",\"kid\":\"" + kid + "\",\"use\":\"sig\""
        + (alg == null ? "" : ",\"alg\":\"" + alg + "\"")
        + ",\"n\":\"" + b64(unsigned(key.getModulus(), 0))
        + "\",\"e\":\"" + b64(unsigned(key.getPublicExponent(), 0)) + "\"}";
  }

  private static String ecJwk(String kid, KeyPair pair, String curve, int coordinateBytes) {
    ECPublicKey key = (ECPublicKey) pair.getPublic();
    return "{\"kty\":\"EC\",\"kid\":\"" + kid + "\",\"crv\":\"" + curve + "\""
        + ",\"x\":\"" + b64(unsigned(key.getW().getAffineX(), coordinateBytes))
        + "\",\"y\":\"" + b64(unsigned(key.getW().getAffineY(), coordinateBytes)) + "\"}";
  }

  private static Algorithm rs256(KeyPair pair) {
    return Algorithm.RSA256((RSAPublicKey) pair.getPublic(), (RSAPrivateKey) pair.getPrivate());
  }

  private static Algorithm es256(KeyPair pair) {
    return Algorithm.ECDSA256((ECPublicKey) pair.getPublic(), (ECPrivateKey) pair.getPrivate());
  }

  private static JWTCreator.Builder token(String sub, String kid) {
    JWTCreator.Builder builder = JWT.create().withSubject(sub)
        .withIssuedAt(Instant.now()).withExpiresAt(Instant.now().plusSeconds(300));
    return kid == null ? builder : builder.withKeyId(kid);
  }

  // ---- verifiers --------------------------------------------------------------------------------

  private JwtSettings settings(String secret, String url) {
    return new JwtSettings(secret, "", new JwtSettings.Jwks(url, TTL, REFETCH, TIMEOUT),
        "", "", true, Duration.ofSeconds(5), false);
  }

  private TokenVerifier jwksVerifier() throws Exception {
    return TokenVerifier.create(settings("", server.url()), clock::get);
  }

  private void advance(Duration by) {
    clock.addAndGet(by.toNanos());
  }

  private static String refusal(TokenVerifier verifier, String token) {
    TokenVerifier.Result result = verifier.verify(token);
    assertThat(result).as("verdict").isInstanceOf(TokenVerifier.Refused.class);
    return ((TokenVerifier.Refused) result).reason();
  }

  private static TokenVerifier.Accepted accepted(TokenVerifier verifier, String token) {
    TokenVerifier.Result result = verifier.verify(token);
    assertThat(result).as("verdict").isInstanceOf(TokenVerifier.Accepted.class);
    return (TokenVerifier.Accepted) result;
  }

  // ---- accepted tokens and caching --------------------------------------------------------------

  @Test
  void rs256AndEs256TokensAreAcceptedWithTheKeyTheirKidNamesAndTheSetIsFetchedOnce() throws Exception {
    TokenVerifier verifier = jwksVerifier();
    for (int i = 0; i < 20; i++) {
      assertThat(accepted(verifier, token("rsa-user", "rsa-a").sign(rs256(rsaA))).user().id())
          .isEqualTo("rsa-user");
      assertThat(accepted(verifier, token("ec-user", "ec-a").sign(es256(ecA))).user().id())
          .isEqualTo("ec-user");
      advance(Duration.ofSeconds(20)); // 400 s in all: within the TTL
    }
    assertThat(server.fetches.get()).as("one fetch for both kids and 40 tokens").isEqualTo(1);
  }

  @Test
  void jwkWithoutAlgIsMatchedByItsKeyType() throws Exception {
    server.publish(rsaJwk("rsa-no-alg", rsaA, null));
    accepted(jwksVerifier(), token("u", "rsa-no-alg").sign(rs256(rsaA)));
  }

  @Test
  void claimsAreCheckedAsForEveryOtherKey() throws Exception {
    TokenVerifier verifier = jwksVerifier();
    assertThat(refusal(verifier, token("u", "rsa-a").withExpiresAt(Instant.now().minusSeconds(60))
        .sign(rs256(rsaA)))).isEqualTo("expired");
    assertThat(refusal(verifier, JWT.create().withKeyId("ec-a").withExpiresAt(Instant.now().plusSeconds(60))
        .sign(es256(ecA)))).isEqualTo("no sub");
    assertThat(refusal(verifier, token("u", "rsa-a").sign(rs256(rsaB)))).isEqualTo("bad signature");
  }

  // ---- unknown kids and rotation ------------------------------------------------------------------

  @Test
  void unknownKidIsRefusedAfterOneRefetchAndFurtherMissesWaitForTheRefetchInterval() throws Exception {
    TokenVerifier verifier = jwksVerifier();
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    assertThat(server.fetches.get()).isEqualTo(1);

    advance(REFETCH);
    assertThat(refusal(verifier, token("u", "nobody").sign(rs256(rsaB)))).isEqualTo("unknown kid");
    assertThat(server.fetches.get()).as("one refetch on the miss").isEqualTo(2);

    for (int i = 0; i < 50; i++) {
      assertThat(refusal(verifier, token("u", "random-" + i).sign(rs256(rsaB)))).startsWith("unknown kid");
    }
    assertThat(server.fetches.get()).as("no refetch within the interval").isEqualTo(2);
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));

    advance(REFETCH);
    refusal(verifier, token("u", "nobody").sign(rs256(rsaB)));
    assertThat(server.fetches.get()).isEqualTo(3);
  }

  @Test
  void newlyPublishedKeyIsPickedUpOnAKidMiss() throws Exception {
    TokenVerifier verifier = jwksVerifier();
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    server.publish(rsaJwk("rsa-a", rsaA, "RS256"), ecJwk("ec-a", ecA, "P-256", 32),
        rsaJwk("rsa-b", rsaB, "RS256"));
    advance(REFETCH);
    assertThat(accepted(verifier, token("rotated", "rsa-b").sign(rs256(rsaB))).user().id()).isEqualTo("rotated");
    assertThat(server.fetches.get()).isEqualTo(2);
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    accepted(verifier, token("u", "rsa-b").sign(rs256(rsaB)));
    assertThat(server.fetches.get()).as("both served from the new set").isEqualTo(2);
  }

  @Test
  void removedKeyKeepsWorkingUntilTheTtlAndIsRefusedAfterTheNextFetch() throws Exception {
    TokenVerifier verifier = jwksVerifier();
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    server.publish(rsaJwk("rsa-b", rsaB, "RS256"), ecJwk("ec-a", ecA, "P-256", 32));

    advance(TTL.minusSeconds(1));
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    assertThat(server.fetches.get()).as("cached until the TTL").isEqualTo(1);

    advance(Duration.ofSeconds(1));
    assertThat(refusal(verifier, token("u", "rsa-a").sign(rs256(rsaA)))).isEqualTo("unknown kid");
    assertThat(server.fetches.get()).isEqualTo(2);
    accepted(verifier, token("u", "rsa-b").sign(rs256(rsaB)));
    accepted(verifier, token("u", "ec-a").sign(es256(ecA)));
    assertThat(server.fetches.get()).isEqualTo(2);
  }

  @Test
  void tokenWithoutKidIsRefused() throws Exception {
    server.publish(rsaJwk("only", rsaA, "RS256"));
    assertThat(refusal(jwksVerifier(), token("u", null).sign(rs256(rsaA)))).isEqualTo("no kid");
  }

  // ---- algorithm confusion ------------------------------------------------------------------------

  @Test
  void hs256SignedWithTheJwksPublicMaterialIsRefused() throws Exception {
    TokenVerifier jwksOnly = jwksVerifier();
    RSAPublicKey rsa = (RSAPublicKey) rsaA.getPublic();
    List<byte[]> publicMaterial = List.of(
        rsa.getEncoded(),
        unsigned(rsa.getModulus(), 0),
        rsaJwk("rsa-a", rsaA, "RS256").getBytes(StandardCharsets.UTF_8),
        server.body.get().getBytes(StandardCharsets.UTF_8),
        ecA.getPublic().getEncoded());
    for (byte[] material : publicMaterial) {
      String attack = token("attacker", "rsa-a").sign(Algorithm.HMAC256(material));
      assertThat(refusal(jwksOnly, attack)).isEqualTo("algorithm HS256 not accepted");
    }

    // with a shared secret as well, HS256 is checked against the secret only
    TokenVerifier both = TokenVerifier.create(settings(SECRET, server.url()), clock::get);
    accepted(both, token("hs-user", null).sign(Algorithm.HMAC256(SECRET)));
    accepted(both, token("rs-user", "rsa-a").sign(rs256(rsaA)));
    for (byte[] material : publicMaterial) {
      String attack = token("attacker", "rsa-a").sign(Algorithm.HMAC256(material));
      assertThat(refusal(both, attack)).isEqualTo("bad signature");
    }
  }

  @Test
  void noneAndOtherAlgorithmsAreRefused() throws Exception {
    TokenVerifier verifier = jwksVerifier();
    assertThat(refusal(verifier, token("u", "rsa-a").sign(Algorithm.none())))
        .isEqualTo("algorithm none not accepted");
    assertThat(refusal(verifier, token("u", "rsa-a").sign(Algorithm.RSA512(
        (RSAPublicKey) rsaA.getPublic(), (RSAPrivateKey) rsaA.getPrivate()))))
        .isEqualTo("algorithm RS512 not accepted");
    assertThat(refusal(verifier, token("u", "ec-384").sign(Algorithm.ECDSA384(
        (ECPublicKey) ec384.getPublic(), (ECPrivateKey) ec384.getPrivate()))))
        .isEqualTo("algorithm ES384 not accepted");
  }

  @Test
  void keyThatDoesNotFitTheTokensAlgorithmIsRefused() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair ecB = generator.generateKeyPair();
    server.publish(
        rsaJwk("rsa-a", rsaA, "RS256"),
        rsaJwk("rsa-plain", rsaA, null),
        ecJwk("ec-a", ecA, "P-256", 32),
        ecJwk("ec-384", ec384, "P-384", 48),
        rsaJwk("rsa-512", rsaB, "RS512"),
        ecJwk("ec-b-es384", ecB, "P-256", 32).replace("}", ",\"alg\":\"ES384\"}"),
        rsaJwk("rsa-enc", rsaB, null).replace("\"use\":\"sig\"", "\"use\":\"enc\""),
        "{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"" + b64(SECRET.getBytes(StandardCharsets.UTF_8)) + "\"}");
    TokenVerifier verifier = jwksVerifier();

    // an RS256 token naming an EC key and an ES256 token naming an RSA key
    assertThat(refusal(verifier, token("u", "ec-a").sign(rs256(rsaA)))).contains("does not fit RS256");
    assertThat(refusal(verifier, token("u", "rsa-plain").sign(es256(ecA)))).contains("does not fit ES256");
    assertThat(refusal(verifier, token("u", "rsa-a").sign(es256(ecA)))).contains("is for RS256");
    // an ES256 token naming a P-384 key
    assertThat(refusal(verifier, token("u", "ec-384").sign(es256(ecA)))).contains("does not fit ES256");
    // the JWK's alg or use says otherwise
    assertThat(refusal(verifier, token("u", "rsa-512").sign(rs256(rsaB)))).contains("is for RS512");
    assertThat(refusal(verifier, token("u", "ec-b-es384").sign(es256(ecB)))).contains("is for ES384");
    assertThat(refusal(verifier, token("u", "rsa-enc").sign(rs256(rsaB)))).contains("not for signatures");
    // a symmetric key in the set is never a verification key
    assertThat(refusal(verifier, token("u", "oct").sign(rs256(rsaA)))).contains("does not fit RS256");
    assertThat(refusal(verifier, token("u", "oct").sign(Algorithm.HMAC256(SECRET))))
        .isEqualTo("algorithm HS256 not accepted");
    // and the well-fitting ones still pass
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    accepted(verifier, token("u", "ec-a").sign(es256(ecA)));
    assertThat(server.fetches.get()).isEqualTo(1);
  }

  // ---- unreachable key sets ---------------------------------------------------------------------

  @Test
  void closedJwksPortRefusesAtOnce() throws Exception {
    server.stop();
    TokenVerifier verifier = jwksVerifier();
    long start = System.nanoTime();
    assertThat(refusal(verifier, token("u", "rsa-a").sign(rs256(rsaA)))).isEqualTo("key set unavailable");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(TIMEOUT.plusSeconds(3));
  }

  @Test
  void jwksServerThatNeverAnswersRefusesWithinTheTimeoutAndHoldsFewCallers() throws Exception {
    // accepts connections (the kernel's backlog) but never reads or answers
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      TokenVerifier verifier = TokenVerifier.create(
          settings("", "http://127.0.0.1:" + silent.getLocalPort() + "/jwks.json"), clock::get);
      String token = token("u", "rsa-a").sign(rs256(rsaA));
      long start = System.nanoTime();
      List<CompletableFuture<TokenVerifier.Result>> callers = new ArrayList<>();
      for (int i = 0; i < 8; i++) callers.add(CompletableFuture.supplyAsync(() -> verifier.verify(token)));
      for (CompletableFuture<TokenVerifier.Result> caller : callers) {
        assertThat(caller.join()).isEqualTo(new TokenVerifier.Refused("key set unavailable"));
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(took).as("every caller is answered within the timeout").isLessThan(TIMEOUT.plusSeconds(3));
    }
  }

  @Test
  void lastKeySetServesOneMoreTtlWhileTheUrlFails() throws Exception {
    TokenVerifier verifier = jwksVerifier();
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    server.stop();
    advance(TTL);
    accepted(verifier, token("u", "rsa-a").sign(rs256(rsaA)));
    assertThat(refusal(verifier, token("u", "rsa-b").sign(rs256(rsaB)))).isEqualTo("key set unavailable");
    advance(TTL);
    assertThat(refusal(verifier, token("u", "rsa-a").sign(rs256(rsaA)))).isEqualTo("key set unavailable");
  }

  // ---- configuration ----------------------------------------------------------------------------

  @Test
  void publicKeyAndJwksUrlTogetherAreRefusedAtStart() {
    JwtSettings both = new JwtSettings("", "/some/key.pem",
        new JwtSettings.Jwks(server.url(), TTL, REFETCH, TIMEOUT), "", "", true, Duration.ofSeconds(5), false);
    assertThatThrownBy(() -> TokenVerifier.create(both)).hasMessageContaining("not both");
    JwtSettings ftp = settings("", "ftp://127.0.0.1/jwks.json");
    assertThatThrownBy(() -> TokenVerifier.create(ftp)).hasMessageContaining("http(s)");
  }

  @Test
  void jwksUrlAloneDoesNotFallBackToTheDevelopmentSecret() {
    JwtSettings jwksOnly = settings("", server.url()).withDevSecretIfUnset();
    assertThat(jwksOnly.devSecret()).isFalse();
    assertThat(jwksOnly.secret()).isEmpty();
  }

  @Test
  void nodeConfiguredWithAJwksUrlAcceptsItsTokensAndRefusesConfusedOnes() throws Exception {
    ParleyNode node = TestNode.start("""
        parley.jwt.secret = ""
        parley.jwt.jwks-url = "%s"
        """.formatted(server.url()));
    try {
      assertThat(node.settings().jwt().jwks().url()).isEqualTo(server.url());
      assertThat(node.settings().jwt().devSecret()).isFalse();
      try (WsClient client = WsClient.connect(
          TestNode.wsUri(node, token("jwks-user", "ec-a").withClaim("name", "Jay").sign(es256(ecA))))) {
        assertThat(client.expect("connected").path("payload").path("user").path("name").asText())
            .isEqualTo("Jay");
      }
      String confused = token("attacker", "rsa-a").sign(Algorithm.HMAC256(rsaA.getPublic().getEncoded()));
      RawWsClient.Reply reply = RawWsClient.upgrade(node.port(), "/ws?token=" + confused, Map.of());
      assertThat(reply.status()).isEqualTo(401);
    } finally {
      node.close();
    }
  }
}
