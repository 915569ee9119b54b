package io.parley.room;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.protocol.RequestId;
import io.parley.protocol.User;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
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
 * The room entity on its own: the test plays the shard, the successor and each node's fan-out
 * (a probe per node), and reads the frames the room renders from the fan-out messages.
 */
@ExtendWith(LogCapturingExtension.class)
class RoomActorTest {

  static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdownTestKit() {
    testKit.shutdownTestKit();
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger ROOMS = new AtomicInteger();
  private static final Duration QUIET = Duration.ofMillis(200);
  private static final String TIMESTAMP = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

  private static final User ANN = new User("u-ann", "Ann");
  private static final User BOB = new User("u-bob", "Bob");
  private static final User CID = new User("u-cid", "Cid");

  /** A room under test with the shard and successor it talks to. */
  private static final class Room {
    final String id = "room-" + ROOMS.incrementAndGet();
    final TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
    final TestProbe<RoomActor.Command> successor = testKit.createTestProbe();
    final ActorRef<RoomActor.Command> ref = testKit.spawn(RoomActor.create(id, shard.ref(), successor, 1_000_000));

    void tell(RoomActor.Command command) {
      ref.tell(command);
    }
  }

  private static TestProbe<NodeFanout.Command> node() {
    return testKit.createTestProbe();
  }

  private static Member member(String connectionId, User user, TestProbe<NodeFanout.Command> node) {
    return member(connectionId, user, node, testKit.createTestProbe());
  }

  private static Member member(
      String connectionId, User user, TestProbe<NodeFanout.Command> node, TestProbe<?> client) {
    return new Member(connectionId, user, client.ref(), node.ref());
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

  /** The next message on that node must be a reply to this connection; returns its frame. */
  private static JsonNode expectReply(TestProbe<NodeFanout.Command> node, String connectionId) {
    NodeFanout.DeliverTo reply = node.expectMessageClass(NodeFanout.DeliverTo.class);
    assertThat(reply.connectionId()).isEqualTo(connectionId);
    return json(reply.frame());
  }

  /** The next message on that node must be a room broadcast. */
  private static NodeFanout.Deliver expectBroadcast(TestProbe<NodeFanout.Command> node, Room room) {
    NodeFanout.Deliver deliver = node.expectMessageClass(NodeFanout.Deliver.class);
    assertThat(deliver.room()).isEqualTo(room.id);
    return deliver;
  }

  /** Joins and returns the member's room_info, skipping the presence broadcasts on its node. */
  private static JsonNode join(Room room, Member member, TestProbe<NodeFanout.Command> node) {
    return join(room, member, node, null);
  }

  private static JsonNode join(
      Room room, Member member, TestProbe<NodeFanout.Command> node, RequestId id) {
    room.tell(new RoomActor.Join(member, id));
    return fish(node, message ->
        message instanceof NodeFanout.DeliverTo to && to.connectionId().equals(member.connectionId())
            ? json(to.frame()) : null);
  }

  /** Skips messages on the node until {@code match} returns a frame; returns that frame. */
  private static JsonNode fish(
      TestProbe<NodeFanout.Command> node, Function<NodeFanout.Command, JsonNode> match) {
    AtomicReference<JsonNode> found = new AtomicReference<>();
    node.fishForMessage(Duration.ofSeconds(3), message -> {
      found.set(match.apply(message));
      return found.get() != null ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore();
    });
    return found.get();
  }

  /** Drops whatever the room sent to this node so far (its members' broadcasts included). */
  private static void settle(Room room, Member memberOnNode, TestProbe<NodeFanout.Command> node) {
    room.tell(new RoomActor.GetOnline(memberOnNode, id("barrier")));
    fish(node, message ->
        message instanceof NodeFanout.DeliverTo to
                && to.connectionId().equals(memberOnNode.connectionId())
                && "barrier".equals(json(to.frame()).path("id").textValue())
            ? json(to.frame()) : null);
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

  // --- join ---

  @Test
  void joinerGetsRoomInfoWithItsIdAndTheDistinctUsers() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    join(room, member("c1", ANN, node), node);
    join(room, member("c2", ANN, node), node);
    join(room, member("c3", BOB, node), node);

    Member cid = member("c4", CID, node);
    room.tell(new RoomActor.Join(cid, id("j-1")));
    expectBroadcast(node, room);
    JsonNode info = expectReply(node, "c4");
    assertThat(info.get("type").textValue()).isEqualTo("room_info");
    assertThat(info.get("id").textValue()).isEqualTo("j-1");
    assertThat(info.get("room").textValue()).isEqualTo(room.id);
    assertThat(info.get("payload").get("room_id").textValue()).isEqualTo(room.id);
    assertThat(userIds(info)).containsExactlyInAnyOrder(ANN.id(), BOB.id(), CID.id());
    assertThat(info.get("payload").get("count").intValue()).isEqualTo(3);
    assertThat(info.get("timestamp").textValue()).matches(TIMESTAMP);
  }

  @Test
  void joinerGetsNumericRequestIdEchoedAsANumber() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    JsonNode info = join(room, member("c1", ANN, node), node, new RequestId("41"));
    assertThat(info.get("id").isIntegralNumber()).isTrue();
    assertThat(info.get("id").intValue()).isEqualTo(41);
  }

  @Test
  void othersGetUserJoinedWithTheUserAsSenderAndPayload() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    join(room, member("c1", ANN, node), node);

    room.tell(new RoomActor.Join(member("c2", BOB, node), null));
    NodeFanout.Deliver joined = expectBroadcast(node, room);
    assertThat(joined.except()).isEqualTo("c2");
    JsonNode frame = json(joined.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("user_joined");
    assertThat(frame.get("room").textValue()).isEqualTo(room.id);
    assertUser(frame.get("sender"), BOB);
    assertUser(frame.get("payload"), BOB);
    assertThat(frame.get("timestamp").textValue()).matches(TIMESTAMP);
    assertThat(expectReply(node, "c2").get("type").textValue()).isEqualTo("room_info");
  }

  @Test
  void secondConnectionOfSameUserDoesNotAnnounceJoin() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    join(room, member("c1", ANN, node), node);
    join(room, member("c2", BOB, node), node);

    room.tell(new RoomActor.Join(member("c3", ANN, node), id("j-2")));
    JsonNode info = expectReply(node, "c3");
    assertThat(info.get("type").textValue()).isEqualTo("room_info");
    assertThat(userIds(info)).containsExactlyInAnyOrder(ANN.id(), BOB.id());
    assertThat(info.get("payload").get("count").intValue()).isEqualTo(2);
    node.expectNoMessage(QUIET);
  }

