package io.parley.room;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.metrics.ParleyMetrics;
import io.parley.protocol.ErrorCode;
import io.parley.history.RoomLog;
import io.parley.history.RoomLogs;
import io.parley.protocol.RequestId;
import io.parley.protocol.User;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The room entity on its own. The test plays the shard (a probe that sees Passivate), the nodes
 * the room's site names (a probe per node's {@link NodeRooms}, which gets Hello, Deliver, Joined,
 * Reply and Refused) and everything those nodes send the room. {@link HostedRooms} is real.
 *
 * <p>A room's life: it asks HostedRooms for a place, greets every node with Hello, waits for
 * their Snapshots (requests wait meanwhile), announces what changed while it was away, then
 * runs. Its members are nodes: a node reports how many connections each of its users has in the
 * room, and the room sends each node one Deliver per broadcast.
 */
@ExtendWith(LogCapturingExtension.class)
class RoomActorTest {

  static final ActorTestKit testKit = ActorTestKit.create();
  /** A cap no test reaches: every room here is admitted unless a test says otherwise. */
  static final ActorRef<HostedRooms.Command> HOSTED = testKit.spawn(HostedRooms.create(1_000_000));
  /** The rooms' log: a real store (H2 in memory), so that messages are stored before they go out. */
  static final RoomLog LOG = RoomLog.open(RoomLogs.inMemory());
  private static final int CACHE = 100;

