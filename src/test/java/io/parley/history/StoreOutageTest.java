package io.parley.history;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.testing.TcpProxy;
import io.parley.testing.TestCluster;
import io.parley.testing.TestNode;
import io.parley.testing.TestPostgres;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The store goes away and comes back (a real PostgreSQL behind a link the test cuts): a message
 * sent meanwhile gets UNAVAILABLE and reaches nobody, readiness goes down, and the node recovers
 * by itself, continuing the seq, once the store answers again.
 */
class StoreOutageTest {
  private static final Pattern HOST_PORT = Pattern.compile("//([^:/]+):(\\d+)/");
  private static TcpProxy proxy;
  private static ParleyNode node;
  private static ActorTestKit kit;
  private static TestProbe<Object> waiter;

  @BeforeAll
  static void start() throws Exception {
    String database = TestPostgres.newDatabase();
    Matcher server = HOST_PORT.matcher(database);
    assertThat(server.find()).isTrue();
    proxy = new TcpProxy(new InetSocketAddress(server.group(1), Integer.parseInt(server.group(2))));
    node = TestNode.start("""
        parley.storage.url = "%s"
        parley.storage.timeout = 1s
        """.formatted(HOST_PORT.matcher(database).replaceFirst("//127.0.0.1:" + proxy.port() + "/")));
    kit = ActorTestKit.create("StoreOutageTestProbes");
    waiter = kit.createTestProbe();
  }

  @AfterAll
  static void stop() throws Exception {
    kit.shutdownTestKit();
    node.close();
    proxy.close();
  }

  private static WsClient connect(String user) {
    return WsClient.connected(TestNode.wsUri(node, TestTokens.token(user, user)));
  }

  private static JsonNode post(WsClient client, String id) {
    client.send("{\"type\":\"send_message\",\"room\":\"outage\",\"id\":\"" + id
        + "\",\"payload\":{\"content\":\"" + id + "\"}}");
    JsonNode reply;
    do {
      reply = client.next();
    } while (!reply.path("id").asText().equals(id));
    return reply;
  }

  @Test
  void aStoreOutageAnswersUnavailableSendsNothingAndHealsByItself() throws Exception {
    try (WsClient ann = connect("ann"); WsClient ben = connect("ben")) {
      ann.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"outage\"}}");
      ann.expect("room_info");
      ben.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"outage\"}}");
      ben.expect("room_info");
      ann.expect("user_joined");
      assertThat(post(ann, "before").path("payload").path("seq").asLong()).isEqualTo(1);
      assertThat(ben.expect("new_message").path("seq").asLong()).isEqualTo(1);

      proxy.cut();
      JsonNode refused = post(ann, "during");
      assertThat(refused.path("type").asText()).isEqualTo("error");
      assertThat(refused.path("payload").path("code").asText()).isEqualTo("UNAVAILABLE");
      ben.expectNoFrame(Duration.ofMillis(500));
      waiter.awaitAssert(Duration.ofSeconds(15), Duration.ofMillis(200),
          () -> assertThat(TestCluster.get(node, "/ready").statusCode()).isEqualTo(503));

      proxy.restore();
      waiter.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200),
          () -> assertThat(TestCluster.get(node, "/ready").statusCode()).isEqualTo(200));
      JsonNode after = waiter.awaitAssert(Duration.ofSeconds(15), Duration.ofMillis(500), () -> {
        JsonNode reply = post(ann, "after-" + System.nanoTime());
        assertThat(reply.path("type").asText()).as("%s", reply).isEqualTo("ack");
        return reply;
      });
      assertThat(after.path("payload").path("seq").asLong()).as("nothing stored meanwhile").isEqualTo(2);
      assertThat(ben.expect("new_message").path("seq").asLong()).isEqualTo(2);
    }
  }
}
