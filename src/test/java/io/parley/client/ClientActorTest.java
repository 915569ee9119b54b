package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import io.parley.protocol.User;
import io.parley.room.NodeRooms;
import io.parley.ws.CloseReason;
import io.parley.ws.CloseSignal;
import io.parley.ws.OutFrame;
import io.parley.ws.Outbox;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.typed.javadsl.ActorSink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One connection's actor with a real {@link Outbox} whose frames, and whose close, arrive at a
 * probe. The test plays the stream bridge (Attached, Inbound, the closed future) and the node's
 * {@link NodeRooms} (a probe), which owns the connection's rooms: the actor keeps only the
 * connection's own rules (rate limit, pong, bad frames, token expiry, close).
 */
@ExtendWith(LogCapturingExtension.class)
class ClientActorTest {

  static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdownTestKit() {
    testKit.shutdownTestKit();
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger CONNECTIONS = new AtomicInteger();
  private static final Duration QUIET = Duration.ofMillis(200);

  /** docs/protocol.md's defaults: 100 rooms, 20 frames/s, burst 40, 200 discards per 10 s. */
  private static final ClientSettings DEFAULTS =
      new ClientSettings(100, 20, 40, 200, Duration.ofSeconds(10), 256, 19500, 50);

  private static ClientSettings limits(int roomsPerConnection, double ratePerSecond, int burst,
      int abuseDiscards, Duration abuseWindow) {
    return new ClientSettings(roomsPerConnection, ratePerSecond, burst, abuseDiscards, abuseWindow, 256, 19500, 50);
  }

  /** What the socket side of the outbox saw: a text frame, or the end of the stream. */
  sealed interface Out {}

  record Frame(String text) implements Out {}

  /** {@code cause} is a {@link CloseSignal} when the actor closed the socket; null on completion. */
  record Ended(Throwable cause) implements Out {}

  /** One connection under test. */
  private static final class Conn {
    final String id = "conn-" + CONNECTIONS.incrementAndGet();
    final User user = new User("u-" + id, "User " + id);
    final TestProbe<NodeRooms.ClientCommand> rooms = testKit.createTestProbe();
    final TestProbe<Out> socket = testKit.createTestProbe();
    final TestProbe<ClientActor.Ack> acks = testKit.createTestProbe();
    final AtomicLong clock = new AtomicLong(1_000_000_000L);
    final CompletableFuture<CloseReason> closed = new CompletableFuture<>();
    final ClientSettings settings;
    final Instant expiresAt;
    final Duration attachTimeout;
    ActorRef<ClientActor.Command> ref;
    Outbox outbox;

    Conn(ClientSettings settings, Instant expiresAt, Duration attachTimeout) {
      this.settings = settings;
      this.expiresAt = expiresAt;
      this.attachTimeout = attachTimeout;
    }

    ClientActor.Node node() {
      return new ClientActor.Node("node-test", rooms.ref(), settings, attachTimeout, clock::get);
    }

    Conn spawn() {
      ref = testKit.spawn(ClientActor.create(
          new ClientActor.Connection(id, user, expiresAt, "127.0.0.1:1234"), node()));
      return this;
    }

    Conn attach() {
      outbox = Outbox.source(256, new SimpleMeterRegistry().counter("dropped"))
          .<Out>map(frame -> new Frame(frame.text()))
          .toMat(ActorSink.actorRef(socket.ref(), new Ended(null), Ended::new), Keep.left())
          .run(testKit.system());
      ref.tell(new ClientActor.Attached(outbox, closed));
      return this;
    }

    /** Attached, its connected frame read and its Connect taken off the NodeRooms probe. */
    Conn ready() {
      attach();
      assertThat(nextFrame().get("type").textValue()).isEqualTo("connected");
      rooms.expectMessageClass(NodeRooms.Connect.class);
      return this;
    }

    /** One frame from the client, acknowledged as the stream bridge requires. */
    void request(ClientRequest request) {
      ref.tell(new ClientActor.Inbound(acks.ref(), request));
      acks.expectMessage(ClientActor.Ack.INSTANCE);
    }

    JsonNode nextFrame() {
      Out out = socket.receiveMessage();
      assertThat(out).isInstanceOf(Frame.class);
      return json(((Frame) out).text());
    }

    /** Skips frames until the socket is closed; returns the close the actor asked for. */
    CloseSignal expectClose() {
      AtomicReference<Ended> ended = new AtomicReference<>();
      socket.fishForMessage(Duration.ofSeconds(5), out -> {
        if (out instanceof Ended e) {
          ended.set(e);
          return FishingOutcomes.complete();
        }
        return FishingOutcomes.continueAndIgnore();
      });
      assertThat(ended.get().cause()).isInstanceOf(CloseSignal.class);
      return (CloseSignal) ended.get().cause();
    }

    /** The request must have gone to NodeRooms unchanged, on behalf of this connection. */
    void expectPassedOn(ClientRequest request) {
      rooms.expectMessage(new NodeRooms.Request(id, request));
    }

    /**
     * Moves the manual clock, once the actor is done with every frame so far: it acknowledges a
     * frame before handling it and reads the clock again after sending a RATE_LIMITED error, so
     * wait on a message it handles after those (InboundStarted is acknowledged in turn).
     */
    void advance(Duration duration) {
      ref.tell(new ClientActor.InboundStarted(acks.ref()));
      acks.expectMessage(ClientActor.Ack.INSTANCE);
      clock.addAndGet(duration.toNanos());
    }
  }

  private static Conn conn() {
    return conn(DEFAULTS);
  }

  private static Conn conn(ClientSettings settings) {
    return new Conn(settings, null, Duration.ofSeconds(10)).spawn().ready();
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static RequestId id(String id) {
    return new RequestId("\"" + id + "\"");
  }

  private static void assertError(JsonNode frame, ErrorCode code, String id, String room) {
    assertThat(frame.get("type").textValue()).isEqualTo("error");
    assertThat(frame.get("payload").get("code").textValue()).isEqualTo(code.name());
    assertThat(frame.get("payload").get("message").textValue()).isNotBlank();
    if (id == null) assertThat(frame.has("id")).isFalse();
    else assertThat(frame.get("id").textValue()).isEqualTo(id);
    if (room == null) assertThat(frame.has("room")).isFalse();
    else assertThat(frame.get("room").textValue()).isEqualTo(room);
  }

  private static void assertPong(JsonNode frame, String id) {
    assertThat(frame.get("type").textValue()).isEqualTo("pong");
    assertThat(frame.get("id").textValue()).isEqualTo(id);
  }

  // --- connecting ---

  @Test
  void connectedFrameComesFirstWithConnectionIdUserAndNode() {
    Conn conn = new Conn(DEFAULTS, null, Duration.ofSeconds(10)).spawn().attach();
    JsonNode connected = conn.nextFrame();
    assertThat(connected.get("type").textValue()).isEqualTo("connected");
    JsonNode payload = connected.get("payload");
    assertThat(payload.get("connection_id").textValue()).isEqualTo(conn.id);
    assertThat(payload.get("user").get("id").textValue()).isEqualTo(conn.user.id());
    assertThat(payload.get("user").get("name").textValue()).isEqualTo(conn.user.name());
    assertThat(payload.get("node").textValue()).isEqualTo("node-test");
    assertThat(connected.get("timestamp").isTextual()).isTrue();
  }

  @Test
  void attachConnectsTheConnectionAndItsOutboxWithNodeRooms() {
    Conn conn = new Conn(DEFAULTS, null, Duration.ofSeconds(10)).spawn().attach();
    NodeRooms.Connect connect = conn.rooms.expectMessageClass(NodeRooms.Connect.class);
    assertThat(connect.connectionId()).isEqualTo(conn.id);
    assertThat(connect.user()).isEqualTo(conn.user);
    assertThat(connect.outbox()).isSameAs(conn.outbox);
  }

  // --- inbound frames ---

  @Test
  void eachInboundFrameIsAcknowledged() {
    Conn conn = conn(limits(100, 1, 1, 1000, Duration.ofSeconds(10)));
    conn.ref.tell(new ClientActor.InboundStarted(conn.acks.ref()));
    conn.acks.expectMessage(ClientActor.Ack.INSTANCE);
    conn.ref.tell(new ClientActor.Inbound(conn.acks.ref(), new ClientRequest.Ping(null)));
    conn.acks.expectMessage(ClientActor.Ack.INSTANCE);
    conn.ref.tell(new ClientActor.Inbound(conn.acks.ref(),
        new ClientRequest.Invalid(null, null, ErrorCode.INVALID_FORMAT, "not JSON")));
    conn.acks.expectMessage(ClientActor.Ack.INSTANCE);
    conn.ref.tell(new ClientActor.Inbound(conn.acks.ref(), new ClientRequest.JoinRoom(null, "r")));
    conn.acks.expectMessage(ClientActor.Ack.INSTANCE);
  }

  @Test
  void framesAreStillAcknowledgedWhileTheSocketClosesButGoNowhere() {
    Conn conn = conn();
    conn.ref.tell(new ClientActor.Close(1001, "draining"));
    assertThat(conn.expectClose().code()).isEqualTo(1001);
    conn.ref.tell(new ClientActor.Inbound(conn.acks.ref(), new ClientRequest.Ping(id("late"))));
    conn.acks.expectMessage(ClientActor.Ack.INSTANCE);
    conn.ref.tell(new ClientActor.Inbound(conn.acks.ref(), new ClientRequest.JoinRoom(null, "late-room")));
    conn.acks.expectMessage(ClientActor.Ack.INSTANCE);
    conn.rooms.expectNoMessage(QUIET);
  }

  @Test
  void pingIsAnsweredWithPongEchoingAStringId() {
    Conn conn = conn();
    conn.request(new ClientRequest.Ping(id("p-1")));
    JsonNode pong = conn.nextFrame();
    assertPong(pong, "p-1");
    assertThat(pong.has("room")).isFalse();
    conn.rooms.expectNoMessage(QUIET);
  }

  @Test
  void pingIsAnsweredWithPongEchoingANumericId() {
    Conn conn = conn();
    conn.request(new ClientRequest.Ping(new RequestId("17")));
    JsonNode pong = conn.nextFrame();
    assertThat(pong.get("type").textValue()).isEqualTo("pong");
    assertThat(pong.get("id").isIntegralNumber()).isTrue();
    assertThat(pong.get("id").intValue()).isEqualTo(17);
  }

  @Test
  void pingWithoutIdIsAnsweredWithPongWithoutId() {
    Conn conn = conn();
    conn.request(new ClientRequest.Ping(null));
    JsonNode pong = conn.nextFrame();
    assertThat(pong.get("type").textValue()).isEqualTo("pong");
    assertThat(pong.has("id")).isFalse();
  }

  @Test
  void invalidRequestGetsAnErrorWithItsCodeAndTheConnectionStaysUsable() {
    Conn conn = conn();
    conn.request(new ClientRequest.Invalid(id("x-1"), "general", ErrorCode.INVALID_PAYLOAD,
        "payload.content must be a non-empty string"));
    JsonNode error = conn.nextFrame();
    assertError(error, ErrorCode.INVALID_PAYLOAD, "x-1", "general");
    assertThat(error.get("payload").get("message").textValue())
        .isEqualTo("payload.content must be a non-empty string");

    conn.request(new ClientRequest.Invalid(null, null, ErrorCode.UNKNOWN_TYPE, "unknown type 'x'"));
    assertError(conn.nextFrame(), ErrorCode.UNKNOWN_TYPE, null, null);

    conn.request(new ClientRequest.Ping(id("p")));
    assertPong(conn.nextFrame(), "p");
    conn.rooms.expectNoMessage(QUIET);
  }

  // --- rooms ---

  @Test
  void roomRequestsGoToNodeRoomsUnchangedAndInOrder() {
    Conn conn = conn();
    List<ClientRequest> requests = List.of(
        new ClientRequest.JoinRoom(id("j-1"), "lobby"),
        new ClientRequest.SendMessage(id("m-1"), "lobby", "Hello!", "m-0"),
        new ClientRequest.Typing(null, "lobby", true),
        new ClientRequest.Typing(null, "lobby", false),
        new ClientRequest.OnlineUsers(new RequestId("5"), "lobby"),
        new ClientRequest.LeaveRoom(id("l-1"), "lobby"),
        new ClientRequest.SendMessage(null, "not-joined", "NodeRooms says NOT_IN_ROOM", null));
    for (ClientRequest request : requests) conn.request(request);
    for (ClientRequest request : requests) conn.expectPassedOn(request);
    conn.socket.expectNoMessage(QUIET);
  }

  @Test
  void roomRequestsBetweenPingsStayInTheirOrder() {
    Conn conn = conn();
    conn.request(new ClientRequest.JoinRoom(null, "a"));
    conn.request(new ClientRequest.Ping(id("p")));
    conn.request(new ClientRequest.JoinRoom(null, "b"));
    conn.expectPassedOn(new ClientRequest.JoinRoom(null, "a"));
    conn.expectPassedOn(new ClientRequest.JoinRoom(null, "b"));
    assertPong(conn.nextFrame(), "p");
  }

  // --- rate limit ---

  @Test
  void burstFramesPassThenRateLimitedWithIdAndRoom() {
    Conn conn = conn(limits(100, 2, 3, 1000, Duration.ofSeconds(10)));
    for (int i = 1; i <= 3; i++) {
      conn.request(new ClientRequest.Ping(id("p-" + i)));
      assertPong(conn.nextFrame(), "p-" + i);
    }
    conn.request(new ClientRequest.SendMessage(id("m-4"), "lobby", "too fast", null));
    assertError(conn.nextFrame(), ErrorCode.RATE_LIMITED, "m-4", "lobby");
    conn.request(new ClientRequest.Ping(id("p-5")));
    assertError(conn.nextFrame(), ErrorCode.RATE_LIMITED, "p-5", null);
  }

  @Test
  void rateLimitedFrameIsDiscarded() {
    Conn conn = conn(limits(100, 1, 1, 1000, Duration.ofSeconds(10)));
    conn.request(new ClientRequest.Ping(null));
    conn.nextFrame();
    conn.request(new ClientRequest.JoinRoom(id("j"), "lobby"));
    assertError(conn.nextFrame(), ErrorCode.RATE_LIMITED, "j", "lobby");
    conn.rooms.expectNoMessage(QUIET);
  }

  @Test
  void rateLimitedErrorNamesTheRate() {
    Conn conn = conn(DEFAULTS);
    for (int i = 0; i < 40; i++) conn.request(new ClientRequest.Ping(null));
    for (int i = 0; i < 40; i++) assertThat(conn.nextFrame().get("type").textValue()).isEqualTo("pong");
    conn.request(new ClientRequest.Ping(id("one-too-many")));
    JsonNode error = conn.nextFrame();
    assertError(error, ErrorCode.RATE_LIMITED, "one-too-many", null);
    assertThat(error.get("payload").get("message").textValue()).isEqualTo("more than 20 frames per second");
  }

  @Test
  void rateLimitedErrorShowsAFractionalRateAsItIs() {
    Conn conn = conn(limits(100, 2.5, 1, 1000, Duration.ofSeconds(10)));
    conn.request(new ClientRequest.Ping(null));
    conn.nextFrame();
    conn.request(new ClientRequest.Ping(null));
    assertThat(conn.nextFrame().get("payload").get("message").textValue())
        .isEqualTo("more than 2.5 frames per second");
  }

  @Test
  void tokensRefillAsTheClockAdvancesUpToTheBurst() {
    Conn conn = conn(limits(100, 2, 3, 1000, Duration.ofSeconds(10)));
    for (int i = 0; i < 3; i++) {
      conn.request(new ClientRequest.Ping(null));
      assertThat(conn.nextFrame().get("type").textValue()).isEqualTo("pong");
    }
    conn.request(new ClientRequest.Ping(id("none-left")));
    assertError(conn.nextFrame(), ErrorCode.RATE_LIMITED, "none-left", null);

    conn.advance(Duration.ofMillis(600)); // 1.2 tokens at 2 per second
    conn.request(new ClientRequest.Ping(id("refilled")));
    assertPong(conn.nextFrame(), "refilled");
    conn.request(new ClientRequest.Ping(id("used-up")));
    assertError(conn.nextFrame(), ErrorCode.RATE_LIMITED, "used-up", null);

    conn.advance(Duration.ofSeconds(60)); // far more than the burst: capped at 3
    for (int i = 1; i <= 3; i++) {
      conn.request(new ClientRequest.Ping(id("b-" + i)));
      assertPong(conn.nextFrame(), "b-" + i);
    }
    conn.request(new ClientRequest.Ping(id("b-4")));
    assertError(conn.nextFrame(), ErrorCode.RATE_LIMITED, "b-4", null);
  }

  @Test
  void moreThanAbuseDiscardsWithinTheWindowClosesWith1008() {
    Conn conn = conn(limits(100, 1, 1, 5, Duration.ofSeconds(10)));
    conn.request(new ClientRequest.Ping(null));
    conn.nextFrame();
    for (int i = 1; i <= 5; i++) {
      conn.request(new ClientRequest.Ping(id("d-" + i)));
      assertError(conn.nextFrame(), ErrorCode.RATE_LIMITED, "d-" + i, null);
    }
    conn.advance(Duration.ofSeconds(1)); // one token: still open after 5 discards
    conn.request(new ClientRequest.Ping(id("alive")));
    assertPong(conn.nextFrame(), "alive");

    conn.request(new ClientRequest.Ping(id("d-6")));
    assertThat(conn.expectClose().code()).isEqualTo(1008);
  }

  @Test
  void discardsOlderThanTheAbuseWindowDoNotCount() {
    Conn conn = conn(limits(100, 1, 1, 5, Duration.ofSeconds(10)));
    conn.request(new ClientRequest.Ping(null));
    conn.nextFrame();
    for (int i = 0; i < 5; i++) {
      conn.request(new ClientRequest.Ping(null));
      assertThat(conn.nextFrame().get("type").textValue()).isEqualTo("error");
    }
    conn.advance(Duration.ofSeconds(11));
    conn.request(new ClientRequest.Ping(null));
    assertThat(conn.nextFrame().get("type").textValue()).isEqualTo("pong");
    for (int i = 0; i < 5; i++) {
      conn.request(new ClientRequest.Ping(null));
      assertThat(conn.nextFrame().get("type").textValue()).isEqualTo("error");
    }
    conn.advance(Duration.ofSeconds(1));
    conn.request(new ClientRequest.Ping(id("alive")));
    assertPong(conn.nextFrame(), "alive");

    conn.request(new ClientRequest.Ping(null));
    assertThat(conn.expectClose().code()).isEqualTo(1008);
  }

  @Test
  void aBurstOf100FramesAtDefaultLimitsIsNotAbuse() {
    Conn conn = conn(DEFAULTS);
    for (int i = 0; i < 100; i++) conn.request(new ClientRequest.Ping(new RequestId(Integer.toString(i))));
    int pongs = 0;
    int limited = 0;
    for (int i = 0; i < 100; i++) {
      JsonNode frame = conn.nextFrame();
      assertThat(frame.get("id").intValue()).isEqualTo(i);
      if (frame.get("type").textValue().equals("pong")) pongs++;
      else if (frame.path("payload").path("code").asText().equals("RATE_LIMITED")) limited++;
    }
    assertThat(pongs).isEqualTo(40);
    assertThat(limited).isEqualTo(60);

    conn.advance(Duration.ofSeconds(1));
    conn.request(new ClientRequest.Ping(id("still-open")));
    assertPong(conn.nextFrame(), "still-open");
  }

  // --- closing ---

  @Test
  void tokenExpiryClosesWith4001AtExp() {
    Instant expiresAt = Instant.now().plusMillis(1500);
    Conn conn = new Conn(DEFAULTS, expiresAt, Duration.ofSeconds(10)).spawn().ready();
    CloseSignal close = conn.expectClose();
    Instant closedAt = Instant.now();
    assertThat(close.code()).isEqualTo(4001);
    assertThat(closedAt).isAfterOrEqualTo(expiresAt.minusMillis(20));
  }

  @Test
  void tokenExpiringInAYearLeavesTheConnectionUsable() {
    Conn conn = new Conn(DEFAULTS, Instant.now().plus(Duration.ofDays(365)), Duration.ofSeconds(10))
        .spawn().attach();
    assertThat(conn.nextFrame().get("type").textValue()).isEqualTo("connected");
    conn.request(new ClientRequest.Ping(id("p")));
    assertPong(conn.nextFrame(), "p");
  }

  @Test
  void tokenAlreadyExpiredAtAttachClosesWith4001() {
    Conn conn = new Conn(DEFAULTS, Instant.now().minusSeconds(1), Duration.ofSeconds(10)).spawn().attach();
    assertThat(conn.expectClose().code()).isEqualTo(4001);
  }

  @Test
  void closeCommandClosesWithItsCode() {
    Conn conn = conn();
    conn.ref.tell(new ClientActor.Close(1001, "server going away"));
    CloseSignal close = conn.expectClose();
    assertThat(close.code()).isEqualTo(1001);
    assertThat(close.reason()).isEqualTo("server going away");
  }

  @Test
  void closeBeforeTheSocketAttachedClosesRightAfterAttach() {
    Conn conn = new Conn(DEFAULTS, null, Duration.ofSeconds(10)).spawn();
    conn.ref.tell(new ClientActor.Close(1001, "draining"));
    conn.attach();
    assertThat(conn.expectClose().code()).isEqualTo(1001);
  }

  @Test
  void theSocketClosingAndItsStreamEndingStopTheActorAndDisconnectFromNodeRooms() {
    Conn conn = conn();
    ClientRequest join = new ClientRequest.JoinRoom(null, "a");
    conn.request(join);
    conn.expectPassedOn(join);
    conn.closed.complete(new CloseReason(1000, "bye", false));
    conn.ref.tell(ClientActor.InboundEnded.INSTANCE);
    testKit.createTestProbe().expectTerminated(conn.ref);
    conn.rooms.expectMessage(new NodeRooms.Disconnect(conn.id));
  }

  @Test
  void aRequestReadBeforeTheCloseIsCarriedOutEvenWhenTheNewsOfTheCloseComesFirst() {
    Conn conn = conn();
    conn.closed.complete(new CloseReason(1000, "bye", false));
    ClientRequest last = new ClientRequest.SendMessage(id("last"), "a", "sent just before closing", null);
    conn.ref.tell(new ClientActor.Inbound(conn.acks.ref(), last));
    conn.acks.expectMessage(ClientActor.Ack.INSTANCE);
    conn.expectPassedOn(last);
    conn.ref.tell(ClientActor.InboundEnded.INSTANCE);
    testKit.createTestProbe().expectTerminated(conn.ref);
    conn.rooms.expectMessage(new NodeRooms.Disconnect(conn.id));
  }

  @Test
  void theStreamEndingFirstThenTheCloseStopsTheActorToo() {
    Conn conn = conn();
    conn.ref.tell(ClientActor.InboundEnded.INSTANCE);
    conn.closed.complete(new CloseReason(1000, "bye", false));
    testKit.createTestProbe().expectTerminated(conn.ref);
    conn.rooms.expectMessage(new NodeRooms.Disconnect(conn.id));
  }

  @Test
  void aFailedSocketStopsTheActorOnceItsStreamEndsOrAfterTheGrace() {
    Conn conn = conn();
    conn.closed.completeExceptionally(new RuntimeException("connection reset"));
    testKit.createTestProbe().expectTerminated(conn.ref, Duration.ofSeconds(15)); // no stream end: the 5 s grace
    conn.rooms.expectMessage(new NodeRooms.Disconnect(conn.id));
  }

  @Test
  void attachTimeoutStopsTheActorWithoutTellingNodeRooms() {
    Conn conn = new Conn(DEFAULTS, null, Duration.ofMillis(300)).spawn();
    testKit.createTestProbe().expectTerminated(conn.ref, Duration.ofSeconds(5));
    conn.rooms.expectNoMessage(QUIET);
  }
}