  @AfterAll
  static void shutdownTestKit() {
    testKit.shutdownTestKit();
    LOG.close();
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger ROOMS = new AtomicInteger();
  private static final AtomicLong REFS = new AtomicLong();
  private static final Duration QUIET = Duration.ofMillis(200);
  /** So long that only the tests about the gather timeout ever reach it. */
  private static final Duration NO_GATHER_TIMEOUT = Duration.ofMinutes(10);
  private static final String TIMESTAMP = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

  private static final User ANN = new User("u-ann", "Ann");
  private static final User BOB = new User("u-bob", "Bob");
  private static final User CID = new User("u-cid", "Cid");
  private static final User DAN = new User("u-dan", "Dan");

  /** One node's {@link NodeRooms}, as the room sees it. */
  private static TestProbe<NodeRooms.RoomEvent> node() {
    return testKit.createTestProbe();
  }

  /** Greets as a room incarnation does: its room, itself, and its log's epoch. */
  private static void assertGreeting(NodeRooms.Hello hello, String roomId, ActorRef<RoomActor.Command> incarnation) {
    assertThat(hello.room()).isEqualTo(roomId);
    assertThat(hello.incarnation()).isEqualTo(incarnation);
    assertThat(hello.epoch()).isNotBlank();
  }

  /** A room under test, the shard it asks to passivate, and the nodes its site names. */
  private static final class Room {
    final String id;
    final TestProbe<ClusterSharding.ShardCommand> shard;
    final ActorRef<RoomActor.Command> ref;

    @SafeVarargs
    Room(ActorTestKit kit, ActorRef<HostedRooms.Command> hosted, Duration gatherTimeout,
        TestProbe<NodeRooms.RoomEvent>... nodes) {
      this("room-" + ROOMS.incrementAndGet(), kit, hosted, gatherTimeout, nodes);
    }

    /** An incarnation of room {@code id}: its log is kept from one incarnation to the next. */
    @SafeVarargs
    Room(String id, ActorTestKit kit, ActorRef<HostedRooms.Command> hosted, Duration gatherTimeout,
        TestProbe<NodeRooms.RoomEvent>... nodes) {
      this.id = id;
      List<ActorRef<NodeRooms.RoomEvent>> refs = Arrays.stream(nodes).map(TestProbe::ref).toList();
      shard = kit.createTestProbe();
      ref = kit.spawn(RoomActor.create(id, shard.ref(),
          new RoomActor.Site(hosted, () -> refs, LOG, gatherTimeout, CACHE, Duration.ZERO)));
    }

    void tell(RoomActor.Command command) {
      ref.tell(command);
    }

    /** The node must have been greeted by this room; answers for it with {@code snapshot}. */
    void greeted(TestProbe<NodeRooms.RoomEvent> node, List<UserCount> users, long lastSeq, List<User> seen) {
      assertGreeting(node.expectMessageClass(NodeRooms.Hello.class), id, ref);
      tell(new RoomActor.Snapshot(node.ref(), users, lastSeq, seen));
    }
  }

  /** A new room, greeting the nodes and waiting for their snapshots. */
  @SafeVarargs
  private static Room starting(TestProbe<NodeRooms.RoomEvent>... nodes) {
    return new Room(testKit, HOSTED, NO_GATHER_TIMEOUT, nodes);
  }

  /**
   * A new room whose nodes all answered its Hello with an empty snapshot: it runs, with no
   * members yet. (Having none, it asked its shard to passivate at once; tests about passivation
   * start from snapshots with members instead.)
   */
  @SafeVarargs
  private static Room running(TestProbe<NodeRooms.RoomEvent>... nodes) {
    Room room = starting(nodes);
    for (TestProbe<NodeRooms.RoomEvent> node : nodes) room.greeted(node, List.of(), 0, List.of());
    return room;
  }

  private static RoomActor.Join join(
      TestProbe<NodeRooms.RoomEvent> node, String connectionId, User user, int connections, RequestId id) {
    return new RoomActor.Join(node.ref(), REFS.incrementAndGet(), connectionId, user, connections, id, 0, null);
  }

  private static RoomActor.Post post(TestProbe<NodeRooms.RoomEvent> node, String connectionId, User user,
      RequestId id, String content, String replyTo) {
    return new RoomActor.Post(node.ref(), REFS.incrementAndGet(), connectionId, user, id,
        "msg-" + REFS.incrementAndGet(), content, replyTo);
  }

  private static RoomActor.GetOnline getOnline(
      TestProbe<NodeRooms.RoomEvent> node, String connectionId, RequestId id) {
    return new RoomActor.GetOnline(node.ref(), REFS.incrementAndGet(), connectionId, id);
  }

  /** Joins and returns the room's answer, skipping the broadcasts the node gets before it. */
  private static NodeRooms.Joined joined(
      Room room, TestProbe<NodeRooms.RoomEvent> node, String connectionId, User user, int connections) {
    RoomActor.Join join = join(node, connectionId, user, connections, null);
    room.tell(join);
    return fish(node, NodeRooms.Joined.class, joined -> joined.ref() == join.ref());
  }

  /** Waits until the node has had everything the room sent it so far, and drops it. */
  private static void settle(Room room, TestProbe<NodeRooms.RoomEvent> node) {
    RoomActor.GetOnline barrier = getOnline(node, "barrier", null);
    room.tell(barrier);
    fish(node, NodeRooms.Reply.class, reply -> reply.ref() == barrier.ref());
  }

  /** Skips the node's messages until one of {@code type} matches; returns it. */
  private static <T extends NodeRooms.RoomEvent> T fish(
      TestProbe<NodeRooms.RoomEvent> node, Class<T> type, Predicate<T> match) {
    List<NodeRooms.RoomEvent> seen = node.fishForMessage(Duration.ofSeconds(10), message ->
        type.isInstance(message) && match.test(type.cast(message))
            ? FishingOutcomes.complete()
            : FishingOutcomes.continueAndIgnore());
    return type.cast(seen.get(seen.size() - 1));
  }

  /** The node's next message must be a broadcast of this room. */
  private static NodeRooms.Deliver expectDeliver(TestProbe<NodeRooms.RoomEvent> node, Room room) {
    NodeRooms.Deliver deliver = node.expectMessageClass(NodeRooms.Deliver.class);
    assertThat(deliver.room()).isEqualTo(room.id);
    return deliver;
  }

  /**
   * The node's next message must announce that {@code user} arrived (or left): a user_joined
   * (user_left) frame with the user as sender and payload, which also tells the node the change.
   */
  private static NodeRooms.Deliver expectPresence(
      TestProbe<NodeRooms.RoomEvent> node, Room room, User user, boolean arrived) {
    NodeRooms.Deliver deliver = expectDeliver(node, room);
    assertThat(deliver.presence()).isEqualTo(new NodeRooms.PresenceChange(user, arrived));
    assertThat(deliver.seq()).isZero();
    assertThat(deliver.reply()).isNull();
    JsonNode frame = json(deliver.frame());
    assertThat(frame.get("type").textValue()).isEqualTo(arrived ? "user_joined" : "user_left");
    assertThat(frame.get("room").textValue()).isEqualTo(room.id);
    assertUser(frame.get("sender"), user);
    assertUser(frame.get("payload"), user);
    assertThat(frame.get("timestamp").textValue()).matches(TIMESTAMP);
    return deliver;
  }

  private static RequestId id(String id) {
    return new RequestId("\"" + id + "\"");
  }

  private static JsonNode json(byte[] frame) {
    try {
      return JSON.readTree(frame);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void assertUser(JsonNode node, User user) {
    assertThat(node.get("id").textValue()).isEqualTo(user.id());
    assertThat(node.get("name").textValue()).isEqualTo(user.name());
  }

  private static List<String> userIds(JsonNode usersFrame) {
    List<String> ids = new ArrayList<>();
    usersFrame.get("payload").get("users").forEach(user -> ids.add(user.get("id").textValue()));
    return ids;
  }

  /** The room's online users, asked through the node, whose next message must be the answer. */
  private static List<String> onlineUserIds(Room room, TestProbe<NodeRooms.RoomEvent> node) {
    RoomActor.GetOnline get = getOnline(node, "asker", null);
    room.tell(get);
    NodeRooms.Reply reply = node.expectMessageClass(NodeRooms.Reply.class);
    assertThat(reply.ref()).isEqualTo(get.ref());
    return userIds(json(reply.frame()));
  }

  /** Runs {@code test} in an actor system of its own, whose meters no other test touches. */
  private static void inOwnSystem(String name, Consumer<ActorTestKit> test) {
    ActorTestKit kit = ActorTestKit.create(name);
    try {
      test.accept(kit);
    } finally {
      kit.shutdownTestKit();
    }
  }

  // ---- joining ----------------------------------------------------------------------------------

  @Test
  void joinerGetsRoomInfoWithItsIdAndTheDistinctUsersInOrderOfArrival() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", ANN, 2);
    joined(room, node, "c3", BOB, 1);

    RoomActor.Join join = join(node, "c4", CID, 1, id("j-1"));
    room.tell(join);
    expectPresence(node, room, CID, true);
    NodeRooms.Joined joined = node.expectMessageClass(NodeRooms.Joined.class);
    assertThat(joined.room()).isEqualTo(room.id);
    assertThat(joined.ref()).isEqualTo(join.ref());
    assertThat(joined.connectionId()).isEqualTo("c4");
    assertThat(joined.users()).containsExactly(ANN, BOB, CID);
    JsonNode info = json(joined.roomInfo());
    assertThat(info.get("type").textValue()).isEqualTo("room_info");
    assertThat(info.get("id").textValue()).isEqualTo("j-1");
    assertThat(info.get("room").textValue()).isEqualTo(room.id);
    assertThat(info.get("payload").get("room_id").textValue()).isEqualTo(room.id);
    assertThat(userIds(info)).containsExactly(ANN.id(), BOB.id(), CID.id());
    assertThat(info.get("payload").get("count").intValue()).isEqualTo(3);
    assertThat(info.get("timestamp").textValue()).matches(TIMESTAMP);
  }

  @Test
  void joinerGetsNumericRequestIdEchoedAsANumber() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    RoomActor.Join join = join(node, "c1", ANN, 1, new RequestId("41"));
    room.tell(join);
    JsonNode info = json(fish(node, NodeRooms.Joined.class, joined -> joined.ref() == join.ref()).roomInfo());
    assertThat(info.get("id").isIntegralNumber()).isTrue();
    assertThat(info.get("id").intValue()).isEqualTo(41);
  }

  @Test
  void othersGetUserJoinedWithTheUserAsSenderAndPayloadBeforeTheJoinerGetsRoomInfo() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);

