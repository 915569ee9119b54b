package io.parley.client;

/**
 * Upgrades one node admits per second, with a burst ({@code parley.limits.max-connect-rate},
 * {@code connect-burst}): beyond it, 503 with {@code Retry-After}.
 */
public record ConnectRate(double perSecond, int burst) {
  public ConnectRate {
    if (perSecond <= 0 || burst < 1) {
      throw new IllegalArgumentException("connect rate must be > 0 per second with a burst >= 1");
    }
  }
}
