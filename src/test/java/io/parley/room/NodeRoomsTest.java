package io.parley.room;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.ServerFrames;
import io.parley.protocol.User;
import io.parley.ws.OutFrame;
import io.parley.ws.Outbox;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node's {@link NodeRooms} on its own. Its connections have real {@link Outbox}es whose frames
 * arrive at a probe per socket. The test plays sharding (a probe per room id, which sees the
 * Wakes), each incarnation of a room (a probe that says Hello and answers requests as a room
 * would), and the clock that request timeouts are measured on.
 */
@ExtendWith(LogCapturingExtension.class)
class NodeRoomsTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  /** The epoch every room here says Hello with. */
  private static final String EPOCH = "epoch-1";
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final Duration QUIET = Duration.ofMillis(200);
  /** Measured on each node's manual clock: only a test that moves the clock reaches it. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(9);
  /**
   * The node's tick runs this often on the real scheduler, but repeats a Wake only once this much
   * has passed on its manual clock: Wakes are repeated only when a test moves the clock.
   */
  private static final Duration WAKE_INTERVAL = Duration.ofMillis(50);

  private static final User ANN = new User("ann", "Ann");
  private static final User BOB = new User("bob", "Bob");

  /** A connection of the node: its id, its user, and the frames its socket received. */
  private record Socket(String id, User user, TestProbe<String> frames) {
    JsonNode nextFrame() {
      return json(frames.receiveMessage());
    }

    void expectNoFrame() {
      frames.expectNoMessage(QUIET);
    }

    void expectError(ErrorCode code, String id, String room) {
      JsonNode error = nextFrame();
      assertThat(error.get("type").textValue()).isEqualTo("error");
      assertThat(error.get("payload").get("code").textValue()).isEqualTo(code.name());
      assertThat(error.get("payload").get("message").textValue()).isNotBlank();
      if (id == null) assertThat(error.has("id")).isFalse();
      else assertThat(error.get("id").textValue()).isEqualTo(id);
      assertThat(error.get("room").textValue()).isEqualTo(room);
    }

    void expectAck(String id, String room) {
      JsonNode ack = nextFrame();
      assertThat(ack.get("type").textValue()).isEqualTo("ack");
      assertThat(ack.get("id").textValue()).isEqualTo(id);
      assertThat(ack.get("room").textValue()).isEqualTo(room);
    }
  }

  /** A NodeRooms, the sharding it wakes rooms through, and its clock. */
  private static final class Node {
    final AtomicLong clock = new AtomicLong(1_000_000_000L);
    final Map<String, TestProbe<RoomActor.Command>> sharding = new ConcurrentHashMap<>();
    final ActorRef<NodeRooms.Command> ref;

    Node() {
      this(100);
    }

    Node(int roomsPerConnection) {
      ref = testKit.spawn(NodeRooms.create(room -> sharding(room).ref(),
          new NodeRooms.Settings(roomsPerConnection, REQUEST_TIMEOUT, WAKE_INTERVAL), clock::get));
    }

    /** What the room sees as this node. */
    ActorRef<NodeRooms.RoomEvent> self() {
      return ref.narrow();
    }

    TestProbe<RoomActor.Command> sharding(String room) {
      return sharding.computeIfAbsent(room, r -> testKit.createTestProbe());
    }

    Socket connect(User user) {
      TestProbe<String> frames = testKit.createTestProbe();
      Outbox outbox = Outbox.source(64, new SimpleMeterRegistry().counter("dropped")).map(OutFrame::text)
          .toMat(Sink.foreach(text -> frames.ref().tell(text)), Keep.left())
          .run(testKit.system());
      Socket socket = new Socket("conn-" + IDS.incrementAndGet(), user, frames);
      ref.tell(new NodeRooms.Connect(socket.id(), user, outbox));
      return socket;
    }

    void request(Socket socket, ClientRequest request) {
      ref.tell(new NodeRooms.Request(socket.id(), request));
    }

    void tell(NodeRooms.RoomEvent event) {
      ref.tell(event);
    }

    /** The node must wake the room through sharding (once more). */
    void expectWake(String room) {
      assertThat(sharding(room).expectMessageClass(RoomActor.Wake.class).node()).isEqualTo(self());
    }

    /** A new incarnation of the room greets the node; returns it, the node's snapshot read. */
    Incarnation hello(String room) {
      TestProbe<RoomActor.Command> probe = testKit.createTestProbe();
      ref.tell(new NodeRooms.Hello(room, probe.ref(), EPOCH));
      return new Incarnation(this, room, probe, probe.expectMessageClass(RoomActor.Snapshot.class));
    }

    /** Joins the sockets to a room the node has no link to yet, wakes it, and admits them all. */
    Incarnation joinAll(String room, Socket... sockets) {
      for (Socket socket : sockets) request(socket, new ClientRequest.JoinRoom(null, room));
      expectWake(room);
      Incarnation incarnation = hello(room);
      for (Socket socket : sockets) incarnation.admit(socket);
      return incarnation;
    }

    /** Returns once the node has handled everything sent to it so far (a Hello is answered in turn). */
    void sync() {
      hello(room());
    }

    /** Moves the node's clock; its next tick sees the new time. */
    void advance(Duration duration) {
      clock.addAndGet(duration.toNanos());
    }
  }

  /** One incarnation of a room, as the node sees it: a probe that answers like a room. */
  private record Incarnation(
      Node node, String room, TestProbe<RoomActor.Command> probe, RoomActor.Snapshot snapshot) {

    <T extends RoomActor.Command> T expect(Class<T> type) {
      return probe.expectMessageClass(type);
    }

    /** Reads the socket's Join, answers it with a room_info; the socket must get it. */
    RoomActor.Join admit(Socket socket, User... users) {
      RoomActor.Join join = expect(RoomActor.Join.class);
      assertThat(join.connectionId()).isEqualTo(socket.id());
      List<User> present = users.length == 0 ? List.of(socket.user()) : List.of(users);
      byte[] roomInfo = ServerFrames.roomInfo(room, join.id(), present, 0, "e", null);
      node.tell(new NodeRooms.Joined(room, join.ref(), join.connectionId(), roomInfo, present, List.of()));
      assertThat(socket.frames().receiveMessage()).isEqualTo(new String(roomInfo, StandardCharsets.UTF_8));
      return join;
    }

    /** A broadcast of this room to the node. */
    void deliver(String frame, String except, long seq) {
      node.tell(new NodeRooms.Deliver(room, bytes(frame), except, seq, null, 0, null));
    }

    void deliverPresence(User user, boolean present) {
      node.tell(new NodeRooms.Deliver(room, ServerFrames.presence(present, room, user), null, 0,
          new NodeRooms.PresenceChange(user, present), 0, null));
    }

    /** The room's answer to a Post: the message for the others, the ack inside for the poster. */
    NodeRooms.Reply answer(RoomActor.Post post, long seq) {
      NodeRooms.Reply ack = new NodeRooms.Reply(room, post.ref(), post.connectionId(),
          ServerFrames.messageAck(post.id(), room, post.messageId(), seq));
      byte[] message = ServerFrames.newMessage(room, post.messageId(), seq, post.user(), post.content(), post.replyTo());
      node.tell(new NodeRooms.Deliver(room, message, post.connectionId(), seq, null, 0, ack));
      return ack;
    }
  }

  private static String room() {
    return "node-room-" + IDS.incrementAndGet();
  }

  private static RequestId id(String id) {
    return new RequestId("\"" + id + "\"");
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static ClientRequest.SendMessage send(String id, String room, String content) {
    return new ClientRequest.SendMessage(id == null ? null : id(id), room, content, null);
  }

  // ---- waking a room ----------------------------------------------------------------------------

  @Test
  void joinWakesTheRoomThroughShardingAndWaitsForIt() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    node.request(ann, new ClientRequest.JoinRoom(id("j"), room));
    node.expectWake(room);
    ann.expectNoFrame();
  }

  @Test
  void helloIsAnsweredWithASnapshotThenTheWaitingRequestsInOrder() {
    Node node = new Node();
    String room = room();
    Socket ann1 = node.connect(ANN);
    Socket ann2 = node.connect(ANN);
    Socket bob = node.connect(BOB);
    node.request(ann1, new ClientRequest.JoinRoom(id("j-1"), room));
    node.request(ann2, new ClientRequest.JoinRoom(id("j-2"), room));
    node.request(bob, new ClientRequest.JoinRoom(id("j-3"), room));
    node.request(ann1, new ClientRequest.SendMessage(id("m-1"), room, "hello", "m-0"));
    node.request(bob, new ClientRequest.OnlineUsers(id("o-1"), room));
    node.expectWake(room);

    Incarnation incarnation = node.hello(room);
    RoomActor.Snapshot snapshot = incarnation.snapshot();
    assertThat(snapshot.node()).isEqualTo(node.self());
    assertThat(snapshot.users()).containsExactlyInAnyOrder(new UserCount(ANN, 2), new UserCount(BOB, 1));
    assertThat(snapshot.lastSeq()).isZero();
    assertThat(snapshot.seen()).isEmpty();

    RoomActor.Join first = incarnation.expect(RoomActor.Join.class);
    assertThat(first).isEqualTo(new RoomActor.Join(node.self(), first.ref(), ann1.id(), ANN, 2, id("j-1"), 0, null));
    RoomActor.Join second = incarnation.expect(RoomActor.Join.class);
    assertThat(second).isEqualTo(new RoomActor.Join(node.self(), second.ref(), ann2.id(), ANN, 2, id("j-2"), 0, null));
    RoomActor.Join third = incarnation.expect(RoomActor.Join.class);
    assertThat(third).isEqualTo(new RoomActor.Join(node.self(), third.ref(), bob.id(), BOB, 1, id("j-3"), 0, null));
    RoomActor.Post post = incarnation.expect(RoomActor.Post.class);
    assertThat(post.connectionId()).isEqualTo(ann1.id());
    assertThat(post.user()).isEqualTo(ANN);
    assertThat(post.id()).isEqualTo(id("m-1"));
    assertThat(post.content()).isEqualTo("hello");
    assertThat(post.replyTo()).isEqualTo("m-0");
    assertThat(post.messageId()).isNotBlank();
    RoomActor.GetOnline online = incarnation.expect(RoomActor.GetOnline.class);
    assertThat(online.connectionId()).isEqualTo(bob.id());
    assertThat(online.id()).isEqualTo(id("o-1"));
    assertThat(List.of(first.ref(), second.ref(), third.ref(), post.ref(), online.ref()))
        .doesNotHaveDuplicates().isSorted();
    node.sharding(room).expectNoMessage(QUIET);
  }

  @Test
  void requestsGoStraightToTheIncarnationThatSaidHello() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation incarnation = node.joinAll(room, ann);

    node.request(ann, send("m-1", room, "hi"));
    assertThat(incarnation.expect(RoomActor.Post.class).content()).isEqualTo("hi");
    node.request(ann, new ClientRequest.OnlineUsers(null, room));
    incarnation.expect(RoomActor.GetOnline.class);
    node.sharding(room).expectNoMessage(QUIET);
  }

  @Test
  void anUnansweredWakeIsRepeatedEveryWakeIntervalUntilTheRoomSaysHello() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    node.request(ann, new ClientRequest.JoinRoom(null, room));
    node.expectWake(room);
    node.sharding(room).expectNoMessage(QUIET);

    node.advance(WAKE_INTERVAL);
    node.expectWake(room);
    node.advance(WAKE_INTERVAL);
    node.expectWake(room);

    node.hello(room);
    node.advance(WAKE_INTERVAL);
    node.sharding(room).expectNoMessage(QUIET);
  }

  @Test
  void theRoomInfoOfAJoinGoesToTheJoiner() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Socket bob = node.connect(BOB);
    Incarnation incarnation = node.joinAll(room, ann);

    node.request(bob, new ClientRequest.JoinRoom(id("j-b"), room));
    RoomActor.Join join = incarnation.admit(bob, ANN, BOB);
    assertThat(join.id()).isEqualTo(id("j-b"));
    ann.expectNoFrame();
  }

  @Test
  void aStandaloneReplyGoesToItsConnection() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Socket bob = node.connect(BOB);
    Incarnation incarnation = node.joinAll(room, ann, bob);

    node.request(ann, new ClientRequest.OnlineUsers(id("o"), room));
    RoomActor.GetOnline get = incarnation.expect(RoomActor.GetOnline.class);
    node.tell(new NodeRooms.Reply(room, get.ref(), get.connectionId(), bytes("{\"online\":2}")));
    assertThat(ann.frames().receiveMessage()).isEqualTo("{\"online\":2}");
    bob.expectNoFrame();
  }

  // ---- membership -------------------------------------------------------------------------------

  @Test
  void roomRequestsOutsideAJoinedRoomGetNotInRoom() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    node.request(ann, send("m-1", room, "hi"));
    ann.expectError(ErrorCode.NOT_IN_ROOM, "m-1", room);
    node.request(ann, new ClientRequest.Typing(id("t-1"), room, true));
    ann.expectError(ErrorCode.NOT_IN_ROOM, "t-1", room);
    node.request(ann, new ClientRequest.Typing(null, room, false));
    ann.expectError(ErrorCode.NOT_IN_ROOM, null, room);
    node.request(ann, new ClientRequest.OnlineUsers(new RequestId("5"), room));
    JsonNode error = ann.nextFrame();
    assertThat(error.get("payload").get("code").textValue()).isEqualTo("NOT_IN_ROOM");
    assertThat(error.get("id").intValue()).isEqualTo(5);
    node.sharding(room).expectNoMessage(QUIET);
  }

  @Test
  void joiningBeyondTheRoomsPerConnectionGetsTooManyRooms() {
    Node node = new Node(2);
    Socket ann = node.connect(ANN);
    String a = room();
    String b = room();
    String c = room();
    node.request(ann, new ClientRequest.JoinRoom(null, a));
    node.request(ann, new ClientRequest.JoinRoom(null, b));
    node.request(ann, new ClientRequest.JoinRoom(id("j-3"), c));
    ann.expectError(ErrorCode.TOO_MANY_ROOMS, "j-3", c);
    node.sharding(c).expectNoMessage(QUIET);

    node.request(ann, send("m", c, "hi"));
    ann.expectError(ErrorCode.NOT_IN_ROOM, "m", c);
  }

  @Test
  void joiningAJoinedRoomAgainAtTheCapGoesToTheRoom() {
    Node node = new Node(2);
    Socket ann = node.connect(ANN);
    String a = room();
    Incarnation inA = node.joinAll(a, ann);
    node.joinAll(room(), ann);

    node.request(ann, new ClientRequest.JoinRoom(id("again"), a));
    RoomActor.Join again = inA.expect(RoomActor.Join.class);
    assertThat(again.id()).isEqualTo(id("again"));
    assertThat(again.connections()).isEqualTo(1);
    ann.expectNoFrame();
  }

  @Test
  void leavingARoomNotJoinedIsAckedLocallyWithoutWakingIt() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    node.request(ann, new ClientRequest.LeaveRoom(id("l-1"), room));
    ann.expectAck("l-1", room);
    node.sharding(room).expectNoMessage(QUIET);
  }

  @Test
  void leavingARoomNotJoinedWithoutIdSendsNothing() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    node.request(ann, new ClientRequest.LeaveRoom(null, room));
    ann.expectNoFrame();
    node.sharding(room).expectNoMessage(Duration.ZERO);
  }

  @Test
  void leaveIsAckedLocallyAndTellsTheRoomTheUsersNewCount() {
    Node node = new Node();
    String room = room();
    Socket ann1 = node.connect(ANN);
    Socket ann2 = node.connect(ANN);
    Socket bob = node.connect(BOB);
    Incarnation incarnation = node.joinAll(room, ann1, ann2, bob);

    node.request(ann1, new ClientRequest.LeaveRoom(id("l-1"), room));
    ann1.expectAck("l-1", room);
    assertThat(incarnation.expect(RoomActor.Presence.class)).isEqualTo(new RoomActor.Presence(node.self(), ANN, 1));
    node.request(bob, new ClientRequest.LeaveRoom(null, room));
    assertThat(incarnation.expect(RoomActor.Presence.class)).isEqualTo(new RoomActor.Presence(node.self(), BOB, 0));
    bob.expectNoFrame();

    node.request(ann1, send("m", room, "still there?"));
    ann1.expectError(ErrorCode.NOT_IN_ROOM, "m", room);
    incarnation.probe().expectNoMessage(QUIET);
  }

  @Test
  void leavingARoomFreesASlotUnderTheCap() {
    Node node = new Node(1);
    Socket ann = node.connect(ANN);
    String a = room();
    node.joinAll(a, ann);
    node.request(ann, new ClientRequest.LeaveRoom(null, a));

    node.joinAll(room(), ann);
  }

  @Test
  void leavingWithdrawsTheRequestsThatHaveNotReachedTheRoom() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Socket bob = node.connect(BOB);
    Incarnation first = node.joinAll(room, ann, bob);
    first.probe().stop();
    node.expectWake(room);

    node.request(ann, send("m", room, "into the void"));
    node.request(ann, new ClientRequest.LeaveRoom(id("l"), room));
    ann.expectError(ErrorCode.UNAVAILABLE, "m", room);
    ann.expectAck("l", room);
    Incarnation next = node.hello(room);
    assertThat(next.snapshot().users()).containsExactly(new UserCount(BOB, 1));
    next.probe().expectNoMessage(QUIET);
  }

  // ---- fan-out ----------------------------------------------------------------------------------

  @Test
  void deliverReachesEveryMemberButTheExceptedOne() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Socket bob = node.connect(BOB);
    Socket annAgain = node.connect(ANN);
    Socket outsider = node.connect(BOB);
    Incarnation incarnation = node.joinAll(room, ann, bob, annAgain);
    node.joinAll(room(), outsider);

    incarnation.deliver("{\"n\":1}", ann.id(), 1);
    bob.frames().expectMessage("{\"n\":1}");
    annAgain.frames().expectMessage("{\"n\":1}");
    ann.expectNoFrame();
    outsider.frames().expectNoMessage(Duration.ZERO);

    incarnation.deliver("{\"n\":2}", null, 2);
    for (Socket member : List.of(ann, bob, annAgain)) member.frames().expectMessage("{\"n\":2}");
  }

  @Test
  void aJoinerGetsTheRoomsFramesFromItsRoomInfoOnNotBefore() {
    Node node = new Node();
    String room = room();
    Socket early = node.connect(ANN);
    Socket joiner = node.connect(BOB);
    Incarnation incarnation = node.joinAll(room, early);

    node.request(joiner, new ClientRequest.JoinRoom(null, room));
    RoomActor.Join join = incarnation.expect(RoomActor.Join.class);
    incarnation.deliver("{\"before\":1}", null, 7);
    node.tell(new NodeRooms.Joined(room, join.ref(), joiner.id(), bytes("{\"room_info\":1}"), List.of(ANN, BOB), List.of()));
    incarnation.deliver("{\"after\":1}", null, 8);
    joiner.frames().expectMessage("{\"room_info\":1}");
    joiner.frames().expectMessage("{\"after\":1}");
    early.frames().expectMessage("{\"before\":1}");
    early.frames().expectMessage("{\"after\":1}");
  }

  @Test
  void aMessageSeqAlreadyDeliveredIsDroppedAndFramesWithoutSeqAlwaysPass() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation incarnation = node.joinAll(room, ann);

    incarnation.deliver("{\"seq\":5}", null, 5);
    incarnation.deliver("{\"seq\":5,\"again\":true}", null, 5);
    incarnation.deliver("{\"seq\":4}", null, 4);
    incarnation.deliver("{\"typing\":true}", null, 0);
    incarnation.deliver("{\"typing\":false}", null, 0);
    incarnation.deliver("{\"seq\":6}", null, 6);
    ann.frames().expectMessage("{\"seq\":5}");
    ann.frames().expectMessage("{\"typing\":true}");
    ann.frames().expectMessage("{\"typing\":false}");
    ann.frames().expectMessage("{\"seq\":6}");
    ann.expectNoFrame();
  }

  @Test
  void theAckInsideADeliverReachesThePosterWhomTheMessageExcepts() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Socket bob = node.connect(BOB);
    Incarnation incarnation = node.joinAll(room, ann, bob);

    node.request(ann, send("m-1", room, "hello"));
    RoomActor.Post post = incarnation.expect(RoomActor.Post.class);
    incarnation.answer(post, 1);
    JsonNode ack = ann.nextFrame();
    assertThat(ack.get("type").textValue()).isEqualTo("ack");
    assertThat(ack.get("id").textValue()).isEqualTo("m-1");
    assertThat(ack.get("payload").get("message_id").textValue()).isEqualTo(post.messageId());
    JsonNode message = bob.nextFrame();
    assertThat(message.get("type").textValue()).isEqualTo("new_message");
    assertThat(message.get("id").textValue()).isEqualTo(post.messageId());
    ann.expectNoFrame();
  }

  // ---- incarnations -----------------------------------------------------------------------------

  @Test
  void theSnapshotTellsTheLastSeqDeliveredAndTheUsersLastSeen() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    User cid = new User("cid", "Cid");
    node.request(ann, new ClientRequest.JoinRoom(null, room));
    node.expectWake(room);
    Incarnation first = node.hello(room);
    first.admit(ann, ANN, BOB);
    first.deliverPresence(cid, true);
    first.deliverPresence(BOB, false);
    first.deliver("{\"seq\":41}", null, 41);
    first.deliver("{\"seq\":42}", null, 42);
    first.deliver("{\"typing\":true}", null, 0);
    for (int i = 0; i < 5; i++) ann.frames().receiveMessage();

    Incarnation next = node.hello(room);
    assertThat(next.snapshot()).isEqualTo(
        new RoomActor.Snapshot(node.self(), List.of(new UserCount(ANN, 1)), 42, List.of(ANN, cid)));
  }

  @Test
  void helloForARoomWithNoMembersHereGetsAnEmptySnapshot() {
    Node node = new Node();
    Incarnation incarnation = node.hello(room());
    assertThat(incarnation.snapshot()).isEqualTo(new RoomActor.Snapshot(node.self(), List.of(), 0, List.of()));
    incarnation.probe().expectNoMessage(QUIET);
  }

  @Test
  void pendingRequestsGoToTheNextIncarnationWhenTheCurrentOneStops() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation first = node.joinAll(room, ann);
    node.request(ann, send("m-1", room, "in flight"));
    RoomActor.Post post = first.expect(RoomActor.Post.class);

    first.probe().stop();
    node.expectWake(room);
    Incarnation next = node.hello(room);
    assertThat(next.snapshot().users()).containsExactly(new UserCount(ANN, 1));
    assertThat(next.expect(RoomActor.Post.class)).isEqualTo(post);
    ann.expectNoFrame();
  }

  @Test
  void aNewIncarnationThatSaysHelloGetsTheUnansweredRequestsOnly() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation first = node.joinAll(room, ann);
    node.request(ann, new ClientRequest.OnlineUsers(id("o"), room));
    node.request(ann, send("m-1", room, "unanswered"));
    RoomActor.GetOnline answered = first.expect(RoomActor.GetOnline.class);
    RoomActor.Post unanswered = first.expect(RoomActor.Post.class);
    node.tell(new NodeRooms.Reply(room, answered.ref(), ann.id(), bytes("{\"online\":1}")));
    ann.frames().expectMessage("{\"online\":1}");

    Incarnation next = node.hello(room);
    assertThat(next.expect(RoomActor.Post.class)).isEqualTo(unanswered);
    next.probe().expectNoMessage(QUIET);
    node.sharding(room).expectNoMessage(Duration.ZERO);
  }

  @Test
  void aSecondHelloFromTheSameIncarnationGetsASnapshotButNoRequestTwice() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation incarnation = node.joinAll(room, ann);
    node.request(ann, send("m-1", room, "once"));
    incarnation.expect(RoomActor.Post.class);

    node.tell(new NodeRooms.Hello(room, incarnation.probe().ref(), EPOCH));
    assertThat(incarnation.expect(RoomActor.Snapshot.class).users()).containsExactly(new UserCount(ANN, 1));
    incarnation.probe().expectNoMessage(QUIET);
  }

  @Test
  void aRequestWhoseSenderLeftGetsUnavailableWhenTheRoomStopsWithoutAnswering() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation first = node.joinAll(room, ann);
    node.request(ann, send("m-1", room, "and goodbye"));
    first.expect(RoomActor.Post.class);
    node.request(ann, new ClientRequest.LeaveRoom(id("l"), room));
    ann.expectAck("l", room);

    first.probe().stop();
    ann.expectError(ErrorCode.UNAVAILABLE, "m-1", room);
    node.sharding(room).expectNoMessage(QUIET);
  }

  @Test
  void aRequestAnsweredByTwoIncarnationsIsAnsweredOnce() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Socket bob = node.connect(BOB);
    Incarnation first = node.joinAll(room, ann, bob);
    node.request(ann, send("m-1", room, "hello"));
    RoomActor.Post post = first.expect(RoomActor.Post.class);
    // the room moves: a new incarnation greets the node before the old one's answer arrives
    Incarnation next = node.hello(room);
    assertThat(next.expect(RoomActor.Post.class)).isEqualTo(post);

    first.answer(post, 1);
    next.answer(post, 1);
    assertThat(ann.nextFrame().get("type").textValue()).isEqualTo("ack");
    assertThat(bob.nextFrame().get("type").textValue()).isEqualTo("new_message");
    ann.expectNoFrame();
    bob.expectNoFrame();
  }

  // ---- request timeout --------------------------------------------------------------------------

  @Test
  void aRequestThatFindsNoIncarnationGetsUnavailableAfterTheRequestTimeout() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation first = node.joinAll(room, ann);
    first.probe().stop();
    node.expectWake(room);
    node.request(ann, send("m-1", room, "anyone?"));
    node.sync();

    node.advance(REQUEST_TIMEOUT.minusNanos(1));
    ann.expectNoFrame();
    node.advance(Duration.ofNanos(1));
    ann.expectError(ErrorCode.UNAVAILABLE, "m-1", room);
    ann.expectNoFrame();

    assertThat(node.hello(room).snapshot().users()).as("still a member").containsExactly(new UserCount(ANN, 1));
  }

  @Test
  void aTimedOutJoinLeavesNoMembership() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    node.request(ann, new ClientRequest.JoinRoom(id("j"), room));
    node.expectWake(room);

    node.advance(REQUEST_TIMEOUT);
    ann.expectError(ErrorCode.UNAVAILABLE, "j", room);
    node.request(ann, send("m", room, "am I in?"));
    ann.expectError(ErrorCode.NOT_IN_ROOM, "m", room);
    Incarnation late = node.hello(room);
    assertThat(late.snapshot().users()).isEmpty();
    late.probe().expectNoMessage(QUIET);
  }

  @Test
  void timedOutRequestsGetUnavailableOnceEach() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    node.request(ann, new ClientRequest.JoinRoom(id("j"), room));
    node.request(ann, send("m", room, "right after joining"));
    node.expectWake(room);
    node.sync();

    node.advance(REQUEST_TIMEOUT);
    ann.expectError(ErrorCode.UNAVAILABLE, "j", room);
    ann.expectError(ErrorCode.UNAVAILABLE, "m", room);
    ann.expectNoFrame();
  }

  // ---- refusal, disconnect, typing --------------------------------------------------------------

  @Test
  void refusedFailsTheRoomsRequestsWithItsCodeAndDropsItsMembers() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Socket bob = node.connect(BOB);
    node.request(ann, new ClientRequest.JoinRoom(id("j-a"), room));
    node.request(bob, new ClientRequest.JoinRoom(id("j-b"), room));
    node.expectWake(room);

    node.tell(new NodeRooms.Refused(room, ErrorCode.TOO_MANY_ROOMS, "this node is full"));
    ann.expectError(ErrorCode.TOO_MANY_ROOMS, "j-a", room);
    bob.expectError(ErrorCode.TOO_MANY_ROOMS, "j-b", room);
    node.request(ann, send("m", room, "in?"));
    ann.expectError(ErrorCode.NOT_IN_ROOM, "m", room);
    node.advance(WAKE_INTERVAL);
    node.sharding(room).expectNoMessage(QUIET);
  }

  @Test
  void membersWithNoRequestWaitingHearTheRefusalToo() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation first = node.joinAll(room, ann);
    first.probe().stop(); // the room moves to a node that is full
    node.expectWake(room);

    node.tell(new NodeRooms.Refused(room, ErrorCode.TOO_MANY_ROOMS, "this node is full"));
    ann.expectError(ErrorCode.TOO_MANY_ROOMS, null, room);
    node.request(ann, send("m", room, "in?"));
    ann.expectError(ErrorCode.NOT_IN_ROOM, "m", room);
  }

  @Test
  void disconnectTellsEachRoomTheUsersNewCountAndEndsItsFrames() {
    Node node = new Node();
    String one = room();
    String two = room();
    Socket ann1 = node.connect(ANN);
    Socket ann2 = node.connect(ANN);
    Incarnation inOne = node.joinAll(one, ann1, ann2);
    Incarnation inTwo = node.joinAll(two, ann1);

    node.ref.tell(new NodeRooms.Disconnect(ann1.id()));
    assertThat(inOne.expect(RoomActor.Presence.class)).isEqualTo(new RoomActor.Presence(node.self(), ANN, 1));
    assertThat(inTwo.expect(RoomActor.Presence.class)).isEqualTo(new RoomActor.Presence(node.self(), ANN, 0));
    inOne.deliver("{\"after\":1}", null, 0);
    ann2.frames().expectMessage("{\"after\":1}");
    ann1.expectNoFrame();
  }

  @Test
  void typingGoesToTheIncarnation() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation incarnation = node.joinAll(room, ann);

    node.request(ann, new ClientRequest.Typing(null, room, true));
    assertThat(incarnation.expect(RoomActor.Typing.class)).isEqualTo(new RoomActor.Typing(node.self(), ann.id(), ANN, true));
    node.request(ann, new ClientRequest.Typing(null, room, false));
    assertThat(incarnation.expect(RoomActor.Typing.class).typing()).isFalse();
  }

  @Test
  void typingWithoutAnIncarnationIsDropped() {
    Node node = new Node();
    String room = room();
    Socket ann = node.connect(ANN);
    Incarnation first = node.joinAll(room, ann);
    first.probe().stop();
    node.expectWake(room);

    node.request(ann, new ClientRequest.Typing(id("t"), room, true));
    Incarnation next = node.hello(room);
    next.probe().expectNoMessage(QUIET);
    ann.expectNoFrame();
  }
}
