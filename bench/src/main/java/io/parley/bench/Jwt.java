package io.parley.bench;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** HS256 tokens with the claims Parley reads (sub, name, exp), signed here: no server classes. */
final class Jwt {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final String HEADER =
      B64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));

  private final Mac mac;

  Jwt(String secret) {
    try {
      mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A token for user {@code sub} (ids are plain ASCII here, so no JSON escaping is needed). */
  synchronized String mint(String sub, long ttlSeconds) {
    long exp = System.currentTimeMillis() / 1000 + ttlSeconds;
    String claims = "{\"sub\":\"" + sub + "\",\"name\":\"" + sub + "\",\"exp\":" + exp + "}";
    String body = HEADER + "." + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    byte[] signature = mac.doFinal(body.getBytes(StandardCharsets.US_ASCII));
    return body + "." + B64.encodeToString(signature);
  }
}
