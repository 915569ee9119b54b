package io.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.User;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Server API bodies decoded into calls, and each way a body is refused (docs/protocol.md, "Server API"). */
class ApiCallDecoderTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ApiCall decode(Endpoint endpoint, String body) {
    return ApiCallDecoder.decode(endpoint, body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void publishKeepsThePayloadAsGivenAndDefaultsTheSenderToServer() throws Exception {
    String payload = "{\"content\":\"Deploy finished\",\"level\":\"info\",\"links\":[{\"href\":\"/b/1842\"}],\"n\":1.5}";
    ApiCall call = decode(Endpoint.PUBLISH, "{\"room\":\"general\",\"payload\":" + payload + "}");
    ApiCall.Publish publish = (ApiCall.Publish) call;
    assertThat(publish.room()).isEqualTo("general");
    assertThat(JSON.readTree(publish.payload())).isEqualTo(JSON.readTree(payload));
    assertThat(publish.sender()).isEqualTo(new User("server", "server"));
    assertThat(publish.idempotencyKey()).isNull();
  }

  @Test
  void publishTakesASenderAndAnIdempotencyKey() {
    ApiCall.Publish publish = (ApiCall.Publish) decode(Endpoint.PUBLISH,
        "{\"room\":\"r\",\"payload\":{\"content\":\"x\"},\"sender\":{\"id\":\"ci\",\"name\":\"CI\"},\"idempotency_key\":\"deploy-1842\"}");
    assertThat(publish.sender()).isEqualTo(new User("ci", "CI"));
    assertThat(publish.idempotencyKey()).isEqualTo("deploy-1842");
    ApiCall.Publish unnamed = (ApiCall.Publish) decode(Endpoint.PUBLISH,
        "{\"room\":\"r\",\"payload\":{\"content\":\"x\"},\"sender\":{\"id\":\"ci\"}}");
    assertThat(unnamed.sender()).isEqualTo(new User("ci", "ci"));
  }

  @Test
  void aPayloadWithAnUnpairedSurrogateIsWrittenEscapedSoThatRoomsCanWriteItRaw() {
    ApiCall.Publish publish = (ApiCall.Publish) decode(Endpoint.PUBLISH,
        "{\"room\":\"r\",\"payload\":{\"content\":\"a\\ud800b \u00fc\"}}");
    assertThat(publish.payload()).contains("\\uD800").doesNotContain("\ud800");
  }

  @Test
  void broadcastKeepsTheOrderOfItsRooms() {
    ApiCall.Broadcast broadcast = (ApiCall.Broadcast) decode(Endpoint.BROADCAST,
        "{\"rooms\":[\"b\",\"a\",\"b\"],\"payload\":{\"content\":\"x\"},\"idempotency_key\":\"k\"}");
    assertThat(broadcast.rooms()).containsExactly("b", "a", "b");
    assertThat(broadcast.idempotencyKey()).isEqualTo("k");
  }

  @Test
  void historyReadsItsFieldsAsTheWebSocketRequestReadsItsPayload() {
    assertThat(decode(Endpoint.HISTORY, "{\"room\":\"r\"}")).isEqualTo(new ApiCall.History("r", null, null, 50));
    assertThat(decode(Endpoint.HISTORY, "{\"room\":\"r\",\"before\":40,\"limit\":100}"))
        .isEqualTo(new ApiCall.History("r", 40L, null, 100));
    assertThat(decode(Endpoint.HISTORY, "{\"room\":\"r\",\"after\":0,\"limit\":1}"))
        .isEqualTo(new ApiCall.History("r", null, 0L, 1));
  }

  @Test
  void presenceAndDisconnect() {
    assertThat(decode(Endpoint.PRESENCE, "{\"room\":\"r\",\"extra\":1}")).isEqualTo(new ApiCall.Presence("r"));
    assertThat(decode(Endpoint.DISCONNECT, "{\"user\":\"ann\"}")).isEqualTo(new ApiCall.Disconnect("ann"));
  }

  @Test
  void aBroadcastToOneHundredRoomsIsAcceptedAndToOneHundredAndOneRefused() {
    String hundred = String.join(",", java.util.Collections.nCopies(100, "\"r\""));
    assertThat(decode(Endpoint.BROADCAST, "{\"rooms\":[" + hundred + "],\"payload\":{\"content\":\"x\"}}"))
        .isInstanceOf(ApiCall.Broadcast.class);
    assertThat(decode(Endpoint.BROADCAST, "{\"rooms\":[" + hundred + ",\"r\"],\"payload\":{\"content\":\"x\"}}"))
        .isEqualTo(new ApiCall.Invalid(ErrorCode.INVALID_PAYLOAD, "rooms must be an array of 1-100 room ids"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      PUBLISH    | not json                                                   | INVALID_FORMAT
      PUBLISH    | `{"room":"r"} trailing`                                    | INVALID_FORMAT
      PUBLISH    | `[1,2]`                                                    | INVALID_FORMAT
      PUBLISH    | `{"payload":{"content":"x"}}`                              | MISSING_ROOM
      PUBLISH    | `{"room":"","payload":{"content":"x"}}`                    | MISSING_ROOM
      PUBLISH    | `{"room":7,"payload":{"content":"x"}}`                     | INVALID_ROOM
      PUBLISH    | `{"room":"two words","payload":{"content":"x"}}`           | INVALID_ROOM
      PUBLISH    | `{"room":"r"}`                                             | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":"{\\"content\\":\\"x\\"}"}`         | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{}}`                                | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{"content":""}}`                    | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{"content":3}}`                     | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{"content":"x","reply_to":5}}`      | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{"content":"x"},"sender":"ci"}`     | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{"content":"x"},"sender":{"name":"CI"}}` | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{"content":"x"},"idempotency_key":""}`   | INVALID_PAYLOAD
      PUBLISH    | `{"room":"r","payload":{"content":"x"},"idempotency_key":17}`   | INVALID_PAYLOAD
      BROADCAST  | `{"payload":{"content":"x"}}`                              | MISSING_ROOM
      BROADCAST  | `{"rooms":[],"payload":{"content":"x"}}`                   | INVALID_PAYLOAD
      BROADCAST  | `{"rooms":"r","payload":{"content":"x"}}`                  | INVALID_PAYLOAD
      BROADCAST  | `{"rooms":["a","b c"],"payload":{"content":"x"}}`          | INVALID_ROOM
      BROADCAST  | `{"rooms":["a",""],"payload":{"content":"x"}}`             | MISSING_ROOM
      BROADCAST  | `{"rooms":["a"],"payload":{"content":""}}`                 | INVALID_PAYLOAD
      HISTORY    | `{}`                                                       | MISSING_ROOM
      HISTORY    | `{"room":"r","limit":0}`                                   | INVALID_PAYLOAD
      HISTORY    | `{"room":"r","limit":101}`                                 | INVALID_PAYLOAD
      HISTORY    | `{"room":"r","before":-1}`                                 | INVALID_PAYLOAD
      HISTORY    | `{"room":"r","before":5,"after":1}`                        | INVALID_PAYLOAD
      PRESENCE   | `{"room":null}`                                            | MISSING_ROOM
      PRESENCE   | `{"room":"x/y"}`                                           | INVALID_ROOM
      DISCONNECT | `{}`                                                       | INVALID_PAYLOAD
      DISCONNECT | `{"user":""}`                                              | INVALID_PAYLOAD
      DISCONNECT | `{"user":["ann"]}`                                         | INVALID_PAYLOAD
      """)
  void aBodyThatIsNotAValidCallIsRefusedWithItsCode(Endpoint endpoint, String body, ErrorCode code) {
    ApiCall call = decode(endpoint, body);
    assertThat(call).isInstanceOfSatisfying(ApiCall.Invalid.class, invalid -> {
      assertThat(invalid.code()).isEqualTo(code);
      assertThat(invalid.message()).isNotBlank().doesNotContain("payload.before", "Exception");
    });
  }

  @Test
  void aDeeplyNestedPayloadIsNotJsonTheServerTakes() {
    String deep = "[".repeat(40) + "]".repeat(40);
    assertThat(decode(Endpoint.PUBLISH, "{\"room\":\"r\",\"payload\":{\"content\":\"x\",\"d\":" + deep + "}}"))
        .isEqualTo(new ApiCall.Invalid(ErrorCode.INVALID_FORMAT, "the body is not valid JSON"));
  }

  @Test
  void historyErrorsNameTheFieldsOfTheBody() {
    assertThat(((ApiCall.Invalid) decode(Endpoint.HISTORY, "{\"room\":\"r\",\"limit\":0}")).message())
        .isEqualTo("limit must be an integer 1-100");
    assertThat(List.of(((ApiCall.Invalid) decode(Endpoint.HISTORY, "{\"room\":\"r\",\"before\":5,\"after\":1}")).message()))
        .containsExactly("before and after cannot be combined");
  }
}
