package io.parley.web;

import static io.parley.web.DemoPage.awaitPresence;
import static io.parley.web.DemoPage.hasNotice;
import static io.parley.web.DemoPage.join;
import static io.parley.web.DemoPage.lastMessage;
import static io.parley.web.DemoPage.messageTexts;
import static io.parley.web.DemoPage.recordStates;
import static io.parley.web.DemoPage.say;
import static io.parley.web.DemoPage.signIn;
import static io.parley.web.DemoPage.testId;
import static io.parley.web.DemoPage.text;
import static io.parley.web.DemoPage.type;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.openqa.selenium.support.ui.ExpectedConditions.attributeToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.invisibilityOfElementLocated;
import static org.openqa.selenium.support.ui.ExpectedConditions.textToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.visibilityOfElementLocated;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.testing.HeadlessChromium;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.interactions.WheelInput;

/**
 * History and recovery (docs/protocol.md, "History and recovery") in real headless Chromium, against
 * real nodes that keep each room's log in their embedded store: the demo page's last 50 messages and
 * "load earlier messages", a chat through a restart of the node (same data directory, same port),
 * and parley.js's {@code recovered} events, {@code history()} and gap filling. The other users are
 * JDK WebSocket clients.
 *
 * <p>The nodes allow 1000 frames a second per connection, so that those clients can post a room's
 * history in one go; the pages never come near the default limit.
 */
@ExtendWith(LogCapturingExtension.class)
class BrowserHistoryIT {
  private static final String FAST_POSTING = """
      parley.dev-mode = on
      parley.limits.rate-per-second = 1000
      parley.limits.rate-burst = 1000
      """;
  /**
   * Makes the page's next sockets lossy: once {@code window.loseNextAck} is set, the next
   * {@code ack} is not delivered, and the socket is closed instead, as if the connection had
   * dropped just before it.
   */
  private static final String LOSSY_SOCKETS = """
      (() => {
        class LossySocket extends WebSocket {
          set onmessage(handler) {
            super.onmessage = handler && ((event) => {
              if (window.loseNextAck && JSON.parse(event.data).type === 'ack') {
                window.loseNextAck = false;
                this.close(4000, 'ack lost');
              } else {
                handler(event);
              }
            });
          }
          get onmessage() { return super.onmessage; }
        }
        window.WebSocket = LossySocket;
        return true;
      })()""";
  private static final Pattern DROPPED = Pattern.compile("(?m)^parley_dropped_frames_total(?:\\{[^}]*\\})? (\\S+)$");

  private static ParleyNode node;
  private static HeadlessChromium ann;
  private static HeadlessChromium ben;

