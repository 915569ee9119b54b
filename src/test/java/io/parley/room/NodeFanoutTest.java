package io.parley.room;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.parley.protocol.User;
import io.parley.ws.OutFrame;
import io.parley.ws.Outbox;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The node's fan-out on its own: real outboxes, rooms played by probes. */
@ExtendWith(LogCapturingExtension.class)
class NodeFanoutTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final User ANN = new User("ann", "Ann");
  private static final User BOB = new User("bob", "Bob");

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A fan-out whose rooms are probes, one per room id. */
  private static final class Fixture {
    final Map<String, TestProbe<RoomActor.Command>> rooms = new ConcurrentHashMap<>();
    final Map<String, TestProbe<String>> sockets = new ConcurrentHashMap<>();
    final ActorRef<NodeFanout.Command> fanout = testKit.spawn(NodeFanout.create(
        room -> rooms.computeIfAbsent(room, r -> testKit.<RoomActor.Command>createTestProbe()).ref()));

    /** Registers a connection whose socket is a probe receiving frame texts. */
    TestProbe<String> connect(String connectionId) {
      TestProbe<String> socket = testKit.createTestProbe();
      Outbox outbox = Outbox.source(16, new SimpleMeterRegistry().counter("dropped"))
          .map(OutFrame::text)
          .toMat(Sink.foreach(text -> socket.ref().tell(text)), Keep.left())
          .run(testKit.system());
      fanout.tell(new NodeFanout.Register(connectionId, outbox));
      sockets.put(connectionId, socket);
      return socket;
    }

    Member subscribe(String room, String connectionId, User user) {
      Member member = new Member(connectionId, user, testKit.createTestProbe().ref(), fanout);
      fanout.tell(new NodeFanout.Subscribe(room, member));
      return member;
    }

    /** Subscribes and plays the room's answer to the join: a room_info, seen by the socket. */
    Member join(String room, String connectionId, User user) {
      Member member = subscribe(room, connectionId, user);
      String roomInfo = "{\"room_info\":\"" + connectionId + "\"}";
      fanout.tell(new NodeFanout.DeliverTo(connectionId, frame(roomInfo), room, List.of(user)));
      sockets.get(connectionId).expectMessage(roomInfo);
      return member;
    }
  }

  private static String room() {
    return "fan-room-" + IDS.incrementAndGet();
  }

  private static byte[] frame(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void deliverGoesToEverySubscriberOfTheRoomButTheExceptedOne() {
    Fixture f = new Fixture();
    String room = room();
    TestProbe<String> a = f.connect("a");
    TestProbe<String> b = f.connect("b");
    TestProbe<String> outsider = f.connect("c");
    f.join(room, "a", ANN);
    f.join(room, "b", BOB);
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{\"n\":1}"), "a", 1, null, 0));
    b.expectMessage("{\"n\":1}");
    a.expectNoMessage(Duration.ofMillis(200));
    outsider.expectNoMessage(Duration.ofMillis(50));
  }

  @Test
  void deliverToReachesOneConnectionWhateverItsRooms() {
    Fixture f = new Fixture();
    TestProbe<String> a = f.connect("a2");
    f.fanout.tell(new NodeFanout.DeliverTo("a2", frame("{\"reply\":true}"), null, null));
    a.expectMessage("{\"reply\":true}");
  }

  @Test
  void unsubscribedAndUnregisteredConnectionsGetNothingMore() {
    Fixture f = new Fixture();
    String room = room();
    TestProbe<String> a = f.connect("a3");
    TestProbe<String> b = f.connect("b3");
    f.join(room, "a3", ANN);
    f.join(room, "b3", BOB);
    f.fanout.tell(new NodeFanout.Unsubscribe(room, "a3"));
    f.fanout.tell(new NodeFanout.Unregister("b3", Set.of(room)));
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{}"), null, 0, null, 0));
    f.fanout.tell(new NodeFanout.DeliverTo("b3", frame("{}"), null, null));
    a.expectNoMessage(Duration.ofMillis(200));
    b.expectNoMessage(Duration.ofMillis(50));
  }

  @Test
  void whenANodeLeavesEveryRoomGetsItsLocalMembersLastSeqAndKnownUsers() {
    Fixture f = new Fixture();
    String room = room();
    f.connect("a4");
    f.connect("b4");
    Member ann = f.subscribe(room, "a4", ANN);
    Member bob = f.subscribe(room, "b4", BOB);
    User gone = new User("gone", "Gone");
    f.fanout.tell(new NodeFanout.DeliverTo("a4", frame("{}"), room, List.of(ANN, gone)));
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{}"), null, 0,
        new NodeFanout.PresenceChange(BOB, true), 0));
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{}"), null, 41, null, 0));
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{}"), null, 42, null, 0));

    assertThat(f.rooms).as("no room is asked anything before a node leaves").isEmpty();
    f.fanout.tell(NodeFanout.NodeLeft.INSTANCE);
    testKit.createTestProbe().awaitAssert(() -> assertThat(f.rooms).containsKey(room));
    RoomActor.Rejoin rejoin = f.rooms.get(room).expectMessageClass(RoomActor.Rejoin.class);
    assertThat(rejoin.members()).containsExactlyInAnyOrder(ann, bob);
    assertThat(rejoin.seq()).isEqualTo(42);
    assertThat(rejoin.users()).containsExactly(ANN, gone, BOB);
    assertThat(rejoin.replyTo()).isEqualTo(f.fanout);
  }

  @Test
  void rejoinIsRepeatedUntilTheRoomAcknowledgesIt() {
    Fixture f = new Fixture();
    String room = room();
    f.connect("a6");
    f.subscribe(room, "a6", ANN);
    f.fanout.tell(NodeFanout.NodeLeft.INSTANCE);
    testKit.createTestProbe().awaitAssert(() -> assertThat(f.rooms).containsKey(room));
    TestProbe<RoomActor.Command> roomProbe = f.rooms.get(room);
    roomProbe.expectMessageClass(RoomActor.Rejoin.class); // lost, say
    RoomActor.Rejoin again = roomProbe.expectMessageClass(
        RoomActor.Rejoin.class, NodeFanout.REJOIN_RETRY.plusSeconds(2));
    again.replyTo().tell(new NodeFanout.Rejoined(room));
    roomProbe.expectNoMessage(NodeFanout.REJOIN_RETRY.multipliedBy(3));
  }

  @Test
  void roomsWithoutLocalSubscribersAreNotRejoined() {
    Fixture f = new Fixture();
    String room = room();
    String other = room();
    f.connect("a5");
    f.subscribe(room, "a5", ANN);
    f.fanout.tell(new NodeFanout.Unsubscribe(room, "a5"));
    f.subscribe(other, "a5", ANN);
    f.fanout.tell(NodeFanout.NodeLeft.INSTANCE);
    // the rejoin of the room that still has a subscriber shows the fan-out has acted on NodeLeft
    testKit.createTestProbe().awaitAssert(() -> assertThat(f.rooms).containsKey(other));
    f.rooms.get(other).expectMessageClass(RoomActor.Rejoin.class);
    assertThat(f.rooms).doesNotContainKey(room);
  }

  @Test
  void aJoinerGetsTheRoomsFramesFromItsRoomInfoOnNotBefore() {
    Fixture f = new Fixture();
    String room = room();
    f.connect("early");
    f.join(room, "early", ANN);
    TestProbe<String> joiner = f.connect("joiner");
    f.subscribe(room, "joiner", BOB);
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{\"before\":1}"), null, 7, null, 0));
    f.fanout.tell(new NodeFanout.DeliverTo("joiner", frame("{\"room_info\":1}"), room, List.of(ANN, BOB)));
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{\"after\":1}"), null, 8, null, 0));
    joiner.expectMessage("{\"room_info\":1}");
    joiner.expectMessage("{\"after\":1}");
    f.sockets.get("early").expectMessage("{\"before\":1}");
    f.sockets.get("early").expectMessage("{\"after\":1}");
  }

  @Test
  void deliverWithoutExceptionReachesEverySubscriber() {
    Fixture f = new Fixture();
    String room = room();
    List<TestProbe<String>> sockets = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      sockets.add(f.connect("m" + i));
      f.join(room, "m" + i, new User("u" + i, "U" + i));
    }
    f.fanout.tell(new NodeFanout.Deliver(room, frame("{\"all\":1}"), null, 1, null, 0));
    for (TestProbe<String> socket : sockets) socket.expectMessage("{\"all\":1}");
  }
}
