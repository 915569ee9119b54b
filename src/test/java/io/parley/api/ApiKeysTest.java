package io.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The server API's keys: where a request may present one, rotation, and the API off. */
class ApiKeysTest {
  private static final String OLD = "k-old-0123456789abcdef";
  private static final String NEW = "k-new-0123456789abcdef";
  private static final ApiKeys ROTATING = ApiKeys.parse(" " + OLD + " , ," + NEW + " ");

  private static boolean header(ApiKeys keys, String value) {
    return keys.accept(Optional.of(value), Optional.empty());
  }

  private static boolean authorization(ApiKeys keys, String value) {
    return keys.accept(Optional.empty(), Optional.of(value));
  }

  @Test
  void noKeyConfiguredTurnsTheApiOff() {
    assertThat(ApiKeys.parse("").enabled()).isFalse();
    assertThat(ApiKeys.parse(" , ").enabled()).isFalse();
    assertThat(header(ApiKeys.parse(""), "")).isFalse();
  }

  @Test
  void everyKeyOfTheListIsAcceptedDuringARotation() {
    assertThat(ROTATING.count()).isEqualTo(2);
    assertThat(header(ROTATING, OLD)).isTrue();
    assertThat(header(ROTATING, NEW)).isTrue();
    assertThat(header(ApiKeys.parse(NEW), OLD)).as("the old key, once removed").isFalse();
  }

  @Test
  void theKeyIsTakenFromXApiKeyOrFromAuthorizationApikeyInAnyCase() {
    assertThat(header(ROTATING, " " + NEW + " ")).isTrue();
    assertThat(authorization(ROTATING, "apikey " + NEW)).isTrue();
    assertThat(authorization(ROTATING, "ApiKey " + OLD)).isTrue();
    assertThat(authorization(ROTATING, "Bearer " + NEW)).isFalse();
    assertThat(authorization(ROTATING, NEW)).isFalse();
    assertThat(authorization(ROTATING, "apikey")).isFalse();
  }

  @Test
  void aWrongOrEmptyKeyIsRefused() {
    assertThat(header(ROTATING, "")).isFalse();
    assertThat(header(ROTATING, NEW + "x")).isFalse();
    assertThat(header(ROTATING, NEW.substring(1))).isFalse();
    assertThat(header(ROTATING, OLD + "," + NEW)).isFalse();
    assertThat(ROTATING.accept(Optional.empty(), Optional.empty())).isFalse();
  }

  @Test
  void theKeysNeverShowInTheirDescription() {
    assertThat(ROTATING.toString()).doesNotContain(OLD, NEW).contains("2");
  }
}