    room.tell(join(node, "c2", BOB, 1, null));
    assertThat(expectPresence(node, room, BOB, true).except()).isEqualTo("c2");
    assertThat(node.expectMessageClass(NodeRooms.Joined.class).connectionId()).isEqualTo("c2");
  }

  @Test
  void userJoinedGoesToEveryNodeWithMembersTheJoinersNodeIncluded() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    settle(room, nodeA);

    room.tell(join(nodeB, "b1", BOB, 1, null));
    expectPresence(nodeA, room, BOB, true);
    expectPresence(nodeB, room, BOB, true);
    assertThat(nodeB.expectMessageClass(NodeRooms.Joined.class).users()).containsExactly(ANN, BOB);
  }

  @Test
  void secondConnectionOfSameUserDoesNotAnnounceJoin() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", BOB, 1);

    room.tell(join(node, "c3", ANN, 2, id("j-2")));
    NodeRooms.Joined joined = node.expectMessageClass(NodeRooms.Joined.class);
    JsonNode info = json(joined.roomInfo());
    assertThat(userIds(info)).containsExactly(ANN.id(), BOB.id());
    assertThat(info.get("payload").get("count").intValue()).isEqualTo(2);
    node.expectNoMessage(QUIET);
  }

  @Test
  void sameUserJoiningThroughASecondNodeDoesNotAnnounceJoin() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    settle(room, nodeA);

    room.tell(join(nodeB, "b1", ANN, 1, null));
    assertThat(nodeB.expectMessageClass(NodeRooms.Joined.class).users()).containsExactly(ANN);
    nodeA.expectNoMessage(QUIET);
    nodeB.expectNoMessage(Duration.ZERO);
  }

  @Test
  void joiningAgainAnswersRoomInfoAgainWithoutEvent() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", BOB, 1);

    room.tell(join(node, "c1", ANN, 1, id("again")));
    JsonNode info = json(node.expectMessageClass(NodeRooms.Joined.class).roomInfo());
    assertThat(info.get("type").textValue()).isEqualTo("room_info");
    assertThat(info.get("id").textValue()).isEqualTo("again");
    assertThat(info.get("payload").get("count").intValue()).isEqualTo(2);
    node.expectNoMessage(QUIET);
  }

  // ---- presence ---------------------------------------------------------------------------------

  @Test
  void userLeftOnlyWhenTheUsersLastConnectionOnTheNodeGoes() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", ANN, 2);
    joined(room, node, "c3", BOB, 1);

    room.tell(new RoomActor.Presence(node.ref(), ANN, 1));
    node.expectNoMessage(QUIET);

    room.tell(new RoomActor.Presence(node.ref(), ANN, 0));
    assertThat(expectPresence(node, room, ANN, false).except()).isNull();
    assertThat(onlineUserIds(room, node)).containsExactly(BOB.id());
  }

  @Test
  void userOnTwoNodesLeavesOnlyWhenGoneFromBoth() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    joined(room, nodeA, "a2", BOB, 1);
    joined(room, nodeB, "b1", ANN, 1);
    settle(room, nodeA);

    room.tell(new RoomActor.Presence(nodeB.ref(), ANN, 0));
    nodeA.expectNoMessage(QUIET);
    room.tell(new RoomActor.Presence(nodeA.ref(), ANN, 0));
    expectPresence(nodeA, room, ANN, false);
    nodeA.expectNoMessage(QUIET);
  }

  @Test
  void presenceOfAUserWhoIsNotInTheRoomChangesNothing() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);

    room.tell(new RoomActor.Presence(node.ref(), CID, 0));
    node.expectNoMessage(QUIET);
    assertThat(onlineUserIds(room, node)).containsExactly(ANN.id());
  }

  @Test
  void presenceThatBringsAUserInAnnouncesUserJoinedToEveryone() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);

    room.tell(new RoomActor.Presence(node.ref(), CID, 1));
    expectPresence(node, room, CID, true);
    assertThat(onlineUserIds(room, node)).containsExactly(ANN.id(), CID.id());
  }

  // ---- messages ---------------------------------------------------------------------------------

  @Test
  void messageIsDeliveredToTheRoomExceptTheSendingConnection() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", ANN, 2);
    joined(room, node, "c3", BOB, 1);

    room.tell(post(node, "c1", ANN, id("m-1"), "Hello!", null));
    NodeRooms.Deliver message = expectDeliver(node, room);
    assertThat(message.except()).isEqualTo("c1");
    assertThat(message.presence()).isNull();
    JsonNode frame = json(message.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("new_message");
    assertThat(frame.get("room").textValue()).isEqualTo(room.id);
    assertThat(frame.get("payload").get("content").textValue()).isEqualTo("Hello!");
  }

  @Test
  void ackTravelsInsideThePostersNodeDeliverWithMessageIdAndSeq() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);

    RoomActor.Post post = post(node, "c1", ANN, id("m-1"), "Hello!", null);
    room.tell(post);
    NodeRooms.Deliver message = expectDeliver(node, room);
    JsonNode frame = json(message.frame());
    NodeRooms.Reply reply = message.reply();
    assertThat(reply).isNotNull();
    assertThat(reply.room()).isEqualTo(room.id);
    assertThat(reply.ref()).isEqualTo(post.ref());
    assertThat(reply.connectionId()).isEqualTo("c1");
    JsonNode ack = json(reply.frame());
    assertThat(ack.get("type").textValue()).isEqualTo("ack");
    assertThat(ack.get("id").textValue()).isEqualTo("m-1");
    assertThat(ack.get("room").textValue()).isEqualTo(room.id);
    assertThat(ack.get("payload").get("message_id").textValue()).isEqualTo(post.messageId());
    assertThat(frame.get("id").textValue()).isEqualTo(post.messageId());
    assertThat(ack.get("payload").get("seq").longValue()).isEqualTo(1).isEqualTo(frame.get("seq").longValue());
    assertThat(message.seq()).isEqualTo(1);
    node.expectNoMessage(QUIET);
  }

  @Test
  void messagesAreNumberedOneTwoThreeInOrder() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", BOB, 1);

    room.tell(post(node, "c1", ANN, id("a"), "one", null));
    room.tell(post(node, "c2", BOB, id("b"), "two", null));
    room.tell(post(node, "c1", ANN, id("c"), "three", null));
    List<String> contents = List.of("one", "two", "three");
    List<String> messageIds = new ArrayList<>();
    for (int expected = 1; expected <= 3; expected++) {
      NodeRooms.Deliver message = expectDeliver(node, room);
      JsonNode frame = json(message.frame());
      assertThat(message.seq()).isEqualTo(expected);
      assertThat(frame.get("seq").longValue()).isEqualTo(expected);
      assertThat(frame.get("payload").get("content").textValue()).isEqualTo(contents.get(expected - 1));
      assertThat(json(message.reply().frame()).get("payload").get("seq").longValue()).isEqualTo(expected);
      messageIds.add(frame.get("id").textValue());
    }
    assertThat(messageIds).doesNotHaveDuplicates();
  }

  @Test
  void messageCarriesSenderTimestampAndTheMessageIdItsNodeChose() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", BOB, 1);

    RoomActor.Post post = post(node, "c2", BOB, null, "hi", null);
    room.tell(post);
    JsonNode message = json(expectDeliver(node, room).frame());
    assertUser(message.get("sender"), BOB);
    assertThat(message.get("timestamp").textValue()).matches(TIMESTAMP);
    assertThat(message.get("id").textValue()).isEqualTo(post.messageId());
  }

  @Test
  void messageCarriesReplyToOnlyWhenGiven() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);

    room.tell(post(node, "c1", ANN, null, "first", null));
    JsonNode first = json(expectDeliver(node, room).frame());
    assertThat(first.get("payload").has("reply_to")).isFalse();

    room.tell(post(node, "c1", ANN, null, "second", first.get("id").textValue()));
    JsonNode second = json(expectDeliver(node, room).frame());
    assertThat(second.get("payload").get("reply_to").textValue()).isEqualTo(first.get("id").textValue());
  }

  @Test
  void postWithoutIdIsStillAckedWithMessageIdAndSeq() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);

    room.tell(post(node, "c1", ANN, null, "hi", null));
    JsonNode ack = json(expectDeliver(node, room).reply().frame());
    assertThat(ack.get("type").textValue()).isEqualTo("ack");
    assertThat(ack.has("id")).isFalse();
    assertThat(ack.get("payload").get("message_id").textValue()).isNotBlank();
    assertThat(ack.get("payload").get("seq").longValue()).isEqualTo(1);
  }

  @Test
  void oneDeliverPerNodeWithTheSameBytesAndTheAckOnlyInThePostersNodes() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    joined(room, nodeA, "a2", ANN, 2);
    joined(room, nodeA, "a3", BOB, 1);
    joined(room, nodeB, "b1", CID, 1);
    joined(room, nodeB, "b2", CID, 2);
    settle(room, nodeA);
    settle(room, nodeB);

    room.tell(post(nodeA, "a1", ANN, id("m"), "to all", null));
    NodeRooms.Deliver onA = expectDeliver(nodeA, room);
    NodeRooms.Deliver onB = expectDeliver(nodeB, room);
    assertThat(onA.except()).isEqualTo("a1");
    assertThat(onB.except()).isEqualTo("a1");
    assertThat(onB.seq()).isEqualTo(onA.seq()).isEqualTo(1);
    assertThat(onB.frame()).isEqualTo(onA.frame());
    assertThat(onA.reply()).isNotNull();
    assertThat(onB.reply()).isNull();
    nodeA.expectNoMessage(QUIET);
    nodeB.expectNoMessage(Duration.ZERO);
  }

  @Test
  void ackGoesOnItsOwnWhenThePostersNodeHostsNoMembers() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    settle(room, nodeA);

    RoomActor.Post post = post(nodeB, "b1", BOB, id("m"), "from a node without members", null);
    room.tell(post);
    NodeRooms.Deliver onA = expectDeliver(nodeA, room);
    assertThat(onA.reply()).isNull();
    NodeRooms.Reply ack = nodeB.expectMessageClass(NodeRooms.Reply.class);
    assertThat(ack.ref()).isEqualTo(post.ref());
    assertThat(ack.connectionId()).isEqualTo("b1");
    assertThat(json(ack.frame()).get("payload").get("seq").longValue()).isEqualTo(onA.seq());
    nodeB.expectNoMessage(QUIET);
  }

  @Test
  void nodeWhoseMembersAllLeftGetsNoMoreFrames() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    joined(room, nodeB, "b1", BOB, 1);
    settle(room, nodeA);
    settle(room, nodeB);

    room.tell(new RoomActor.Presence(nodeB.ref(), BOB, 0));
    expectPresence(nodeA, room, BOB, false);
    room.tell(post(nodeA, "a1", ANN, null, "anyone?", null));
    expectDeliver(nodeA, room);
    nodeB.expectNoMessage(QUIET);
  }

  // ---- typing -----------------------------------------------------------------------------------

  @Test
  void typingGivesUserTypingTrueToTheOthers() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    joined(room, node, "c2", BOB, 1);

    room.tell(new RoomActor.Typing(node.ref(), "c1", ANN, true));
    NodeRooms.Deliver typing = expectDeliver(node, room);
    assertThat(typing.except()).isEqualTo("c1");
    assertThat(typing.seq()).isZero();
    assertThat(typing.presence()).isNull();
    JsonNode frame = json(typing.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("user_typing");
    assertThat(frame.get("room").textValue()).isEqualTo(room.id);
    assertUser(frame.get("sender"), ANN);
    assertThat(frame.get("payload").get("room_id").textValue()).isEqualTo(room.id);
    assertThat(frame.get("payload").get("typing").isBoolean()).isTrue();
    assertThat(frame.get("payload").get("typing").booleanValue()).isTrue();
    node.expectNoMessage(QUIET);
  }

  @Test
  void stopTypingGivesUserTypingFalseToTheOthers() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);

    room.tell(new RoomActor.Typing(node.ref(), "c1", ANN, false));
    NodeRooms.Deliver typing = expectDeliver(node, room);
    assertThat(typing.except()).isEqualTo("c1");
    JsonNode frame = json(typing.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("user_typing");
    assertThat(frame.get("payload").get("typing").isBoolean()).isTrue();
    assertThat(frame.get("payload").get("typing").booleanValue()).isFalse();
  }

  // ---- online users -----------------------------------------------------------------------------

  @Test
  void onlineUsersListsTheDistinctUsersOfEveryNodeAndEchoesTheId() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    joined(room, nodeA, "a2", ANN, 2);
    joined(room, nodeB, "b1", ANN, 1);
    joined(room, nodeB, "b2", BOB, 1);
    settle(room, nodeA);

    RoomActor.GetOnline get = getOnline(nodeA, "a1", id("o-1"));
    room.tell(get);
    NodeRooms.Reply reply = nodeA.expectMessageClass(NodeRooms.Reply.class);
    assertThat(reply.ref()).isEqualTo(get.ref());
    assertThat(reply.connectionId()).isEqualTo("a1");
    JsonNode online = json(reply.frame());
    assertThat(online.get("type").textValue()).isEqualTo("online_users");
    assertThat(online.get("id").textValue()).isEqualTo("o-1");
    assertThat(online.get("room").textValue()).isEqualTo(room.id);
    assertThat(online.get("payload").get("room_id").textValue()).isEqualTo(room.id);
    assertThat(userIds(online)).containsExactly(ANN.id(), BOB.id());
    assertThat(online.get("payload").get("count").intValue()).isEqualTo(2);
    nodeA.expectNoMessage(QUIET);
  }

  // ---- a new incarnation gathers the nodes' snapshots -------------------------------------------

  @Test
  void newRoomGreetsEveryNodeItsSiteNames() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    TestProbe<NodeRooms.RoomEvent> nodeC = node();
    Room room = starting(nodeA, nodeB, nodeC);
    for (TestProbe<NodeRooms.RoomEvent> node : List.of(nodeA, nodeB, nodeC)) {
      assertGreeting(node.expectMessageClass(NodeRooms.Hello.class), room.id, room.ref);
    }
  }

  @Test
  void requestsWaitUntilEveryGreetedNodeHasAnswered() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = starting(nodeA, nodeB);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 0, List.of(ANN));
    RoomActor.Join join = join(nodeA, "a1", ANN, 1, id("j"));
    room.tell(join);
    nodeA.expectNoMessage(QUIET);

    room.greeted(nodeB, List.of(), 0, List.of());
    assertThat(nodeA.expectMessageClass(NodeRooms.Joined.class).ref()).isEqualTo(join.ref());
  }

  @Test
  void gatherTimeoutStartsTheRoomWithoutTheNodesThatDidNotAnswer() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> silent = node();
    Room room = new Room(testKit, HOSTED, Duration.ofSeconds(1), nodeA, silent);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 0, List.of(ANN));
    RoomActor.Join join = join(nodeA, "a1", ANN, 1, id("j"));
    room.tell(join);
    nodeA.expectNoMessage(QUIET);

    NodeRooms.Joined joined = nodeA.expectMessageClass(NodeRooms.Joined.class);
    assertThat(joined.ref()).isEqualTo(join.ref());
    assertThat(joined.users()).containsExactly(ANN);
  }

  @Test
  void aSnapshotAfterTheGatherTimeoutIsMergedAndItsUsersAnnounced() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> late = node();
    Room room = new Room(testKit, HOSTED, Duration.ofMillis(300), nodeA, late);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 0, List.of(ANN));
    assertThat(joined(room, nodeA, "a1", ANN, 1).users()).containsExactly(ANN);

    room.greeted(late, List.of(new UserCount(BOB, 1)), 0, List.of(ANN));
    expectPresence(nodeA, room, BOB, true);
    expectPresence(late, room, BOB, true);
    assertThat(onlineUserIds(room, nodeA)).containsExactly(ANN.id(), BOB.id());
  }

  @Test
  void snapshotsThatAgreeWithWhatTheNodesSawRestorePresenceSilently() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = starting(nodeA, nodeB);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 4, List.of(ANN, BOB));
    room.greeted(nodeB, List.of(new UserCount(BOB, 2)), 4, List.of(ANN, BOB));

    assertThat(onlineUserIds(room, nodeA)).containsExactlyInAnyOrder(ANN.id(), BOB.id());
    assertThat(onlineUserIds(room, nodeB)).containsExactlyInAnyOrder(ANN.id(), BOB.id());
  }

  @Test
  void userSeenButNoLongerPresentGetsExactlyOneUserLeftOnEveryNode() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = starting(nodeA, nodeB);
    // Bob's node is gone; both survivors saw him, and both report what they saw
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 9, List.of(ANN, BOB, CID));
    room.greeted(nodeB, List.of(new UserCount(CID, 1)), 9, List.of(ANN, BOB, CID));

    for (TestProbe<NodeRooms.RoomEvent> node : List.of(nodeA, nodeB)) {
      assertThat(expectPresence(node, room, BOB, false).except()).isNull();
      assertThat(onlineUserIds(room, node)).containsExactlyInAnyOrder(ANN.id(), CID.id());
    }
  }

  @Test
  void presentUserThatNoNodeSawIsAnnouncedJoined() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = starting(nodeA, nodeB);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 0, List.of(ANN));
    room.greeted(nodeB, List.of(new UserCount(DAN, 1)), 0, List.of(ANN));

    for (TestProbe<NodeRooms.RoomEvent> node : List.of(nodeA, nodeB)) {
      assertThat(expectPresence(node, room, DAN, true).except()).isNull();
      assertThat(onlineUserIds(room, node)).containsExactlyInAnyOrder(ANN.id(), DAN.id());
    }
  }

  @Test
  void theNextIncarnationContinuesTheSeqFromTheLogAndCatchesNodesUp() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room first = running(nodeA);
    joined(first, nodeA, "a1", ANN, 1);
    for (int i = 1; i <= 3; i++) first.tell(post(nodeA, "a1", ANN, null, "m" + i, null));
    fish(nodeA, NodeRooms.Deliver.class, deliver -> deliver.seq() == 3);
    testKit.stop(first.ref);

    // node B last delivered seq 1 of the earlier incarnation: it gets 2 and 3 from the log
    Room next = new Room(first.id, testKit, HOSTED, NO_GATHER_TIMEOUT, nodeA, nodeB);
    next.greeted(nodeA, List.of(new UserCount(ANN, 1)), 3, List.of(ANN, BOB));
    next.greeted(nodeB, List.of(new UserCount(BOB, 1)), 1, List.of(ANN, BOB));
    List<Long> caughtUp = List.of(
        fish(nodeB, NodeRooms.Deliver.class, deliver -> deliver.seq() > 0).seq(),
        fish(nodeB, NodeRooms.Deliver.class, deliver -> deliver.seq() > 0).seq());
    assertThat(caughtUp).containsExactly(2L, 3L);

    next.tell(post(nodeA, "a1", ANN, id("m"), "after the move", null));
    NodeRooms.Deliver onA = fish(nodeA, NodeRooms.Deliver.class, deliver -> deliver.seq() > 0);
    assertThat(json(onA.frame()).get("seq").longValue()).isEqualTo(4);
    assertThat(json(onA.reply().frame()).get("payload").get("seq").longValue()).isEqualTo(4);
    assertThat(fish(nodeB, NodeRooms.Deliver.class, deliver -> deliver.seq() > 0).seq()).isEqualTo(4);
  }

  @Test
  void rebuiltRoomWithoutMembersAsksToPassivateAndAnnouncesNothing() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    Room room = starting(nodeA);
    room.greeted(nodeA, List.of(), 5, List.of(ANN));
    room.shard.expectMessage(new ClusterSharding.Passivate<>(room.ref));
    nodeA.expectNoMessage(QUIET);
  }

  @Test
  void wakeDuringTheGatherIsAnsweredWithHelloOnceTheRoomRuns() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> newcomer = node();
    Room room = starting(nodeA);
    room.tell(new RoomActor.Wake(newcomer.ref()));
    newcomer.expectNoMessage(QUIET);

    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 0, List.of(ANN));
    assertGreeting(newcomer.expectMessageClass(NodeRooms.Hello.class), room.id, room.ref);
  }

  // ---- a running room and its nodes -------------------------------------------------------------

  @Test
  void wakeIsAnsweredWithHello() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> newcomer = node();
    Room room = running(nodeA);
    room.tell(new RoomActor.Wake(newcomer.ref()));
    assertGreeting(newcomer.expectMessageClass(NodeRooms.Hello.class), room.id, room.ref);
  }

  @Test
  void snapshotWhileRunningAnnouncesWhoArrivedAndWhoLeft() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA);
    joined(room, nodeA, "a1", ANN, 1);
    settle(room, nodeA);

    room.tell(new RoomActor.Snapshot(nodeB.ref(), List.of(new UserCount(BOB, 1), new UserCount(ANN, 1)), 0, List.of()));
    expectPresence(nodeA, room, BOB, true);
    expectPresence(nodeB, room, BOB, true);
    room.tell(new RoomActor.Snapshot(nodeB.ref(), List.of(new UserCount(CID, 1)), 0, List.of()));
    expectPresence(nodeA, room, CID, true);
    expectPresence(nodeB, room, CID, true);
    expectPresence(nodeA, room, BOB, false);
    expectPresence(nodeB, room, BOB, false);
    assertThat(onlineUserIds(room, nodeA)).containsExactly(ANN.id(), CID.id());
    nodeA.expectNoMessage(QUIET);
  }

  @Test
  void aSnapshotNeverMovesSeqBackwards() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    for (int i = 0; i < 3; i++) room.tell(post(node, "c1", ANN, null, "m" + i, null));

    room.tell(new RoomActor.Snapshot(node.ref(), List.of(new UserCount(ANN, 1)), 1, List.of(ANN)));
    room.tell(post(node, "c1", ANN, null, "next", null));
    NodeRooms.Deliver next = fish(node, NodeRooms.Deliver.class,
        deliver -> json(deliver.frame()).path("payload").path("content").asText().equals("next"));
    assertThat(next.seq()).isEqualTo(4);
  }

  @Test
  void theSeqComesFromTheLogNotFromWhatANodeSays() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA);
    joined(room, nodeA, "a1", ANN, 1);
    room.tell(new RoomActor.Snapshot(nodeB.ref(), List.of(), 20, List.of()));
    room.tell(post(nodeA, "a1", ANN, null, "next", null));
    assertThat(fish(nodeA, NodeRooms.Deliver.class, deliver -> deliver.seq() > 0).seq()).isEqualTo(1);
  }

  @Test
  void nodeThatStopsTakesItsUsersAwayWithOneUserLeftEach() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = running(nodeA, nodeB);
    joined(room, nodeA, "a1", ANN, 1);
    joined(room, nodeB, "b1", BOB, 1);
    joined(room, nodeB, "b2", CID, 1);
    joined(room, nodeB, "b3", ANN, 1);
    settle(room, nodeA);

    nodeB.stop();
    List<User> left = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      NodeRooms.Deliver deliver = expectDeliver(nodeA, room);
      assertThat(deliver.presence().present()).isFalse();
      left.add(deliver.presence().user());
    }
    assertThat(left).containsExactlyInAnyOrder(BOB, CID);
    assertThat(onlineUserIds(room, nodeA)).containsExactly(ANN.id());
    nodeA.expectNoMessage(QUIET);
  }

  // ---- passivation and stop ---------------------------------------------------------------------

  @Test
  void asksToPassivateWhenNoNodeHostsMembers() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    Room room = starting(nodeA);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1), new UserCount(BOB, 1)), 0, List.of(ANN, BOB));

    room.tell(new RoomActor.Presence(nodeA.ref(), ANN, 0));
    room.shard.expectNoMessage(QUIET);
    room.tell(new RoomActor.Presence(nodeA.ref(), BOB, 0));
    room.shard.expectMessage(new ClusterSharding.Passivate<>(room.ref));
  }

  @Test
  void noPassivationWhileAnotherNodeHostsMembers() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    TestProbe<NodeRooms.RoomEvent> nodeB = node();
    Room room = starting(nodeA, nodeB);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 0, List.of(ANN, BOB));
    room.greeted(nodeB, List.of(new UserCount(BOB, 1)), 0, List.of(ANN, BOB));

    room.tell(new RoomActor.Presence(nodeA.ref(), ANN, 0));
    settle(room, nodeB);
    room.shard.expectNoMessage(QUIET);
  }

  @Test
  void asksToPassivateWhenTheLastNodeWithMembersStops() {
    TestProbe<NodeRooms.RoomEvent> nodeA = node();
    Room room = starting(nodeA);
    room.greeted(nodeA, List.of(new UserCount(ANN, 1)), 0, List.of(ANN));

    nodeA.stop();
    room.shard.expectMessage(new ClusterSharding.Passivate<>(room.ref));
  }

  @Test
  void stopMessageStopsARunningRoom() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = running(node);
    joined(room, node, "c1", ANN, 1);
    room.tell(RoomActor.stopMessage());
    testKit.createTestProbe().expectTerminated(room.ref);
  }

  @Test
  void stopMessageStopsARoomStillGathering() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = starting(node);
    node.expectMessageClass(NodeRooms.Hello.class);
    room.tell(RoomActor.stopMessage());
    testKit.createTestProbe().expectTerminated(room.ref);
  }

  // ---- the node's room cap ----------------------------------------------------------------------

  @Test
  void roomBeyondTheNodesCapPassivatesAndAnswersWakesWithRefused() {
    ParleyMetrics metrics = ParleyMetrics.get(testKit.system());
    double refusalsBefore = metrics.roomCapRefusals.count();
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = new Room(testKit, testKit.spawn(HostedRooms.create(0)), NO_GATHER_TIMEOUT, node);
    room.shard.expectMessage(new ClusterSharding.Passivate<>(room.ref));

    room.tell(new RoomActor.Wake(node.ref()));
    NodeRooms.Refused refused = node.expectMessageClass(NodeRooms.Refused.class);
    assertThat(refused.room()).isEqualTo(room.id);
    assertThat(refused.code()).isEqualTo(ErrorCode.TOO_MANY_ROOMS);
    assertThat(refused.message()).isNotBlank();
    assertThat(metrics.roomCapRefusals.count()).isEqualTo(refusalsBefore + 1);
  }

  @Test
  void aRequestThatNoLongerFitsWhileTheRoomStartsIsAnsweredUnavailable() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    TestProbe<HostedRooms.Command> neverAnswers = testKit.createTestProbe();
    Room room = new Room(testKit, neverAnswers.ref(), NO_GATHER_TIMEOUT, node);
    neverAnswers.expectMessageClass(HostedRooms.Host.class);
    for (int i = 0; i < 10_000; i++) room.tell(getOnline(node, "c1", null)); // the stash holds 10,000
    room.tell(getOnline(node, "c1", id("one-too-many")));
    NodeRooms.Reply refused = node.expectMessageClass(NodeRooms.Reply.class);
    assertThat(json(refused.frame()).get("id").textValue()).isEqualTo("one-too-many");
    assertThat(json(refused.frame()).at("/payload/code").textValue()).isEqualTo("UNAVAILABLE");
  }

  @Test
  void roomBeyondTheNodesCapGreetsNoNodeAndIgnoresRequestsUntilItStops() {
    TestProbe<NodeRooms.RoomEvent> node = node();
    Room room = new Room(testKit, testKit.spawn(HostedRooms.create(0)), NO_GATHER_TIMEOUT, node);
    room.tell(join(node, "c1", ANN, 1, id("j")));
    room.tell(new RoomActor.Snapshot(node.ref(), List.of(new UserCount(ANN, 1)), 0, List.of()));
    node.expectNoMessage(QUIET);

    room.tell(RoomActor.stopMessage());
    testKit.createTestProbe().expectTerminated(room.ref);
  }

  @Test
  void theCapCountsRunningRoomsAndAStoppedRoomFreesItsPlace() {
    // a system of its own, so that its parley_rooms gauge is this HostedRooms' count alone
    inOwnSystem("RoomActorTest-cap", kit -> {
      ParleyMetrics metrics = ParleyMetrics.get(kit.system());
      TestProbe<Object> waiter = kit.createTestProbe();
      ActorRef<HostedRooms.Command> hosted = kit.spawn(HostedRooms.create(1));
      TestProbe<NodeRooms.RoomEvent> node = kit.createTestProbe();
      Room first = new Room(kit, hosted, NO_GATHER_TIMEOUT, node);
      first.greeted(node, List.of(new UserCount(ANN, 1)), 0, List.of(ANN));
      waiter.awaitAssert(() -> assertThat(metrics.rooms.get()).isEqualTo(1));

      Room second = new Room(kit, hosted, NO_GATHER_TIMEOUT, node);
      second.tell(new RoomActor.Wake(node.ref()));
      assertThat(node.expectMessageClass(NodeRooms.Refused.class).room()).isEqualTo(second.id);

      first.tell(RoomActor.stopMessage());
      waiter.awaitAssert(() -> assertThat(metrics.rooms.get()).isZero());
      Room third = new Room(kit, hosted, NO_GATHER_TIMEOUT, node);
      assertGreeting(node.expectMessageClass(NodeRooms.Hello.class), third.id, third.ref);
    });
  }

  // ---- watches ----------------------------------------------------------------------------------

  @Test
  void nodeWatchesEqualTheNodesThatHostMembers() {
    // a system of its own, so that no other test's rooms count in its gauge
    inOwnSystem("RoomActorTest-watches", kit -> {
      ParleyMetrics metrics = ParleyMetrics.get(kit.system());
      TestProbe<Object> waiter = kit.createTestProbe();
      TestProbe<NodeRooms.RoomEvent> nodeA = kit.createTestProbe();
      TestProbe<NodeRooms.RoomEvent> nodeB = kit.createTestProbe();
      TestProbe<NodeRooms.RoomEvent> nodeC = kit.createTestProbe();
      Room room = new Room(kit, kit.spawn(HostedRooms.create(10)), NO_GATHER_TIMEOUT, nodeA, nodeB, nodeC);
      room.greeted(nodeA, List.of(new UserCount(ANN, 2)), 0, List.of(ANN));
      room.greeted(nodeB, List.of(), 0, List.of(ANN));
      room.greeted(nodeC, List.of(), 0, List.of(ANN));
      settle(room, nodeA);
      assertThat(metrics.roomNodeWatches.get()).isEqualTo(1);

      joined(room, nodeB, "b1", BOB, 1);
      joined(room, nodeB, "b2", CID, 1);
      assertThat(metrics.roomNodeWatches.get()).isEqualTo(2);

      room.tell(new RoomActor.Presence(nodeA.ref(), ANN, 1));
      settle(room, nodeA);
      assertThat(metrics.roomNodeWatches.get()).isEqualTo(2);
      room.tell(new RoomActor.Presence(nodeA.ref(), ANN, 0));
      settle(room, nodeA);
      assertThat(metrics.roomNodeWatches.get()).isEqualTo(1);

      joined(room, nodeC, "c1", DAN, 1);
      assertThat(metrics.roomNodeWatches.get()).isEqualTo(2);
      nodeB.stop();
      waiter.awaitAssert(() -> assertThat(metrics.roomNodeWatches.get()).isEqualTo(1));

      room.tell(RoomActor.stopMessage());
      waiter.expectTerminated(room.ref);
      assertThat(metrics.roomNodeWatches.get()).isZero();
    });
  }
}