  @Test
  void joiningTwiceRepliesRoomInfoAgainWithoutEvent() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    join(room, member("c2", BOB, node), node);

    room.tell(new RoomActor.Join(ann, id("again")));
    JsonNode info = expectReply(node, "c1");
    assertThat(info.get("type").textValue()).isEqualTo("room_info");
    assertThat(info.get("id").textValue()).isEqualTo("again");
    assertThat(info.get("payload").get("count").intValue()).isEqualTo(2);
    node.expectNoMessage(QUIET);
  }

  @Test
  void joiningTwiceDoesNotCountTheConnectionTwice() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    Member bob = member("c2", BOB, node);
    join(room, ann, node);
    join(room, ann, node);
    join(room, bob, node);

    room.tell(new RoomActor.Leave(ann, null));
    NodeFanout.Deliver left = expectBroadcast(node, room);
    assertThat(json(left.frame()).get("type").textValue()).isEqualTo("user_left");
    assertUser(json(left.frame()).get("payload"), ANN);
  }

  // --- leave ---

  @Test
  void leaveAnnouncesUserLeftOnlyWhenTheUsersLastConnectionLeaves() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member annTab1 = member("c1", ANN, node);
    Member annTab2 = member("c2", ANN, node);
    Member bob = member("c3", BOB, node);
    join(room, annTab1, node);
    join(room, annTab2, node);
    join(room, bob, node);

    room.tell(new RoomActor.Leave(annTab1, id("l-1")));
    assertThat(expectReply(node, "c1").get("type").textValue()).isEqualTo("ack");
    node.expectNoMessage(QUIET);

    room.tell(new RoomActor.Leave(annTab2, id("l-2")));
    NodeFanout.Deliver left = expectBroadcast(node, room);
    JsonNode frame = json(left.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("user_left");
    assertThat(frame.get("room").textValue()).isEqualTo(room.id);
    assertUser(frame.get("sender"), ANN);
    assertUser(frame.get("payload"), ANN);
    assertThat(frame.get("timestamp").textValue()).matches(TIMESTAMP);
    assertThat(expectReply(node, "c2").get("type").textValue()).isEqualTo("ack");
  }

  @Test
  void leaveIsAckedWithIdAndRoom() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    join(room, member("c2", ANN, node), node);

    room.tell(new RoomActor.Leave(ann, id("l-1")));
    JsonNode ack = expectReply(node, "c1");
    assertThat(ack.get("type").textValue()).isEqualTo("ack");
    assertThat(ack.get("id").textValue()).isEqualTo("l-1");
    assertThat(ack.get("room").textValue()).isEqualTo(room.id);
  }

  @Test
  void leaveWithoutIdIsNotAcked() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    join(room, member("c2", ANN, node), node);

    room.tell(new RoomActor.Leave(ann, null));
    node.expectNoMessage(QUIET);
  }

  @Test
  void leavingARoomOneIsNotInIsAckedWithoutEvent() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    join(room, member("c1", ANN, node), node);

    room.tell(new RoomActor.Leave(member("c9", BOB, node), id("l-9")));
    JsonNode ack = expectReply(node, "c9");
    assertThat(ack.get("type").textValue()).isEqualTo("ack");
    assertThat(ack.get("id").textValue()).isEqualTo("l-9");
    node.expectNoMessage(QUIET);
  }

  // --- send_message ---

  @Test
  void messageGoesToEveryOtherConnectionIncludingTheSendersOtherTabs() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member annTab1 = member("c1", ANN, node);
    join(room, annTab1, node);
    join(room, member("c2", ANN, node), node);
    join(room, member("c3", BOB, node), node);

    room.tell(new RoomActor.Post(annTab1, id("m-1"), "Hello!", null));
    NodeFanout.Deliver message = expectBroadcast(node, room);
    assertThat(message.except()).isEqualTo("c1");
    JsonNode frame = json(message.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("new_message");
    assertThat(frame.get("room").textValue()).isEqualTo(room.id);
    assertThat(frame.get("payload").get("content").textValue()).isEqualTo("Hello!");
  }

  @Test
  void senderGetsAckWithMessageIdAndSeq() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);

    room.tell(new RoomActor.Post(ann, id("m-1"), "Hello!", null));
    JsonNode message = json(expectBroadcast(node, room).frame());
    JsonNode ack = expectReply(node, "c1");
    assertThat(ack.get("type").textValue()).isEqualTo("ack");
    assertThat(ack.get("id").textValue()).isEqualTo("m-1");
    assertThat(ack.get("room").textValue()).isEqualTo(room.id);
    assertThat(ack.get("payload").get("message_id").textValue())
        .isNotEmpty()
        .isEqualTo(message.get("id").textValue());
    assertThat(ack.get("payload").get("seq").longValue()).isEqualTo(message.get("seq").longValue());
  }

  @Test
  void messagesAreNumberedOneTwoThreeInOrder() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    Member bob = member("c2", BOB, node);
    join(room, ann, node);
    join(room, bob, node);

    room.tell(new RoomActor.Post(ann, id("a"), "one", null));
    room.tell(new RoomActor.Post(bob, id("b"), "two", null));
    room.tell(new RoomActor.Post(ann, id("c"), "three", null));
    List<String> messageIds = new ArrayList<>();
    for (long expected = 1; expected <= 3; expected++) {
      JsonNode message = json(expectBroadcast(node, room).frame());
      assertThat(message.get("seq").longValue()).isEqualTo(expected);
      JsonNode ack = json(node.expectMessageClass(NodeFanout.DeliverTo.class).frame());
      assertThat(ack.get("payload").get("seq").longValue()).isEqualTo(expected);
      messageIds.add(message.get("id").textValue());
    }
    assertThat(messageIds).doesNotHaveDuplicates();
  }

  @Test
  void messageCarriesSenderAndTimestamp() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member bob = member("c2", BOB, node);
    join(room, member("c1", ANN, node), node);
    join(room, bob, node);

    room.tell(new RoomActor.Post(bob, null, "hi", null));
    JsonNode message = json(expectBroadcast(node, room).frame());
    assertUser(message.get("sender"), BOB);
    assertThat(message.get("timestamp").textValue()).matches(TIMESTAMP);
    assertThat(message.get("id").isTextual()).isTrue();
  }

  @Test
  void messageCarriesReplyToWhenGiven() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);

    room.tell(new RoomActor.Post(ann, null, "first", null));
    JsonNode first = json(expectBroadcast(node, room).frame());
    assertThat(first.get("payload").has("reply_to")).isFalse();
    node.expectMessageClass(NodeFanout.DeliverTo.class);

    room.tell(new RoomActor.Post(ann, null, "second", first.get("id").textValue()));
    JsonNode second = json(expectBroadcast(node, room).frame());
    assertThat(second.get("payload").get("reply_to").textValue()).isEqualTo(first.get("id").textValue());
  }

  @Test
  void postWithoutIdIsStillAckedWithMessageIdAndSeq() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);

    room.tell(new RoomActor.Post(ann, null, "hi", null));
    expectBroadcast(node, room);
    JsonNode ack = expectReply(node, "c1");
    assertThat(ack.has("id")).isFalse();
    assertThat(ack.get("payload").get("seq").longValue()).isEqualTo(1);
  }

  @Test
  void oneDeliverPerNodeHoweverManyMembersItHostsWithTheSameBytes() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> nodeA = node();
    TestProbe<NodeFanout.Command> nodeB = node();
    Member ann = member("a1", ANN, nodeA);
    join(room, ann, nodeA);
    join(room, member("a2", ANN, nodeA), nodeA);
    join(room, member("a3", BOB, nodeA), nodeA);
    Member cid = member("b1", CID, nodeB);
    join(room, cid, nodeB);
    join(room, member("b2", CID, nodeB), nodeB);
    settle(room, ann, nodeA);

    room.tell(new RoomActor.Post(ann, id("m"), "to all", null));
    NodeFanout.Deliver onA = expectBroadcast(nodeA, room);
    NodeFanout.Deliver onB = expectBroadcast(nodeB, room);
    assertThat(onA.except()).isEqualTo("a1");
    assertThat(onB.except()).isEqualTo("a1");
    assertThat(onB.frame()).isEqualTo(onA.frame());
    expectReply(nodeA, "a1");
    nodeA.expectNoMessage(QUIET);
    nodeB.expectNoMessage(QUIET);
  }

  @Test
  void nodeWhoseMembersAllLeftGetsNoMoreFrames() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> nodeA = node();
    TestProbe<NodeFanout.Command> nodeB = node();
    Member ann = member("a1", ANN, nodeA);
    Member bob = member("b1", BOB, nodeB);
    join(room, ann, nodeA);
    join(room, bob, nodeB);
    settle(room, ann, nodeA);

    room.tell(new RoomActor.Leave(bob, null));
    NodeFanout.Deliver left = expectBroadcast(nodeA, room);
    assertThat(json(left.frame()).get("type").textValue()).isEqualTo("user_left");

    room.tell(new RoomActor.Post(ann, null, "anyone?", null));
    expectBroadcast(nodeA, room);
    expectReply(nodeA, "a1");
    nodeB.expectNoMessage(QUIET);
  }

  // --- typing ---

  @Test
  void typingGivesUserTypingTrueToTheOthers() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    join(room, member("c2", ANN, node), node);
    join(room, member("c3", BOB, node), node);

    room.tell(new RoomActor.Typing(ann, true));
    NodeFanout.Deliver typing = expectBroadcast(node, room);
    assertThat(typing.except()).isEqualTo("c1");
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
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    join(room, member("c2", BOB, node), node);

    room.tell(new RoomActor.Typing(ann, false));
    NodeFanout.Deliver typing = expectBroadcast(node, room);
    assertThat(typing.except()).isEqualTo("c1");
    JsonNode frame = json(typing.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("user_typing");
    assertThat(frame.get("payload").get("typing").isBoolean()).isTrue();
    assertThat(frame.get("payload").get("typing").booleanValue()).isFalse();
  }

  // --- online_users ---

  @Test
  void onlineUsersListsDistinctUsersAndEchoesTheId() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> nodeA = node();
    TestProbe<NodeFanout.Command> nodeB = node();
    Member ann = member("a1", ANN, nodeA);
    join(room, ann, nodeA);
    join(room, member("a2", ANN, nodeA), nodeA);
    join(room, member("b1", ANN, nodeB), nodeB);
    join(room, member("b2", BOB, nodeB), nodeB);
    settle(room, ann, nodeA);

    room.tell(new RoomActor.GetOnline(ann, id("o-1")));
    JsonNode online = expectReply(nodeA, "a1");
    assertThat(online.get("type").textValue()).isEqualTo("online_users");
    assertThat(online.get("id").textValue()).isEqualTo("o-1");
    assertThat(online.get("room").textValue()).isEqualTo(room.id);
    assertThat(online.get("payload").get("room_id").textValue()).isEqualTo(room.id);
    assertThat(userIds(online)).containsExactlyInAnyOrder(ANN.id(), BOB.id());
    assertThat(online.get("payload").get("count").intValue()).isEqualTo(2);
    nodeA.expectNoMessage(QUIET);
  }

  // --- members that end ---

  @Test
  void memberWhoseClientStopsIsRemovedAndUserLeftAnnounced() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    TestProbe<Object> bobClient = testKit.createTestProbe();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    join(room, member("c2", BOB, node, bobClient), node);

    bobClient.stop();
    NodeFanout.Deliver left = expectBroadcast(node, room);
    JsonNode frame = json(left.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("user_left");
    assertUser(frame.get("payload"), BOB);
    assertUser(frame.get("sender"), BOB);

    room.tell(new RoomActor.GetOnline(ann, null));
    assertThat(userIds(expectReply(node, "c1"))).containsExactly(ANN.id());
  }

  @Test
  void stoppedClientWithAnotherTabOpenDoesNotAnnounceUserLeft() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    TestProbe<Object> annTab2Client = testKit.createTestProbe();
    Member annTab1 = member("c1", ANN, node);
    join(room, annTab1, node);
    join(room, member("c2", ANN, node, annTab2Client), node);

    annTab2Client.stop();
    node.expectNoMessage(QUIET);
    room.tell(new RoomActor.GetOnline(annTab1, null));
    assertThat(userIds(expectReply(node, "c1"))).containsExactly(ANN.id());
  }

  // --- lifecycle ---

  @Test
  void passivationRequestedWhenTheLastMemberLeaves() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    Member bob = member("c2", BOB, node);
    join(room, ann, node);
    join(room, bob, node);

    room.tell(new RoomActor.Leave(ann, null));
    room.shard.expectNoMessage(QUIET);
    room.tell(new RoomActor.Leave(bob, null));
    room.shard.expectMessage(new ClusterSharding.Passivate<>(room.ref));
  }

  @Test
  void passivationRequestedWhenTheLastMembersClientStops() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    TestProbe<Object> client = testKit.createTestProbe();
    join(room, member("c1", ANN, node, client), node);

    client.stop();
    room.shard.expectMessage(new ClusterSharding.Passivate<>(room.ref));
  }

  @Test
  void noPassivationWhileMembersRemain() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    TestProbe<Object> client = testKit.createTestProbe();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    Member annTab2 = member("c2", ANN, node);
    join(room, annTab2, node);
    join(room, member("c3", BOB, node, client), node);

    room.tell(new RoomActor.Leave(ann, id("l")));
    client.stop();
    settle(room, annTab2, node);
    room.shard.expectNoMessage(QUIET);
  }

  @Test
  void stopWithMembersPresentHandsMembersAndSeqToTheSuccessor() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    Member bob = member("c2", BOB, node);
    join(room, ann, node);
    join(room, bob, node);
    room.tell(new RoomActor.Post(ann, null, "one", null));
    room.tell(new RoomActor.Post(bob, null, "two", null));

    room.tell(RoomActor.stopMessage());
    RoomActor.Rejoin rejoin = room.successor.expectMessageClass(RoomActor.Rejoin.class);
    assertThat(rejoin.members()).containsExactlyInAnyOrder(ann, bob);
    assertThat(rejoin.seq()).isEqualTo(2);
    testKit.createTestProbe().expectTerminated(room.ref);
  }

  @Test
  void stopWithoutMembersJustStops() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    room.tell(new RoomActor.Leave(ann, null));
    room.shard.expectMessage(new ClusterSharding.Passivate<>(room.ref));

    room.tell(RoomActor.stopMessage());
    testKit.createTestProbe().expectTerminated(room.ref);
    room.successor.expectNoMessage(QUIET);
  }

  @Test
  void rejoinRestoresMembersSilentlyAndContinuesSeq() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> nodeA = node();
    TestProbe<NodeFanout.Command> nodeB = node();
    Member ann = member("a1", ANN, nodeA);
    Member bob = member("b1", BOB, nodeB);

    room.tell(new RoomActor.Rejoin(List.of(ann, bob), 7, List.of(ANN, BOB), null));
    room.tell(new RoomActor.Post(ann, id("m"), "after the move", null));
    NodeFanout.Deliver onA = expectBroadcast(nodeA, room);
    assertThat(json(onA.frame()).get("type").textValue()).isEqualTo("new_message");
    assertThat(json(onA.frame()).get("seq").longValue()).isEqualTo(8);
    NodeFanout.Deliver onB = expectBroadcast(nodeB, room);
    assertThat(json(onB.frame()).get("type").textValue()).isEqualTo("new_message");
    JsonNode ack = expectReply(nodeA, "a1");
    assertThat(ack.get("payload").get("seq").longValue()).isEqualTo(8);

    room.tell(new RoomActor.GetOnline(bob, id("o")));
    assertThat(userIds(expectReply(nodeB, "b1"))).containsExactlyInAnyOrder(ANN.id(), BOB.id());
    nodeA.expectNoMessage(QUIET);
    nodeB.expectNoMessage(QUIET);
  }

  @Test
  void roomRebuiltByRejoinsAnnouncesTheUsersThatDidNotComeBack() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("a1", ANN, node);
    // the node that hosted Bob and Cid is gone: only Ann's node rejoins, reporting all three
    room.tell(new RoomActor.Rejoin(List.of(ann), 12, List.of(ANN, BOB, CID), null));
    List<String> left = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      NodeFanout.Deliver deliver = node.expectMessageClass(
          NodeFanout.Deliver.class, RoomActor.REJOIN_SETTLE.plusSeconds(3));
      JsonNode frame = json(deliver.frame());
      assertThat(frame.get("type").textValue()).isEqualTo("user_left");
      assertThat(deliver.presence().present()).isFalse();
      left.add(frame.get("payload").get("id").textValue());
    }
    assertThat(left).containsExactlyInAnyOrder(BOB.id(), CID.id());
    node.expectNoMessage(QUIET);
  }

  @Test
  void requestFromUnknownConnectionWaitsForTheRejoinSoSeqContinues() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("a1", ANN, node);
    Member bob = member("b1", BOB, node);
    room.tell(new RoomActor.Post(ann, id("m"), "handed over", null));
    node.expectNoMessage(QUIET); // held: this incarnation continues one whose state is coming
    room.tell(new RoomActor.Rejoin(List.of(ann, bob), 11, List.of(ANN, BOB), null));
    NodeFanout.Deliver message = expectBroadcast(node, room);
    assertThat(json(message.frame()).get("seq").longValue()).isEqualTo(12);
    assertThat(message.except()).isEqualTo("a1");
    assertThat(expectReply(node, "a1").get("payload").get("seq").longValue()).isEqualTo(12);
  }

  @Test
  void heldRequestsRunInOrderWhenNoRejoinComes() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("a1", ANN, node);
    room.tell(new RoomActor.Post(ann, null, "first", null));
    room.tell(new RoomActor.Post(ann, null, "second", null));
    NodeFanout.Deliver first = node.expectMessageClass(
        NodeFanout.Deliver.class, RoomActor.HOLD_FOR_REJOIN.plusSeconds(2));
    assertThat(json(first.frame()).get("payload").get("content").textValue()).isEqualTo("first");
    assertThat(json(first.frame()).get("seq").longValue()).isEqualTo(1);
    expectReply(node, "a1");
    NodeFanout.Deliver second = expectBroadcast(node, room);
    assertThat(json(second.frame()).get("seq").longValue()).isEqualTo(2);
  }

  @Test
  void stopWhileHoldingHandsTheHeldRequestsToTheSuccessor() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    RoomActor.Post post = new RoomActor.Post(member("a1", ANN, node), null, "in transit", null);
    room.tell(post);
    room.tell(RoomActor.stopMessage());
    assertThat(room.successor.receiveMessage()).isEqualTo(post);
  }

  @Test
  void rejoinIsAcknowledgedToTheFanoutThatSentIt() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    room.tell(new RoomActor.Rejoin(List.of(member("a1", ANN, node)), 0, List.of(ANN), node.ref()));
    assertThat(node.expectMessageClass(NodeFanout.Rejoined.class).room()).isEqualTo(room.id);
  }

  @Test
  void usersThatRejoinLaterThanTheFirstReportAreNotAnnouncedAsGone() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> nodeA = node();
    TestProbe<NodeFanout.Command> nodeB = node();
    room.tell(new RoomActor.Rejoin(List.of(member("a1", ANN, nodeA)), 3, List.of(ANN, BOB), null));
    room.tell(new RoomActor.Rejoin(List.of(member("b1", BOB, nodeB)), 5, List.of(ANN, BOB), null));
    nodeA.expectNoMessage(RoomActor.REJOIN_SETTLE.plusMillis(500));
    nodeB.expectNoMessage(QUIET);
  }

  @Test
  void presenceBroadcastsTellTheFanoutWhoArrivedAndWhoLeft() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    join(room, member("a1", ANN, node), node);
    room.tell(new RoomActor.Join(member("b1", BOB, node), null));
    NodeFanout.Deliver joined = expectBroadcast(node, room);
    assertThat(joined.presence()).isEqualTo(new NodeFanout.PresenceChange(BOB, true));
    NodeFanout.DeliverTo info = node.expectMessageClass(NodeFanout.DeliverTo.class);
    assertThat(info.room()).isEqualTo(room.id);
    assertThat(info.users()).containsExactly(ANN, BOB);
    room.tell(new RoomActor.Leave(member("b1", BOB, node), null));
    assertThat(expectBroadcast(node, room).presence()).isEqualTo(new NodeFanout.PresenceChange(BOB, false));
  }

  @Test
  void messageBroadcastsCarryTheirSeqForTheFanout() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("a1", ANN, node);
    join(room, ann, node);
    room.tell(new RoomActor.Post(ann, null, "one", null));
    NodeFanout.Deliver deliver = expectBroadcast(node, room);
    assertThat(deliver.seq()).isEqualTo(1);
    assertThat(deliver.presence()).isNull();
  }

  @Test
  void rejoinedMembersAreWatched() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    TestProbe<Object> bobClient = testKit.createTestProbe();
    Member ann = member("c1", ANN, node);
    room.tell(new RoomActor.Rejoin(List.of(ann, member("c2", BOB, node, bobClient)), 3, List.of(), null));

    bobClient.stop();
    JsonNode left = json(expectBroadcast(node, room).frame());
    assertThat(left.get("type").textValue()).isEqualTo("user_left");
    assertUser(left.get("payload"), BOB);
  }

  @Test
  void rejoinNeverMovesSeqBackwards() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);
    for (int i = 0; i < 3; i++) {
      room.tell(new RoomActor.Post(ann, null, "m" + i, null));
    }

    room.tell(new RoomActor.Rejoin(List.of(ann), 1, List.of(ANN), null));
    room.tell(new RoomActor.Post(ann, null, "next", null));
    JsonNode last = fish(node, m -> m instanceof NodeFanout.Deliver d
        && json(d.frame()).path("payload").path("content").asText().equals("next")
        ? json(d.frame()) : null);
    assertThat(last.get("seq").longValue()).isEqualTo(4);
  }

  @Test
  void requestFromUnknownConnectionReadmitsItSilently() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);

    Member bob = member("c9", BOB, node);
    room.tell(new RoomActor.Post(bob, id("m"), "still here", null));
    NodeFanout.Deliver message = expectBroadcast(node, room);
    assertThat(json(message.frame()).get("type").textValue()).isEqualTo("new_message");
    assertThat(message.except()).isEqualTo("c9");
    assertThat(expectReply(node, "c9").get("type").textValue()).isEqualTo("ack");

    room.tell(new RoomActor.GetOnline(ann, null));
    assertThat(userIds(expectReply(node, "c1"))).containsExactlyInAnyOrder(ANN.id(), BOB.id());
    node.expectNoMessage(QUIET);
  }

  @Test
  void typingOrOnlineUsersFromUnknownConnectionReadmitsItSilently() {
    Room room = new Room();
    TestProbe<NodeFanout.Command> node = node();
    Member ann = member("c1", ANN, node);
    join(room, ann, node);

    room.tell(new RoomActor.Typing(member("c8", BOB, node), true));
    NodeFanout.Deliver typing = expectBroadcast(node, room);
    assertThat(json(typing.frame()).get("type").textValue()).isEqualTo("user_typing");

    room.tell(new RoomActor.GetOnline(member("c9", CID, node), id("o")));
    JsonNode online = expectReply(node, "c9");
    assertThat(userIds(online)).containsExactlyInAnyOrder(ANN.id(), BOB.id(), CID.id());
    node.expectNoMessage(QUIET);
  }
}
