package io.parley.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.parley.client.ClientActor;
import io.parley.protocol.RequestId;
import io.parley.protocol.User;
import io.parley.room.Member;
import io.parley.room.NodeFanout;
import io.parley.room.RoomActor;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every message that crosses nodes round-trips through the project's CBOR serializer, with the
 * node's real serialization config (Java serialization off).
 */
class CborSerializationTest {
  private static ActorTestKit kit;
  private static SerializationTestKit serialization;
  private static Member member;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create("CborSerializationTest", ConfigFactory.parseString("""
            pekko.actor.provider = cluster
            pekko.remote.artery.canonical.hostname = 127.0.0.1
            pekko.remote.artery.canonical.port = 0
            pekko.fail-mixed-versions = off
            """)
        .withFallback(ConfigFactory.parseResources("serialization.conf")));
    serialization = kit.serializationTestKit();
    ActorRef<String> client = kit.createTestProbe(String.class).ref();
    ActorRef<NodeFanout.Command> fanout = kit.createTestProbe(NodeFanout.Command.class).ref();
    member = new Member("c-1", new User("u1", "Ann ☃"), client, fanout);
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static void roundTrips(Object message) {
    assertThat(SerializationExtension.get(kit.system().classicSystem()).findSerializerFor(message))
        .isInstanceOf(JacksonCborSerializer.class);
    serialization.verifySerialization(message, true);
  }

  @Test
  void javaSerializationIsOff() {
    assertThat(kit.system().settings().config().getBoolean("pekko.actor.allow-java-serialization")).isFalse();
  }

  @Test
  void roomCommandsRoundTrip() {
    RequestId id = new RequestId("\"c-17\"");
    roundTrips(new RoomActor.Join(member, id));
    roundTrips(new RoomActor.Join(member, null));
    roundTrips(new RoomActor.Leave(member, new RequestId("42")));
    roundTrips(new RoomActor.Post(member, id, "hello \u0000 ünïcode 🎉", "m-1"));
    roundTrips(new RoomActor.Post(member, null, "no reply", null));
    roundTrips(new RoomActor.Typing(member, true));
    roundTrips(new RoomActor.GetOnline(member, id));
    roundTrips(new RoomActor.Rejoin(
        List.of(member, member), 41, List.of(member.user(), new User("u2", "Ben")), member.fanout()));
    roundTrips(new RoomActor.Rejoin(List.of(), 0, List.of(), null));
    roundTrips(new NodeFanout.Rejoined("room-1"));
    roundTrips(new ClientActor.JoinRefused("room-1"));
  }

  @Test
  void deliveriesRoundTripWithTheirFrameBytes() {
    byte[] frame = "{\"type\":\"new_message\",\"payload\":{\"content\":\"ü\"}}".getBytes(StandardCharsets.UTF_8);
    NodeFanout.PresenceChange left = new NodeFanout.PresenceChange(member.user(), false);
    NodeFanout.Deliver deliver = new NodeFanout.Deliver("room-1", frame, "c-1", 7, left, 1_795_000_000_000L);
    NodeFanout.Deliver back = (NodeFanout.Deliver) serialization.verifySerialization(deliver, false);
    assertThat(back.frame()).isEqualTo(frame);
    assertThat(back.room()).isEqualTo("room-1");
    assertThat(back.except()).isEqualTo("c-1");
    assertThat(back.seq()).isEqualTo(7);
    assertThat(back.presence()).isEqualTo(left);
    assertThat(back.sentAt()).isEqualTo(1_795_000_000_000L);
    NodeFanout.Deliver plain = (NodeFanout.Deliver) serialization.verifySerialization(
        new NodeFanout.Deliver("room-1", frame, null, 0, null, 0), false);
    assertThat(plain.except()).isNull();
    assertThat(plain.presence()).isNull();

    NodeFanout.DeliverTo to = new NodeFanout.DeliverTo("c-2", frame, "room-1", List.of(member.user()));
    NodeFanout.DeliverTo toBack = (NodeFanout.DeliverTo) serialization.verifySerialization(to, false);
    assertThat(toBack.frame()).isEqualTo(frame);
    assertThat(toBack.connectionId()).isEqualTo("c-2");
    assertThat(toBack.room()).isEqualTo("room-1");
    assertThat(toBack.users()).containsExactly(member.user());
    assertThat(((NodeFanout.DeliverTo) serialization.verifySerialization(
        new NodeFanout.DeliverTo("c-2", frame, null, null), false)).users()).isNull();
  }
}