  @RegisterExtension
  final TestWatcher consoleOnFailure = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      System.out.println("Ann's page log:\n" + ann.eval("window.T && T.log") + "\nAnn's console:\n" + ann.consoleLog()
          + "\nBen's console:\n" + ben.consoleLog());
    }
  };

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start(FAST_POSTING);
    ann = HeadlessChromium.start(HeadlessChromium.DESKTOP);
    ben = HeadlessChromium.start(HeadlessChromium.DESKTOP);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (ann != null) ann.close();
      if (ben != null) ben.close();
    } finally {
      node.close();
    }
  }

  // ---- the demo page ------------------------------------------------------------------------------

  @Test
  void theDemoPageShowsTheLast50MessagesAndEarlierOnesWhenScrolledToTheTop() {
    String room = "page-scroll-back";
    try (WsClient cleo = member(node, "hist-cleo", "Cleo", room)) {
      post(cleo, room, numbered("Message", 1, 120));
    }
    signIn(ann, "http://localhost:" + node.port(), "Ann");
    join(ann, room);
    ann.waiting().withMessage(() -> "the newest 50, oldest first; shown " + shownSeqs(ann))
        .until(d -> messageTexts(ann).equals(numbered("Message", 71, 120)));
    assertThat(shownSeqs(ann)).isEqualTo(range(71, 120));
    assertThat(ann.driver().findElement(testId("load-earlier")).isDisplayed()).isTrue();
    assertThat(isOnScreen(ann, 120)).as("the newest message is in view").isTrue();

    // The user scrolls up to the top: the 50 before the oldest shown come, above it, and what was
    // on screen stays on screen.
    scrollMessagesToTheTop(ann);
    ann.waiting().withMessage(() -> "50 earlier ones; shown " + shownSeqs(ann))
        .until(d -> shownSeqs(ann).size() == 100);
    assertThat(messageTexts(ann)).isEqualTo(numbered("Message", 21, 120));
    assertThat(isOnScreen(ann, 71)).as("the message that was at the top is still in view").isTrue();
    assertThat(ann.driver().findElement(testId("load-earlier")).isDisplayed()).isTrue();

    // Again: the last 20, down to the room's first message, and the control goes away.
    scrollMessagesToTheTop(ann);
    ann.waiting().until(invisibilityOfElementLocated(testId("load-earlier")));
    assertThat(messageTexts(ann)).isEqualTo(numbered("Message", 1, 120));
    assertThat(shownSeqs(ann)).isEqualTo(range(1, 120));

    // Live messages go on below, once each.
    try (WsClient cleo = member(node, "hist-cleo", "Cleo", room)) {
      post(cleo, room, List.of("Message 121"));
    }
    ann.waiting().until(d -> shownSeqs(ann).size() == 121);
    assertThat(shownSeqs(ann)).isEqualTo(range(1, 121));
  }

  @Test
  void aChatThroughARestartOfTheNodeShowsEveryMessageOnceOnBothPages() throws Exception {
    String room = "page-restart";
    int port = BrowserClientLibraryIT.freePort();
    String dataDir = TestNode.dataDir();
    ParleyNode first = restartable(port, dataDir, "before-restart");
    ParleyNode second = null;
    try {
      String at = "http://localhost:" + port;
      signIn(ann, at, "Ann");
      signIn(ben, at, "Ben");
      join(ann, room);
      join(ben, room);
      awaitPresence(ann, "Ann", "Ben");
      say(ann, ben, "Ann", "Before the restart, Ann.");
      say(ben, ann, "Ben", "Before the restart, Ben.");

      recordStates(ann);
      recordStates(ben);
      first.close();
      for (HeadlessChromium page : List.of(ann, ben)) waitWithoutRetrying(page);
      // Ann writes while the node is down: the page keeps her message until it can send it.
      type(ann, "Written while the node was down.");
      ann.driver().findElement(testId("send-button")).click();
      ann.waiting().until(d -> "pending".equals(lastMessage(ann).getAttribute("data-status")));

      second = restartable(port, dataDir, "after-restart");
      try (WsClient cleo = member(second, "restart-cleo", "Cleo", room)) {
        post(cleo, room, numbered("While they were away", 1, 3));
        assertThat(text(ann, "connection-state")).isEqualTo("reconnecting");
        assertThat(text(ben, "connection-state")).isEqualTo("reconnecting");

        List<String> expected = new ArrayList<>(List.of("Before the restart, Ann.", "Before the restart, Ben."));
        expected.addAll(numbered("While they were away", 1, 3));
        expected.add("Written while the node was down.");
        ann.driver().findElement(testId("retry-button")).click();
        awaitMessages(ann, expected);
        ann.waiting().until(d -> "sent".equals(lastMessage(ann).getAttribute("data-status")));
        assertThat(hasNotice(ann, "Reconnected to after-restart.")).isTrue();
        assertThat(hasNotice(ann, "3 messages sent meanwhile recovered")).isTrue();

        ben.driver().findElement(testId("retry-button")).click();
        awaitMessages(ben, expected);
        assertThat(hasNotice(ben, "4 messages sent meanwhile recovered")).isTrue();

        // The chat goes on, live, on both pages.
        say(ben, ann, "Ben", "After the restart, Ben.");
        post(cleo, room, List.of("After the restart, Cleo."));
        expected.addAll(List.of("After the restart, Ben.", "After the restart, Cleo."));
        for (HeadlessChromium page : List.of(ann, ben)) {
          awaitMessages(page, expected);
          assertThat(shownSeqs(page)).as("every message once, in the room's order").isEqualTo(range(1, expected.size()));
          assertThat(hasNotice(page, "could not be recovered")).isFalse();
          assertThat(hasNotice(page, "missed")).isFalse();
        }
      }
    } finally {
      first.close();
      if (second != null) second.close();
    }
  }

  /**
   * The connection is lost after the node stored a message and before its ack reached the page
   * (the page's socket drops on that ack): the page says "not sent". The reconnect's recovery
   * brings the message back, and the page shows it once, as sent, in its place.
   */
  @Test
  void aMessageWhoseAckWasLostWithTheConnectionShowsOnceWhenRecovered() {
    String room = "page-lost-ack";
    String at = "http://localhost:" + node.port();
    signIn(ann, at, "Ann");
    signIn(ben, at, "Ben");
    ann.eval(LOSSY_SOCKETS);
    ann.eval("window.parleyDemo.app.client.reconnect() ?? true"); // onto a lossy socket
    ann.waiting().until(textToBe(testId("connection-state"), "open"));
    join(ann, room);
    join(ben, room);
    awaitPresence(ann, "Ann", "Ben");
    say(ben, ann, "Ben", "Are you there?");

    ann.eval("window.loseNextAck = true");
    type(ann, "Sent as the connection dropped.");
    ann.driver().findElement(testId("send-button")).click();
    ann.waiting().until(visibilityOfElementLocated(By.cssSelector("[data-testid=toast][data-code=CONNECTION_LOST]")));
    ann.waiting().withMessage("confirmed by the recovery")
        .until(d -> "sent".equals(lastMessage(ann).getAttribute("data-status")));

    List<String> expected = List.of("Are you there?", "Sent as the connection dropped.");
    for (HeadlessChromium page : List.of(ann, ben)) {
      awaitMessages(page, expected);
      assertThat(shownSeqs(page)).isEqualTo(range(1, 2));
    }
    say(ben, ann, "Ben", "Got it, once.");
    assertThat(shownSeqs(ann)).isEqualTo(range(1, 3));
  }

  // ---- parley.js ----------------------------------------------------------------------------------

  @Test
  void theClientRecoversWhatItMissedDuringARestartAndReadsBackWithHistory() throws Exception {
    String room = "lib-recovery";
    int port = BrowserClientLibraryIT.freePort();
    String dataDir = TestNode.dataDir();
    ParleyNode first = restartable(port, dataDir, "before-restart");
    ParleyNode second = null;
    ParleyNode wiped = null;
    try {
      openLibraryPage(first);
      String epoch;
      try (WsClient ben = member(first, "lib-hist-ben", "Ben", room)) {
        post(ben, room, List.of("b1", "b2"));
        // A supplier that holds the next token while the test says so: the client stays away.
        JsonNode joined = ann.run("""
            const [url, token, room] = args;
            let gate = null;
            window.holdTokens = () => { gate = new Promise((resolve) => { window.releaseTokens = resolve; }); };
            window.client = track('ann', new P.ParleyClient(url, async () => { if (gate) { await gate; gate = null; } return token; },
                { backoffBase: 100, backoffCap: 500, logger: null }));
            client.connect();
            const info = await client.joinRoom(room, { history: 10 });
            const ack = await client.sendMessage(room, 'a3');
            return { info: info.payload, ack: ack.payload.seq };
            """, wsUrl(first), TestTokens.token("lib-hist-ann", "Ann"), room);
        assertThat(joined.at("/info/seq").asLong()).isEqualTo(2);
        epoch = joined.at("/info/epoch").asText();
        assertThat(joined.at("/ack").asLong()).isEqualTo(3);
        post(ben, room, List.of("b4"));
        awaitDelivered(room, "b1", "b2", "b4");
      }

      ann.eval("holdTokens()");
      first.close();
      ann.waiting().until(d -> ann.eval("client.state === 'reconnecting' || client.state === 'connecting'").asBoolean());
      second = restartable(port, dataDir, "after-restart");
      try (WsClient ben = member(second, "lib-hist-ben", "Ben", room)) {
        post(ben, room, List.of("b5", "b6", "b7"));
        ann.eval("releaseTokens()");
        ann.waiting().withMessage("recovered after the restart")
            .until(d -> ann.eval("T.log.some((e) => e.kind === 'recovered')").asBoolean());
        JsonNode recovered = ann.eval("T.log.filter((e) => e.kind === 'recovered')");
        assertThat(recovered).hasSize(1);
        assertThat(recovered.get(0).path("room").asText()).isEqualTo(room);
        assertThat(recovered.get(0).path("recovered").asBoolean()).isTrue();
        assertThat(recovered.get(0).path("missed").asInt()).isEqualTo(3);
        awaitDelivered(room, "b1", "b2", "b4", "b5", "b6", "b7");
        post(ben, room, List.of("b8"));
        awaitDelivered(room, "b1", "b2", "b4", "b5", "b6", "b7", "b8");
        assertThat(deliveredSeqs(room)).containsExactly(1L, 2L, 4L, 5L, 6L, 7L, 8L);

        // Scrolling back and filling in, from the store of the restarted node; Ann's own message included.
        JsonNode read = ann.run("""
            const [room] = args;
            const page = async (opts) => {
              const reply = await client.history(room, opts);
              return { epoch: reply.payload.epoch, seq: reply.payload.seq,
                       messages: reply.payload.messages.map((m) => [m.seq, m.payload.content, m.sender.id]) };
            };
            return { before: await page({ before: 5, limit: 3 }), after: await page({ after: 6, limit: 10 }),
                     newest: await page({ limit: 2 }), all: await page({}) };
            """, room);
        assertThat(read.at("/before/messages").toString())
            .isEqualTo("[[2,\"b2\",\"lib-hist-ben\"],[3,\"a3\",\"lib-hist-ann\"],[4,\"b4\",\"lib-hist-ben\"]]");
        assertThat(read.at("/before/epoch").asText()).isEqualTo(epoch);
        assertThat(read.at("/before/seq").asLong()).isEqualTo(8);
        assertThat(read.at("/after/messages").toString()).isEqualTo("[[7,\"b7\",\"lib-hist-ben\"],[8,\"b8\",\"lib-hist-ben\"]]");
        assertThat(read.at("/newest/messages").toString()).isEqualTo("[[7,\"b7\",\"lib-hist-ben\"],[8,\"b8\",\"lib-hist-ben\"]]");
        assertThat(read.at("/all/messages")).hasSize(8);
        assertThat(deliveredSeqs(room)).as("history replies are not delivered as new messages").hasSize(7);
      }

      // The node comes back on an empty store: the room's log was lost. The client says so, and takes
      // the new log's seqs (starting again at 1) as new messages.
      second.close();
      wiped = restartable(port, TestNode.dataDir(), "wiped");
      try (WsClient ben = member(wiped, "lib-hist-ben", "Ben", room)) {
        ann.waiting().withMessage("a second recovered event")
            .until(d -> ann.eval("T.log.filter((e) => e.kind === 'recovered').length === 2").asBoolean());
        JsonNode lost = ann.eval("T.log.filter((e) => e.kind === 'recovered')[1]");
        assertThat(lost.path("recovered").asBoolean()).isFalse();
        assertThat(lost.path("missed").isNull()).as("unknown: another log").isTrue();
        post(ben, room, List.of("c1"));
        awaitDelivered(room, "b1", "b2", "b4", "b5", "b6", "b7", "b8", "c1");
        assertThat(deliveredSeqs(room)).endsWith(8L, 1L);
        assertThat(ann.eval("T.log.filter((e) => e.kind === 'gap').length").asInt()).isZero();
      }
    } finally {
      first.close();
      if (second != null) second.close();
      if (wiped != null) wiped.close();
    }
  }

  /**
   * A node with an outgoing buffer of one frame drops most of a burst for a client that does not
   * read it at once. The client sees the skipped seqs, asks {@code history} {@code after} for
   * them, and delivers every message once and in order, without a {@code gap} event.
   */
  @Test
  void framesDroppedForASlowSocketAreFilledWithHistoryAfter() throws Exception {
    String room = "lib-gap-fill";
    int burst = 300;
    ParleyNode tight = TestNode.start(FAST_POSTING + "parley.limits.outgoing-buffer = 1\n");
    try {
      openLibraryPage(tight);
      ann.run("""
          const [url, token, room] = args;
          window.sent = [];
          class Recording extends WebSocket {
            send(text) { sent.push(JSON.parse(text)); super.send(text); }
          }
          window.client = track('ann', new P.ParleyClient(url, token, { WebSocket: Recording, logger: null }));
          client.connect();
          await client.joinRoom(room);
          """, wsUrl(tight), TestTokens.token("lib-gap-ann", "Ann"), room);
      double droppedBefore = droppedTotal(tight);
      try (WsClient ben = member(tight, "lib-gap-ben", "Ben", room)) {
        post(ben, room, numbered("burst", 1, burst));
        // Everything of the burst that was not dropped is ahead of this pong; the next message
        // then finds the buffer empty, and shows the client any gap at the end of the burst.
        ann.run("await client.ping();");
        post(ben, room, List.of("after the burst"));
        ann.waiting().withTimeout(Duration.ofSeconds(30)).withMessage(() -> "every message delivered; got "
                + deliveredSeqs(room).size() + ", sent " + ann.eval("sent.filter((f) => f.type === 'history').length")
                + " history requests")
            .until(d -> deliveredSeqs(room).size() == burst + 1);
      }
      double dropped = droppedTotal(tight) - droppedBefore;
      JsonNode asks = ann.eval("sent.filter((f) => f.type === 'history').map((f) => f.payload)");
      System.out.printf("%.0f frames of %d dropped for Ann's socket, filled with %d history requests%n", dropped, burst + 1, asks.size());
      assertThat(dropped).as("frames dropped for Ann's socket").isPositive();
      assertThat(deliveredSeqs(room)).isEqualTo(range(1, burst + 1));
      List<String> expected = new ArrayList<>(numbered("burst", 1, burst));
      expected.add("after the burst");
      assertThat(deliveredContents(room)).isEqualTo(expected);
      assertThat(asks.size()).as("history requests").isPositive();
      asks.forEach(ask -> assertThat(ask.has("after")).as("asks %s", ask).isTrue());
      assertThat(ann.eval("T.log.filter((e) => e.kind === 'gap').length").asInt()).isZero();
    } finally {
      tight.close();
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** A node on this port keeping its store in this directory, which a later node can take over. */
  private static ParleyNode restartable(int port, String dataDir, String name) throws Exception {
    return TestNode.start(FAST_POSTING + """
        parley.http.port = %d
        parley.storage.data-dir = "%s"
        parley.node-name = "%s"
        """.formatted(port, dataDir, name));
  }

  /** A JDK WebSocket client in a room. */
  private static WsClient member(ParleyNode at, String userId, String name, String room) {
    WsClient client = WsClient.connected(TestNode.wsUri(at, TestTokens.token(userId, name)));
    client.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
    client.expect("room_info");
    return client;
  }

  /** Sends these messages without waiting in between, then waits for each one's ack. */
  private static void post(WsClient client, String room, List<String> texts) {
    for (String text : texts) {
      client.send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"p\",\"payload\":{\"content\":\""
          + text + "\"}}");
    }
    int acks = 0;
    while (acks < texts.size()) {
      JsonNode frame = client.next();
      if (frame.path("type").asText().equals("error")) fail("posting failed: " + frame);
      if (frame.path("type").asText().equals("ack")) acks++;
    }
  }

  private static List<String> numbered(String prefix, int from, int to) {
    return IntStream.rangeClosed(from, to).mapToObj(i -> prefix + " " + i).toList();
  }

  private static List<Long> range(int from, int to) {
    return IntStream.rangeClosed(from, to).mapToObj(i -> (long) i).toList();
  }

  // ---- the demo page

  /** The seqs of the messages shown, top to bottom. */
  private static List<Long> shownSeqs(HeadlessChromium page) {
    List<Long> seqs = new ArrayList<>();
    page.eval("[...document.querySelectorAll('[data-testid=message]')].map((m) => Number(m.dataset.seq))")
        .forEach(seq -> seqs.add(seq.asLong()));
    return seqs;
  }

  /** Whether the message with this seq is within the visible part of the message list. */
  private static boolean isOnScreen(HeadlessChromium page, long seq) {
    return page.eval("""
        (() => {
          const list = document.getElementById('message-list').getBoundingClientRect();
          const m = document.querySelector(`[data-testid=message][data-seq="${arguments[0]}"]`);
          if (!m) return false;
          const r = m.getBoundingClientRect();
          return r.bottom > list.top && r.top < list.bottom;
        })()""", seq).asBoolean();
  }

  /** Scrolls the message list up, with the mouse wheel, as far as it goes. */
  private static void scrollMessagesToTheTop(HeadlessChromium page) {
    WebElement list = page.driver().findElement(testId("message-list"));
    new Actions(page.driver()).scrollFromOrigin(WheelInput.ScrollOrigin.fromElement(list), 0, -100_000).perform();
  }

  private static void awaitMessages(HeadlessChromium page, List<String> expected) {
    page.waiting().withMessage(() -> "messages " + expected + ", shown " + messageTexts(page))
        .until(d -> messageTexts(page).equals(expected));
  }

  /**
   * The node went away: the page waits to retry, and from now on its backoff is so long that only
   * "Retry now" brings it back.
   */
  private static void waitWithoutRetrying(HeadlessChromium page) {
    page.waiting().until(attributeToBe(testId("connection-badge"), "data-state", "reconnecting"));
    page.eval("(() => { const o = window.parleyDemo.app.client.options; o.backoffBase = o.backoffCap = 1e9; return true; })()");
    page.waiting().withTimeout(Duration.ofSeconds(30)).withMessage("an attempt scheduled more than a minute away")
        .until(d -> page.eval("T.states.some((s) => s.state === 'reconnecting' && s.delay > 60000)").asBoolean());
    page.waiting().until(textToBe(testId("connection-state"), "reconnecting"));
  }

  // ---- parley.js

  private static void openLibraryPage(ParleyNode at) {
    ann.open("http://127.0.0.1:" + at.port() + "/");
    ann.run(BrowserClientLibraryIT.HARNESS);
  }

  private static String wsUrl(ParleyNode at) {
    return "ws://127.0.0.1:" + at.port() + "/ws";
  }

  /** The seqs of the new_message events Ann's client emitted for this room, in order. */
  private static List<Long> deliveredSeqs(String room) {
    List<Long> seqs = new ArrayList<>();
    ann.eval("T.log.filter((e) => e.type === 'new_message' && e.room === arguments[0]).map((e) => e.seq)", room)
        .forEach(seq -> seqs.add(seq.asLong()));
    return seqs;
  }

  private static List<String> deliveredContents(String room) {
    List<String> contents = new ArrayList<>();
    ann.eval("T.log.filter((e) => e.type === 'new_message' && e.room === arguments[0]).map((e) => e.content)", room)
        .forEach(content -> contents.add(content.asText()));
    return contents;
  }

  private static void awaitDelivered(String room, String... contents) {
    ann.waiting().withMessage(() -> "delivered " + List.of(contents) + ", got " + deliveredContents(room))
        .until(d -> deliveredContents(room).equals(List.of(contents)));
  }

  /** {@code parley_dropped_frames_total} of a node. */
  private static double droppedTotal(ParleyNode at) throws Exception {
    String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(TestNode.httpUri(at, "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Matcher matcher = DROPPED.matcher(metrics);
    assertThat(matcher.find()).as("parley_dropped_frames_total in /metrics").isTrue();
    return Double.parseDouble(matcher.group(1));
  }
}
