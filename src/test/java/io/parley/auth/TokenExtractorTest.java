package io.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** docs/protocol.md, "Connecting": where the token comes from, and which subprotocol is echoed. */
class TokenExtractorTest {
  private static final Optional<String> NONE = Optional.empty();

  @Test
  void queryParameterComesFirst() {
    TokenExtractor.Found found =
        TokenExtractor.extract(Optional.of("q"), Optional.of("Bearer h"), List.of("bearer", "p"));
    assertThat(found.token()).isEqualTo("q");
  }

  @Test
  void bearerAuthorizationHeaderComesSecond() {
    assertThat(TokenExtractor.extract(NONE, Optional.of("Bearer h.e.ader"), List.of()).token())
        .isEqualTo("h.e.ader");
    assertThat(TokenExtractor.extract(NONE, Optional.of("bearer  spaced "), List.of()).token())
        .isEqualTo("spaced");
    assertThat(TokenExtractor.extract(Optional.of(""), Optional.of("Bearer h"), List.of()).token())
        .as("an empty query parameter is no token").isEqualTo("h");
  }

  @Test
  void otherAuthorizationSchemesCarryNoToken() {
    assertThat(TokenExtractor.extract(NONE, Optional.of("Basic dXNlcjpwdw=="), List.of()).token()).isNull();
    assertThat(TokenExtractor.extract(NONE, Optional.of("Bearer"), List.of()).token()).isNull();
  }

  @Test
  void singleOfferedProtocolIsTheTokenAndIsEchoed() {
    TokenExtractor.Found found = TokenExtractor.extract(NONE, NONE, List.of("a.b.c"));
    assertThat(found.token()).isEqualTo("a.b.c");
    assertThat(found.subprotocol()).contains("a.b.c");
  }

  @Test
  void bearerProtocolPairCarriesTheTokenAndBearerIsEchoed() {
    TokenExtractor.Found found = TokenExtractor.extract(NONE, NONE, List.of("bearer", "a.b.c"));
    assertThat(found.token()).isEqualTo("a.b.c");
    assertThat(found.subprotocol()).contains("bearer");
  }

  @Test
  void bearerIsEchoedEvenWhenTheTokenCameFromTheQuery() {
    TokenExtractor.Found found = TokenExtractor.extract(Optional.of("q"), NONE, List.of("bearer", "p"));
    assertThat(found.token()).isEqualTo("q");
    assertThat(found.subprotocol()).contains("bearer");
  }

  @Test
  void unrelatedProtocolsAreNeitherTokenNorEchoed() {
    TokenExtractor.Found found = TokenExtractor.extract(Optional.of("q"), NONE, List.of("chat", "v2"));
    assertThat(found.token()).isEqualTo("q");
    assertThat(found.subprotocol()).isEmpty();
  }

  @Test
  void nothingOfferedMeansNoToken() {
    TokenExtractor.Found found = TokenExtractor.extract(NONE, NONE, List.of());
    assertThat(found.token()).isNull();
    assertThat(found.subprotocol()).isEmpty();
  }
}
