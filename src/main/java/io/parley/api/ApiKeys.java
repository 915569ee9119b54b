package io.parley.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The server API's keys ({@code PARLEY_API_KEY}, comma-separated so that a new key can be added
 * before the old one is removed). None: the API is off. A presented key is compared with every
 * configured one in constant time: both sides are hashed first, so that neither its content nor
 * its length shows in the time an answer takes.
 */
public final class ApiKeys {
  private static final String SCHEME = "apikey ";

  private final List<byte[]> digests;

  private ApiKeys(List<byte[]> digests) {
    this.digests = digests;
  }

  /** The keys in a {@code PARLEY_API_KEY} value: comma-separated, blanks around them ignored. */
  public static ApiKeys parse(String value) {
    return new ApiKeys(Arrays.stream(value.split(","))
        .map(String::strip)
        .filter(key -> !key.isEmpty())
        .map(ApiKeys::digest)
        .toList());
  }

  /** Whether the API is on: at least one key is configured. */
  public boolean enabled() {
    return !digests.isEmpty();
  }

  public int count() {
    return digests.size();
  }

  /**
   * Whether a request presents a configured key, in {@code X-API-Key: KEY} or in
   * {@code Authorization: apikey KEY} (the scheme in any case).
   */
  public boolean accept(Optional<String> xApiKey, Optional<String> authorization) {
    Optional<String> presented = xApiKey.map(String::strip)
        .or(() -> authorization.map(String::strip)
            .filter(value -> value.regionMatches(true, 0, SCHEME, 0, SCHEME.length()))
            .map(value -> value.substring(SCHEME.length()).strip()));
    if (presented.isEmpty() || presented.get().isEmpty()) return false;
    byte[] digest = digest(presented.get());
    boolean accepted = false;
    for (byte[] key : digests) accepted |= MessageDigest.isEqual(key, digest); // no early exit
    return accepted;
  }

  private static byte[] digest(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java has SHA-256", e);
    }
  }

  /** Never the keys themselves. */
  @Override
  public String toString() {
    return "ApiKeys[" + digests.size() + " key(s)]";
  }
}
