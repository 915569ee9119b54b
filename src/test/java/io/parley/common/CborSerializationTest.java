package io.parley.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.parley.client.Connections;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.User;
import io.parley.room.NodeRooms;
import io.parley.room.RoomActor;
import io.parley.room.UserCount;
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
 * node's real serialization config (Java serialization off): what nodes send rooms, and what
 * rooms send nodes.
 */
class CborSerializationTest {
  private static ActorTestKit kit;
  private static SerializationTestKit serialization;
  private static ActorRef<NodeRooms.RoomEvent> node;
  private static ActorRef<RoomActor.Command> room;
  private static final User ANN = new User("u1", "Ann ☃");
  private static final RequestId ID = new RequestId("\"c-17\"");
  private static final byte[] FRAME =
      "{\"type\":\"new_message\",\"payload\":{\"content\":\"ü\"}}".getBytes(StandardCharsets.UTF_8);

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
    node = kit.createTestProbe(NodeRooms.RoomEvent.class).ref();
    room = kit.createTestProbe(RoomActor.Command.class).ref();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static Object roundTrips(Object message) {
    assertThat(SerializationExtension.get(kit.system().classicSystem()).findSerializerFor(message))
        .isInstanceOf(JacksonCborSerializer.class);
    return serialization.verifySerialization(message, false);
  }

  @Test
  void javaSerializationIsOff() {
    assertThat(kit.system().settings().config().getBoolean("pekko.actor.allow-java-serialization")).isFalse();
  }

  @Test
  void whatNodesSendRoomsRoundTrips() {
    for (RoomActor.Command command : List.<RoomActor.Command>of(
        new RoomActor.Wake(node),
        new RoomActor.Snapshot(node, List.of(new UserCount(ANN, 2)), 41, List.of(ANN, new User("u2", "Ben"))),
        new RoomActor.Snapshot(node, List.of(), 0, List.of()),
        new RoomActor.Join(node, 7, "c-1", ANN, 1, ID, 50, new ClientRequest.Since(41, "e-1")),
        new RoomActor.Join(node, 8, "c-1", ANN, 1, null, 0, null),
        new RoomActor.Presence(node, ANN, 0),
        new RoomActor.Post(node, 9, "c-1", ANN, new RequestId("42"), "m-1", "hello \u0000 ünïcode 🎉", "m-0"),
        new RoomActor.Post(node, 10, "c-1", ANN, null, "m-2", "no reply", null),
        new RoomActor.Typing(node, "c-1", ANN, true),
        new RoomActor.GetOnline(node, 11, "c-1", ID),
        new RoomActor.GetHistory(node, 12, "c-1", ID, 40L, null, 50),
        new RoomActor.GetHistory(node, 13, "c-1", null, null, null, 1))) {
      assertThat(roundTrips(command)).isEqualTo(command);
    }
  }

  @Test
  void whatRoomsSendNodesRoundTripsWithTheFrameBytes() {
    NodeRooms.Hello hello = new NodeRooms.Hello("room-1", room, "e-1");
    assertThat(roundTrips(hello)).isEqualTo(hello);
    NodeRooms.Refused refused = new NodeRooms.Refused("room-1", ErrorCode.TOO_MANY_ROOMS, "full");
    assertThat(roundTrips(refused)).isEqualTo(refused);

    NodeRooms.PresenceChange left = new NodeRooms.PresenceChange(ANN, false);
    NodeRooms.Reply ack = new NodeRooms.Reply("room-1", 9, "c-1", FRAME);
    NodeRooms.Deliver deliver = new NodeRooms.Deliver("room-1", FRAME, "c-1", 7, left, 1_795_000_000_000L, ack);
    NodeRooms.Deliver back = (NodeRooms.Deliver) roundTrips(deliver);
    assertThat(back.frame()).isEqualTo(FRAME);
    assertThat(back.room()).isEqualTo("room-1");
    assertThat(back.except()).isEqualTo("c-1");
    assertThat(back.seq()).isEqualTo(7);
    assertThat(back.presence()).isEqualTo(left);
    assertThat(back.sentAt()).isEqualTo(1_795_000_000_000L);
    assertThat(back.reply().frame()).isEqualTo(FRAME);
    assertThat(back.reply().ref()).isEqualTo(9);
    NodeRooms.Deliver plain = (NodeRooms.Deliver) roundTrips(
        new NodeRooms.Deliver("room-1", FRAME, null, 0, null, 0, null));
    assertThat(plain.except()).isNull();
    assertThat(plain.presence()).isNull();
    assertThat(plain.reply()).isNull();

    NodeRooms.Joined joined = (NodeRooms.Joined) roundTrips(
        new NodeRooms.Joined("room-1", 7, "c-2", FRAME, List.of(ANN), List.of(FRAME, FRAME)));
    assertThat(joined.roomInfo()).isEqualTo(FRAME);
    assertThat(joined.replay()).hasSize(2).allSatisfy(frame -> assertThat(frame).isEqualTo(FRAME));
    assertThat(joined.users()).containsExactly(ANN);
    assertThat(joined.ref()).isEqualTo(7);
    NodeRooms.Reply reply = (NodeRooms.Reply) roundTrips(ack);
    assertThat(reply.connectionId()).isEqualTo("c-1");
  }

  @Test
  void serverApiCallsAndTheirAnswersRoundTrip() {
    ActorRef<RoomActor.ApiReply> caller = kit.createTestProbe(RoomActor.ApiReply.class).ref();
    for (RoomActor.Command command : List.<RoomActor.Command>of(
        new RoomActor.Publish("{\"content\":\"ü \\ud83c\\udf89\",\"n\":[1,null]}", ANN, "deploy-1842", 1_795_000_000_000L, caller),
        new RoomActor.Publish("{\"content\":\"x\"}", ANN, null, 0, caller),
        new RoomActor.ReadHistory(40L, null, 50, caller),
        new RoomActor.ReadHistory(null, null, 1, caller),
        new RoomActor.ListUsers(caller))) {
      assertThat(roundTrips(command)).isEqualTo(command);
    }
    for (RoomActor.ApiReply answer : List.<RoomActor.ApiReply>of(
        new RoomActor.Published("m-1", 42, "e-1"),
        new RoomActor.Users(List.of(ANN)),
        new RoomActor.Failed(ErrorCode.UNAVAILABLE, "store down"))) {
      assertThat(roundTrips(answer)).isEqualTo(answer);
    }
    RoomActor.HistoryPage page = (RoomActor.HistoryPage) roundTrips(new RoomActor.HistoryPage("e-1", 7, List.of(FRAME)));
    assertThat(page.messages()).singleElement().isEqualTo(FRAME);
    assertThat(page.seq()).isEqualTo(7);

    ActorRef<Connections.UserDisconnected> disconnected = kit.createTestProbe(Connections.UserDisconnected.class).ref();
    Connections.DisconnectUser disconnect = new Connections.DisconnectUser("u1", disconnected);
    assertThat(roundTrips(disconnect)).isEqualTo(disconnect);
    assertThat(roundTrips(new Connections.UserDisconnected(3))).isEqualTo(new Connections.UserDisconnected(3));
  }
}
