package io.parley.room;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.history.LogSettings;
import io.parley.history.RoomLog;
import io.parley.history.RoomLogs;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.User;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * The room's side of the server API ({@link RoomActor.ApiCommand}): a publish is stored and
 * delivered exactly as a member's post, idempotency keys, history and presence for the API. As in
 * {@link RoomActorTest}, probes play the shard and the nodes; the log is a real store.
 */
@ExtendWith(LogCapturingExtension.class)
class RoomPublishTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final ActorRef<HostedRooms.Command> HOSTED = testKit.spawn(HostedRooms.create(1_000_000));
  static final RoomLog LOG = RoomLog.open(RoomLogs.inMemory());

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    LOG.close();
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger ROOMS = new AtomicInteger();
  private static final AtomicLong REFS = new AtomicLong();
  private static final Duration QUIET = Duration.ofMillis(200);
  private static final Duration LONG = Duration.ofMinutes(10);
  private static final User ANN = new User("u-ann", "Ann");
  private static final User BOB = new User("u-bob", "Bob");
  private static final User SERVER = new User("server", "server");

  /** A room that runs, greeted by {@code nodes}, each of which answered with {@code members}. */
  private static final class Room {
    final String id;
    final TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();
    final ActorRef<RoomActor.Command> ref;
    final String epoch;

    @SafeVarargs
    Room(String id, RoomLog log, Duration idleFor, List<UserCount> members, TestProbe<NodeRooms.RoomEvent>... nodes) {
      this.id = id;
      List<ActorRef<NodeRooms.RoomEvent>> refs = Arrays.stream(nodes).map(TestProbe::ref).toList();
      ref = testKit.spawn(RoomActor.create(id, shard.ref(),
          new RoomActor.Site(HOSTED, () -> refs, log, LONG, 100, idleFor)));
      String greetedWith = null;
      for (TestProbe<NodeRooms.RoomEvent> node : nodes) {
        greetedWith = node.expectMessageClass(NodeRooms.Hello.class).epoch();
        ref.tell(new RoomActor.Snapshot(node.ref(), members, 0, members.stream().map(UserCount::user).toList()));
      }
      epoch = greetedWith;
    }

    void tell(RoomActor.Command command) {
      ref.tell(command);
    }

    /** The answer to {@code call}, made with a fresh probe as its replyTo. */
    RoomActor.ApiReply ask(java.util.function.Function<ActorRef<RoomActor.ApiReply>, RoomActor.Command> call) {
      TestProbe<RoomActor.ApiReply> probe = testKit.createTestProbe();
      tell(call.apply(probe.ref()));
      return probe.receiveMessage();
    }
  }

  @SafeVarargs
  private static Room withMembers(TestProbe<NodeRooms.RoomEvent>... nodes) {
    return new Room("publish-" + ROOMS.incrementAndGet(), LOG, LONG, List.of(new UserCount(ANN, 1)), nodes);
  }

  private static Room empty(TestProbe<NodeRooms.RoomEvent> node) {
    return new Room("publish-" + ROOMS.incrementAndGet(), LOG, LONG, List.of(), node);
  }

  private static RoomActor.Publish publish(String payload, String key, ActorRef<RoomActor.ApiReply> replyTo) {
    return new RoomActor.Publish(payload, SERVER, key, System.currentTimeMillis() + 60_000, replyTo);
  }

  private static RoomActor.ApiReply publish(Room room, String payload, String key) {
    return room.ask(replyTo -> publish(payload, key, replyTo));
  }

  private static List<Long> historySeqs(Room room) {
    RoomActor.HistoryPage page = (RoomActor.HistoryPage) room.ask(replyTo -> new RoomActor.ReadHistory(null, null, 100, replyTo));
    List<Long> seqs = new ArrayList<>();
    for (byte[] frame : page.messages()) seqs.add(json(frame).get("seq").longValue());
    return seqs;
  }

  private static NodeRooms.Deliver expectMessage(TestProbe<NodeRooms.RoomEvent> node) {
    List<NodeRooms.RoomEvent> seen = node.fishForMessage(Duration.ofSeconds(10), event ->
        event instanceof NodeRooms.Deliver deliver && deliver.seq() > 0
            ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    return (NodeRooms.Deliver) seen.get(seen.size() - 1);
  }

  private static JsonNode json(byte[] frame) {
    try {
      return JSON.readTree(frame);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- publishing -------------------------------------------------------------------------------

  @Test
  void publishIsDeliveredToEveryConnectionOnEveryNodeWithThePayloadAsGiven() {
    TestProbe<NodeRooms.RoomEvent> nodeA = testKit.createTestProbe();
    TestProbe<NodeRooms.RoomEvent> nodeB = testKit.createTestProbe();
    Room room = withMembers(nodeA, nodeB);
    String payload = "{\"content\":\"Deploy finished\",\"level\":\"info\",\"tags\":[1,{\"a\":null}],\"reply_to\":\"m-0\"}";

    RoomActor.Published published = (RoomActor.Published) room.ask(replyTo ->
        new RoomActor.Publish(payload, new User("ci", "CI"), null, System.currentTimeMillis() + 60_000, replyTo));
    NodeRooms.Deliver onA = expectMessage(nodeA);
    NodeRooms.Deliver onB = expectMessage(nodeB);
    assertThat(onA.except()).as("no connection is left out").isNull();
    assertThat(onA.reply()).isNull();
    assertThat(onB.frame()).isEqualTo(onA.frame());
    JsonNode frame = json(onA.frame());
    assertThat(frame.get("type").textValue()).isEqualTo("new_message");
    assertThat(frame.get("room").textValue()).isEqualTo(room.id);
    assertThat(frame.get("payload")).isEqualTo(json(payload.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertThat(frame.get("sender").get("id").textValue()).isEqualTo("ci");
    assertThat(frame.get("sender").get("name").textValue()).isEqualTo("CI");
    assertThat(published).isEqualTo(new RoomActor.Published(frame.get("id").textValue(), 1, room.epoch));
    assertThat(onA.seq()).isEqualTo(1);
  }

  @Test
  void postsAndPublishesShareOneSeqOrderAndOneHistory() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    Room room = withMembers(node);
    room.tell(new RoomActor.Post(node.ref(), REFS.incrementAndGet(), "c1", ANN, new RequestId("1"), "m-a", "one", null));
    assertThat(expectMessage(node).seq()).isEqualTo(1);
    assertThat(((RoomActor.Published) publish(room, "{\"content\":\"two\"}", null)).seq()).isEqualTo(2);
    assertThat(expectMessage(node).seq()).isEqualTo(2);
    room.tell(new RoomActor.Post(node.ref(), REFS.incrementAndGet(), "c1", ANN, new RequestId("2"), "m-b", "three", null));
    assertThat(expectMessage(node).seq()).isEqualTo(3);
    assertThat(historySeqs(room)).containsExactly(1L, 2L, 3L);
  }

  @Test
  void aRoomWithoutMembersTakesPublishesIntoItsHistoryAndStopsWhenIdle() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    Room room = new Room("publish-" + ROOMS.incrementAndGet(), LOG, Duration.ofMillis(300), List.of(), node);
    assertThat(((RoomActor.Published) publish(room, "{\"content\":\"a\"}", null)).seq()).isEqualTo(1);
    assertThat(((RoomActor.Published) publish(room, "{\"content\":\"b\"}", null)).seq()).isEqualTo(2);
    node.expectNoMessage(QUIET);
    assertThat(historySeqs(room)).containsExactly(1L, 2L);
    room.shard.fishForMessage(Duration.ofSeconds(5), command -> command.equals(new ClusterSharding.Passivate<>(room.ref))
        ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
  }

  @Test
  void aPublishThatArrivesAfterItsDeadlineIsRefusedAndNotStored() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    Room room = withMembers(node);
    RoomActor.ApiReply reply = room.ask(replyTo ->
        new RoomActor.Publish("{\"content\":\"late\"}", SERVER, null, System.currentTimeMillis() - 1, replyTo));
    assertThat(reply).isInstanceOfSatisfying(RoomActor.Failed.class,
        failed -> assertThat(failed.code()).isEqualTo(ErrorCode.UNAVAILABLE));
    node.expectNoMessage(QUIET);
    assertThat(historySeqs(room)).isEmpty();
  }

  // ---- idempotency ------------------------------------------------------------------------------

  @Test
  void aRepeatedKeyAnswersTheFirstResultAndIsDeliveredOnce() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    Room room = withMembers(node);
    RoomActor.ApiReply first = publish(room, "{\"content\":\"once\"}", "deploy-1842");
    expectMessage(node);
    RoomActor.ApiReply again = publish(room, "{\"content\":\"a different body\"}", "deploy-1842");
    assertThat(again).isEqualTo(first);
    node.expectNoMessage(QUIET);
    assertThat(historySeqs(room)).containsExactly(1L);
  }

  @Test
  void concurrentPublishesWithOneKeyWaitForTheFirstAndAllGetItsResult() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    Room room = withMembers(node);
    TestProbe<RoomActor.ApiReply> callers = testKit.createTestProbe();
    for (int i = 0; i < 5; i++) room.tell(publish("{\"content\":\"try " + i + "\"}", "k-concurrent", callers.ref()));
    List<RoomActor.ApiReply> replies = callers.receiveSeveralMessages(5);
    assertThat(replies).allMatch(reply -> reply.equals(replies.get(0)));
    assertThat(replies.get(0)).isInstanceOf(RoomActor.Published.class);
    assertThat(json(expectMessage(node).frame()).get("payload").get("content").textValue()).isEqualTo("try 0");
    node.expectNoMessage(QUIET);
    assertThat(historySeqs(room)).containsExactly(1L);
  }

  @Test
  void aKeyPublishedByAnEarlierIncarnationIsReadBackFromTheLog() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    String id = "publish-" + ROOMS.incrementAndGet();
    Room first = new Room(id, LOG, LONG, List.of(new UserCount(ANN, 1)), node);
    RoomActor.ApiReply result = publish(first, "{\"content\":\"x\"}", "k-incarnations");
    expectMessage(node);
    first.tell(RoomActor.stopMessage());
    testKit.createTestProbe().expectTerminated(first.ref);

    Room second = new Room(id, LOG, LONG, List.of(new UserCount(ANN, 1)), node);
    expectMessage(node); // the second incarnation catches the node up (its snapshot said seq 0)
    assertThat(publish(second, "{\"content\":\"x\"}", "k-incarnations")).isEqualTo(result);
    node.expectNoMessage(QUIET);
    assertThat(historySeqs(second)).containsExactly(1L);
  }

  @Test
  void theSameKeyInAnotherRoomIsAnotherMessage() {
    RoomActor.Published inFirst = (RoomActor.Published) publish(withMembers(testKit.createTestProbe()), "{\"content\":\"x\"}", "k-shared");
    RoomActor.Published inSecond = (RoomActor.Published) publish(withMembers(testKit.createTestProbe()), "{\"content\":\"x\"}", "k-shared");
    assertThat(inSecond.messageId()).isNotEqualTo(inFirst.messageId());
    assertThat(inSecond.seq()).isEqualTo(1);
  }

  // ---- the store down ---------------------------------------------------------------------------

  @Test
  void whileTheStoreIsDownAPublishIsRefusedAndNothingIsStoredOrSent() throws Exception {
    LogSettings settings = RoomLogs.inMemory();
    try (RoomLog log = RoomLog.open(settings); Connection admin = DriverManager.getConnection(settings.url())) {
      TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
      Room room = new Room("publish-" + ROOMS.incrementAndGet(), log, LONG, List.of(new UserCount(ANN, 1)), node);
      execute(admin, "alter table messages rename to messages_away");

      for (String key : Arrays.asList(null, "k-down")) {
        assertThat(publish(room, "{\"content\":\"lost\"}", key)).isInstanceOfSatisfying(RoomActor.Failed.class,
            failed -> assertThat(failed.code()).isEqualTo(ErrorCode.UNAVAILABLE));
      }
      node.expectNoMessage(QUIET);

      execute(admin, "alter table messages_away rename to messages");
      TestProbe<Object> waiter = testKit.createTestProbe();
      RoomActor.Published published = waiter.awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(200), () -> {
        RoomActor.ApiReply reply = publish(room, "{\"content\":\"kept\"}", "k-down");
        assertThat(reply).isInstanceOf(RoomActor.Published.class);
        return (RoomActor.Published) reply;
      });
      assertThat(published.seq()).as("nothing was stored while the store was down").isEqualTo(1);
      assertThat(json(expectMessage(node).frame()).get("payload").get("content").textValue()).isEqualTo("kept");
      assertThat(publish(room, "{\"content\":\"kept\"}", "k-down")).isEqualTo(published);
    }
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  // ---- history and presence ---------------------------------------------------------------------

  @Test
  void readHistoryAnswersAsTheHistoryRequestDoes() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    Room room = empty(node);
    for (int i = 1; i <= 5; i++) publish(room, "{\"content\":\"m" + i + "\"}", null);

    RoomActor.HistoryPage before = (RoomActor.HistoryPage) room.ask(replyTo -> new RoomActor.ReadHistory(4L, null, 2, replyTo));
    assertThat(before.epoch()).isEqualTo(room.epoch);
    assertThat(before.seq()).isEqualTo(5);
    assertThat(before.messages()).extracting(frame -> json(frame).get("seq").longValue()).containsExactly(2L, 3L);
    RoomActor.HistoryPage after = (RoomActor.HistoryPage) room.ask(replyTo -> new RoomActor.ReadHistory(null, 3L, 10, replyTo));
    assertThat(after.messages()).extracting(frame -> json(frame).get("payload").get("content").textValue())
        .containsExactly("m4", "m5");
    RoomActor.HistoryPage newest = (RoomActor.HistoryPage) room.ask(replyTo -> new RoomActor.ReadHistory(null, null, 2, replyTo));
    assertThat(newest.messages()).extracting(frame -> json(frame).get("seq").longValue()).containsExactly(4L, 5L);
  }

  @Test
  void listUsersAnswersTheRoomsDistinctUsers() {
    TestProbe<NodeRooms.RoomEvent> nodeA = testKit.createTestProbe();
    TestProbe<NodeRooms.RoomEvent> nodeB = testKit.createTestProbe();
    String id = "publish-" + ROOMS.incrementAndGet();
    List<ActorRef<NodeRooms.RoomEvent>> refs = List.of(nodeA.ref(), nodeB.ref());
    ActorRef<RoomActor.Command> room = testKit.spawn(RoomActor.create(id, testKit.<ClusterSharding.ShardCommand>createTestProbe().ref(),
        new RoomActor.Site(HOSTED, () -> refs, LOG, LONG, 100, LONG)));
    nodeA.expectMessageClass(NodeRooms.Hello.class);
    nodeB.expectMessageClass(NodeRooms.Hello.class);
    room.tell(new RoomActor.Snapshot(nodeA.ref(), List.of(new UserCount(ANN, 2), new UserCount(BOB, 1)), 0, List.of()));
    room.tell(new RoomActor.Snapshot(nodeB.ref(), List.of(new UserCount(ANN, 1)), 0, List.of()));

    TestProbe<RoomActor.ApiReply> caller = testKit.createTestProbe();
    room.tell(new RoomActor.ListUsers(caller.ref()));
    assertThat(caller.expectMessageClass(RoomActor.Users.class).users()).containsExactly(ANN, BOB);
  }

  @Test
  void aRoomBeyondTheNodesCapAnswersApiCallsUnavailable() {
    TestProbe<NodeRooms.RoomEvent> node = testKit.createTestProbe();
    ActorRef<RoomActor.Command> room = testKit.spawn(RoomActor.create("publish-" + ROOMS.incrementAndGet(),
        testKit.<ClusterSharding.ShardCommand>createTestProbe().ref(),
        new RoomActor.Site(testKit.spawn(HostedRooms.create(0)), () -> List.of(node.ref()), LOG, LONG, 100, LONG)));
    TestProbe<RoomActor.ApiReply> caller = testKit.createTestProbe();
    room.tell(publish("{\"content\":\"x\"}", null, caller.ref()));
    room.tell(new RoomActor.ListUsers(caller.ref()));
    for (int i = 0; i < 2; i++) {
      assertThat(caller.expectMessageClass(RoomActor.Failed.class).code()).isEqualTo(ErrorCode.UNAVAILABLE);
    }
    node.expectNoMessage(QUIET);
  }
}
