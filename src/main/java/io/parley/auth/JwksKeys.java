package io.parley.auth;

import com.auth0.jwk.InvalidPublicKeyException;
import com.auth0.jwk.Jwk;
import com.auth0.jwk.JwkException;
import com.auth0.jwk.UrlJwkProvider;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.security.PublicKey;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The public keys published at a JWKS URL, by {@code kid}, cached as one set. jwks-rsa fetches
 * and parses the set ({@link UrlJwkProvider#getAll()}); this class decides when:
 *
 * <ul>
 *   <li>a set younger than the cache TTL answers every {@code kid} it has, with no I/O;
 *   <li>a {@code kid} it does not have (a newly published key), or a set older than the TTL (a
 *       removed key), fetches the whole set again, but at most once per refetch interval: further
 *       unknown kids are refused without a fetch, so random kids cannot make the node hammer the
 *       URL;
 *   <li>when the URL cannot be reached, the keys fetched last keep working for one more TTL;
 *       after that, and before any fetch succeeded, every token is refused.
 * </ul>
 *
 * <p>Blocking: {@link #find} runs where tokens are checked, in the HTTP route, on the node's
 * dispatcher. A fetch runs on one dedicated daemon thread (one at a time, its connect and read
 * timeouts set to the configured timeout), never on the caller's. A caller that needs the result
 * waits for it at most the timeout, and at most {@link #MAX_WAITERS} callers wait at once; others
 * go on with the keys they have. So the dispatcher is held only on a key miss, briefly when the
 * URL answers and for at most the timeout on a few threads when it does not. The set is fetched
 * once at start, in the background, so ordinary connections never wait.
 */
final class JwksKeys {
  private static final Logger log = LoggerFactory.getLogger(JwksKeys.class);

  /** Callers that may wait for a fetch at the same time. */
  static final int MAX_WAITERS = 2;

  sealed interface Lookup {}

  /** {@code key} is null when the JWK could not be turned into a public key. */
  record Found(Jwk jwk, PublicKey key) implements Lookup {}

  record NotFound(String reason) implements Lookup {}

  private record KeySet(Map<String, Found> byKid, long fetchedAt) {}

  private final URL url;
  private final UrlJwkProvider source;
  private final long ttl;
  private final long refetchInterval;
  private final Duration timeout;
  private final LongSupplier nanoClock;
  private final Executor fetcher;
  private final Semaphore waiters = new Semaphore(MAX_WAITERS);

  // guarded by this
  private KeySet current;
  private CompletableFuture<KeySet> inFlight;
  private long lastAttempt;
  private boolean attempted;

  JwksKeys(JwtSettings.Jwks settings, LongSupplier nanoClock) throws MalformedURLException {
    try {
      this.url = URI.create(settings.url()).toURL();
    } catch (IllegalArgumentException e) {
      throw new MalformedURLException("parley.jwt.jwks-url: " + e.getMessage());
    }
    if (!url.getProtocol().equals("https") && !url.getProtocol().equals("http")) {
      throw new MalformedURLException("parley.jwt.jwks-url must be an http(s) URL: " + url);
    }
    int timeoutMillis = (int) Math.max(1, settings.timeout().toMillis());
    this.source = new UrlJwkProvider(url, timeoutMillis, timeoutMillis, null,
        Map.of("Accept", "application/json"));
    this.ttl = settings.cacheTtl().toNanos();
    this.refetchInterval = settings.refetchInterval().toNanos();
    this.timeout = settings.timeout();
    this.nanoClock = nanoClock;
    ThreadPoolExecutor executor = new ThreadPoolExecutor(
        0, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), runnable -> {
          Thread thread = new Thread(runnable, "parley-jwks-fetch");
          thread.setDaemon(true);
          return thread;
        });
    this.fetcher = executor;
  }

  /** Starts fetching the set in the background, so that the first tokens find it. */
  synchronized void prefetch() {
    if (inFlight == null) startFetch(nanoClock.getAsLong());
  }

  /** The key published under {@code kid}, fetching the set if needed (see the class comment). */
  Lookup find(String kid) {
    long now = nanoClock.getAsLong();
    KeySet known;
    CompletableFuture<KeySet> fetch;
    synchronized (this) {
      known = current;
      if (isFresh(known, now) && known.byKid().containsKey(kid)) return known.byKid().get(kid);
      fetch = inFlight;
      if (fetch == null && (!attempted || now - lastAttempt >= refetchInterval)) {
        fetch = startFetch(now);
      }
    }
    if (fetch != null) {
      KeySet fetched = await(fetch);
      if (fetched != null) {
        Found found = fetched.byKid().get(kid);
        return found != null ? found : new NotFound("unknown kid");
      }
    } else if (isFresh(known, now)) {
      return new NotFound("unknown kid (key set fetched less than the refetch interval ago)");
    }
    // no fresh set now: the last one serves for one more TTL
    if (known != null && now - known.fetchedAt() < 2 * ttl && known.byKid().containsKey(kid)) {
      return known.byKid().get(kid);
    }
    return new NotFound("key set unavailable");
  }

  private boolean isFresh(KeySet set, long now) {
    return set != null && now - set.fetchedAt() < ttl;
  }

  /** Called holding the lock. */
  private CompletableFuture<KeySet> startFetch(long now) {
    attempted = true;
    lastAttempt = now;
    CompletableFuture<KeySet> fetch = CompletableFuture
        .supplyAsync(() -> fetchSet(now), fetcher)
        .whenComplete((set, failure) -> {
          synchronized (this) {
            if (set != null) current = set;
            inFlight = null;
          }
        });
    if (!fetch.isDone()) inFlight = fetch;
    return fetch;
  }

  private KeySet fetchSet(long startedAt) {
    List<Jwk> jwks;
    try {
      jwks = source.getAll();
    } catch (JwkException | RuntimeException e) {
      log.warn("JWKS fetch failed url={} error={}", url, String.valueOf(e.getMessage()));
      throw new IllegalStateException(e);
    }
    Map<String, Found> byKid = new LinkedHashMap<>();
    for (Jwk jwk : jwks) {
      if (jwk.getId() != null) byKid.putIfAbsent(jwk.getId(), new Found(jwk, publicKey(jwk)));
    }
    log.info("JWKS fetched url={} kids={}", url, byKid.keySet());
    return new KeySet(Map.copyOf(byKid), startedAt);
  }

  private static PublicKey publicKey(Jwk jwk) {
    try {
      return jwk.getPublicKey();
    } catch (InvalidPublicKeyException | RuntimeException e) {
      return null; // e.g. a symmetric ("oct") key, or an unsupported curve
    }
  }

  /** The fetched set, or null when it failed, took longer than the timeout, or too many wait. */
  private KeySet await(CompletableFuture<KeySet> fetch) {
    if (fetch.isDone()) return fetch.isCompletedExceptionally() ? null : fetch.join();
    if (!waiters.tryAcquire()) return null;
    try {
      return fetch.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } finally {
      waiters.release();
    }
  }
}
