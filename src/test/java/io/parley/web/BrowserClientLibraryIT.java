package io.parley.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.testing.HeadlessChromium;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.net.ServerSocket;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * The client library (/parley.js) in a real headless Chromium, against real nodes: the test opens
 * a node's page, imports the module and drives it with scripts; a JDK WebSocket client plays the
 * other user. Nothing test-only ships in src/main.
 */
@ExtendWith(LogCapturingExtension.class)
class BrowserClientLibraryIT {
  /**
   * Loaded into the page before each test: the module's exports as {@code P}, and {@code track(name,
   * client)}, which records a client's state changes, closes, frames (with their seq) and
   * {@code recovered} and {@code gap} events in {@code T.log}.
   */
  static final String HARNESS = """
      const m = await import('/parley.js');
      window.P = { ParleyClient: m.ParleyClient, WebSocketClient: m.WebSocketClient, ParleyError: m.ParleyError,
                   defaultExport: m.default };
      window.T = { log: [] };
      window.track = (name, client) => {
        client.on('state', (e) => T.log.push({ c: name, kind: 'state', state: e.state, attempt: e.attempt,
                                              delay: e.delay, code: e.code }));
        client.on('close', (e) => T.log.push({ c: name, kind: 'close', code: e.code, willReconnect: e.willReconnect }));
        client.on('*', (f) => T.log.push({ c: name, kind: 'frame', type: f.type, room: f.room, seq: f.seq,
                                          content: f.payload && f.payload.content, sender: f.sender && f.sender.id,
                                          node: f.type === 'connected' ? f.payload.node : undefined }));
        client.on('recovered', (e) => T.log.push({ c: name, kind: 'recovered', ...e }));
        client.on('gap', (e) => T.log.push({ c: name, kind: 'gap', ...e }));
        return client;
      };
      """;

  private static ParleyNode node;
  private static HeadlessChromium browser;

  @RegisterExtension
  final TestWatcher consoleOnFailure = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      System.out.println("Page log:\n" + browser.eval("window.T && T.log") + "\nConsole:\n" + browser.consoleLog());
    }
  };

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("");
    browser = HeadlessChromium.start(HeadlessChromium.DESKTOP);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (browser != null) browser.close();
    } finally {
      node.close();
    }
  }

  // ---- requests ---------------------------------------------------------------------------------

  @Test
  void requestsResolveWithTheirRepliesAndErrorsRejectWithTheServersCode() {
    String room = "lib-requests";
    openPage(node);
    try (WsClient ben = joined(node, "lib-ben", room)) {
      JsonNode r = browser.run("""
          const [url, token, room] = args;
          const c = track('ann', new P.ParleyClient(url, token, { logger: null }));
          c.connect();
          const outcome = (p) => p.then((f) => ({ resolved: f.type }), (e) => ({ name: e.name, code: e.code,
              parleyError: e instanceof P.ParleyError, frame: e.frame && e.frame.type, retriable: e.retriable }));
          const info = await c.joinRoom(room);
          const ack = await c.sendMessage(room, 'hello from the browser');
          return {
            info, ack,
            badRoom: await outcome(c.joinRoom('no spaces allowed')),
            notInRoom: await outcome(c.sendMessage('lib-requests-elsewhere', 'anyone?')),
            empty: await outcome(c.sendMessage(room, '')),
            tooLarge: await outcome(c.sendMessage(room, 'x'.repeat(5000))),
            pong: (await c.ping()).type,
            online: await c.onlineUsers(room),
            rooms: c.rooms, state: c.state, user: c.user,
          };
          """, wsUrl(node), TestTokens.token("lib-ann", "Ann"), room);

      assertThat(r.at("/info/type").asText()).isEqualTo("room_info");
      assertThat(r.at("/info/payload/room_id").asText()).isEqualTo(room);
      assertThat(userIds(r.at("/info/payload/users"))).containsExactlyInAnyOrder("lib-ann", "lib-ben");
      assertThat(r.at("/ack/type").asText()).isEqualTo("ack");
      assertThat(r.at("/ack/payload/seq").asInt()).isEqualTo(1);
      JsonNode atBen = ben.skipTo("new_message");
      assertThat(atBen.at("/payload/content").asText()).isEqualTo("hello from the browser");
      assertThat(atBen.at("/sender/id").asText()).isEqualTo("lib-ann");
      assertThat(atBen.path("id").asText()).isNotEmpty().isEqualTo(r.at("/ack/payload/message_id").asText());

      assertThat(r.at("/badRoom/code").asText()).isEqualTo("INVALID_ROOM");
      assertThat(r.at("/badRoom/name").asText()).isEqualTo("ParleyError");
      assertThat(r.at("/badRoom/parleyError").asBoolean()).isTrue();
      assertThat(r.at("/badRoom/frame").asText()).as("the server's error frame").isEqualTo("error");
      assertThat(r.at("/notInRoom/code").asText()).isEqualTo("NOT_IN_ROOM");
      assertThat(r.at("/empty/code").asText()).isEqualTo("INVALID_PAYLOAD");
      assertThat(r.at("/tooLarge/code").asText()).as("refused locally, not closed with 1009").isEqualTo("FRAME_TOO_LARGE");
      assertThat(r.at("/tooLarge/frame").isNull()).isTrue();
      assertThat(r.at("/pong").asText()).isEqualTo("pong");
      assertThat(r.at("/online/type").asText()).isEqualTo("online_users");
      assertThat(r.at("/online/payload/count").asInt()).isEqualTo(2);
      assertThat(texts(r.at("/rooms"))).as("a refused join is not remembered").containsExactly(room);
      assertThat(r.at("/state").asText()).isEqualTo("open");
      assertThat(r.at("/user/id").asText()).isEqualTo("lib-ann");
      assertThat(browser.eval("T.log.filter((e) => e.kind === 'close').length").asInt()).isZero();
    }
  }

  @Test
  void requestsMadeBeforeOpenAreSentInOrderOnceOpen() {
    String room = "lib-queued-before-open";
    openPage(node);
    try (WsClient ben = joined(node, "lib-ben-2", room)) {
      // The Go hub format's example usage: connect(), then join and send at once, before the socket is open. The
      // token supplier is held back, so the requests certainly wait in the queue.
      JsonNode r = browser.run("""
          const [url, token, room] = args;
          let release;
          const tokenLater = new Promise((resolve) => { release = resolve; });
          const ws = track('seed', new P.WebSocketClient(url, () => tokenLater));
          ws.connect();
          const joined = ws.joinRoom(room);
          const first = ws.sendMessage(room, 'Hello everyone!');
          const second = ws.sendMessage(room, 'And a second one.');
          const before = { state: ws.state, queued: ws.queued };
          release(token);
          const [info, ack1, ack2] = await Promise.all([joined, first, second]);
          return { before, info: info.type, seqs: [ack1.payload.seq, ack2.payload.seq], queued: ws.queued };
          """, wsUrl(node), TestTokens.token("lib-seed", "Seed"), room);

      assertThat(r.at("/before/state").asText()).isEqualTo("connecting");
      assertThat(r.at("/before/queued").asInt()).isEqualTo(3);
      assertThat(r.at("/info").asText()).isEqualTo("room_info");
      assertThat(r.at("/seqs/0").asInt()).isEqualTo(1);
      assertThat(r.at("/seqs/1").asInt()).isEqualTo(2);
      assertThat(r.at("/queued").asInt()).isZero();
      assertThat(ben.skipTo("user_joined").at("/sender/id").asText()).isEqualTo("lib-seed");
      assertThat(ben.expect("new_message").at("/payload/content").asText()).isEqualTo("Hello everyone!");
      assertThat(ben.expect("new_message").at("/payload/content").asText()).isEqualTo("And a second one.");
    }
  }

  @Test
  void goHubFormatMethodNamesAndItsPayloadParsingWork() {
    String room = "lib-seed-names";
    openPage(node);
    // The Go hub format's example client, line for line (its handlers print; these collect).
    JsonNode r = browser.run("""
        const [url, token, room] = args;
        const ws = track('seed', new P.WebSocketClient(url, token));
        window.exampleClient = ws;
        window.exampleLines = [];
        ws.on('new_message', (msg) => {
          exampleLines.push(`${msg.sender.name}: ${JSON.parse(msg.payload).content} / ${msg.payload.content}`);
        });
        ws.on('user_joined', (msg) => { exampleLines.push(`${msg.sender.name} joined the room`); });
        ws.on('user_left', (msg) => { exampleLines.push(`${msg.sender.name} left the room`); });
        ws.connect();
        ws.joinRoom(room);
        ws.sendMessage(room, 'Hello everyone!');
        const methods = ['connect', 'on', 'send', 'joinRoom', 'leaveRoom', 'sendMessage', 'disconnect'];
        return {
          missing: methods.filter((name) => typeof ws[name] !== 'function'),
          sameClass: P.WebSocketClient === P.ParleyClient && P.defaultExport === P.ParleyClient,
        };
        """, wsUrl(node), TestTokens.token("lib-seed-2", "Sam"), room);
    assertThat(r.at("/missing")).isEmpty();
    assertThat(r.at("/sameClass").asBoolean()).isTrue();

    browser.waiting().withMessage("the example client's unawaited sendMessage got its ack")
        .until(d -> browser.eval("T.log.some((e) => e.type === 'ack' && e.room === arguments[0])", room).asBoolean());

    try (WsClient ben = joined(node, "lib-ben-3", room)) {
      ben.send(sendMessage(room, "Hi Sam"));
      ben.expect("ack");
      awaitPageLines("Ben joined the room", "Ben: Hi Sam / Hi Sam");

      // send(type, payload, room), the example client's generic call: a typing signal, then a message.
      JsonNode sent = browser.run("""
          const [room] = args;
          const typing = await exampleClient.send('typing', { room_id: room }, room);
          const message = await exampleClient.send('send_message', { content: 'Sent with send()' }, room);
          return { typing, message: message.type };
          """, room);
      assertThat(sent.at("/typing").asBoolean()).isTrue();
      assertThat(sent.at("/message").asText()).isEqualTo("ack");
      JsonNode typing = ben.expect("user_typing");
      assertThat(typing.at("/sender/name").asText()).isEqualTo("Sam");
      assertThat(typing.at("/payload/typing").asBoolean()).isTrue();
      assertThat(ben.expect("new_message").at("/payload/content").asText()).isEqualTo("Sent with send()");

      ben.send("{\"type\":\"leave_room\",\"id\":\"bye\",\"payload\":{\"room_id\":\"" + room + "\"}}");
      ben.expect("ack");
      awaitPageLines("Ben joined the room", "Ben: Hi Sam / Hi Sam", "Ben left the room");
    }

    JsonNode end = browser.run("""
        const [room] = args;
        const left = await exampleClient.leaveRoom(room);
        exampleClient.disconnect();
        const after = await exampleClient.sendMessage(room, 'too late').then(() => 'resolved', (e) => e.code);
        return { left: left.type, rooms: exampleClient.rooms, state: exampleClient.state, after };
        """, room);
    assertThat(end.at("/left").asText()).isEqualTo("ack");
    assertThat(end.at("/rooms")).isEmpty();
    assertThat(end.at("/state").asText()).isEqualTo("closed");
    assertThat(end.at("/after").asText()).isEqualTo("DISCONNECTED");
    assertThat(browser.eval("T.log.filter((e) => e.kind === 'close').map((e) => e.code)").toString()).isEqualTo("[1000]");
  }

  @Test
  void tokenAsWebSocketSubprotocolIsAcceptedByTheBrowser() {
    openPage(node);
    // Browsers drop a connection whose server does not echo one of the offered protocols.
    JsonNode r = browser.run("""
        const [url, token] = args;
        class Recording extends WebSocket {
          constructor(u, protocols) { super(u, protocols); window.lastSocket = this; }
        }
        const c = track('proto', new P.ParleyClient(url, token,
            { tokenTransport: 'protocol', WebSocket: Recording, logger: null }));
        const first = new Promise((resolve) => c.on('state', (e) => {
          if (e.state === 'open' || e.state === 'reconnecting') resolve(e.state);
        }));
        c.connect();
        const state = await first;
        const pong = state === 'open' ? (await c.ping()).type : null;
        return { state, pong, protocol: lastSocket.protocol, url: lastSocket.url, user: c.user };
        """, wsUrl(node), TestTokens.token("lib-proto", "Pat"));
    assertThat(r.path("state").asText()).isEqualTo("open");
    assertThat(r.path("protocol").asText()).isEqualTo("bearer");
    assertThat(r.path("url").asText()).doesNotContain("token=");
    assertThat(r.path("pong").asText()).isEqualTo("pong");
    assertThat(r.at("/user/id").asText()).isEqualTo("lib-proto");
  }

  // ---- reconnecting ---------------------------------------------------------------------------

  @Test
  void reconnectsWithBackoffAfterARestartRejoinsAndMessagesFlowAgain() throws Exception {
    String room = "lib-restart";
    int port = freePort();
    String config = "parley.http.port = %d%nparley.node-name = \"%s\"";
    ParleyNode first = TestNode.start(config.formatted(port, "before-restart"));
    ParleyNode second = null;
    try {
      openPage(first);
      browser.run("""
          const [url, token, room] = args;
          window.client = track('ann', new P.ParleyClient(url, () => token,
              { backoffBase: 200, backoffCap: 1000, logger: null }));
          client.connect();
          await client.joinRoom(room);
          """, wsUrl(first), TestTokens.token("lib-restart-ann", "Ann"), room);

      first.close(); // graceful: the server closes the socket with 1001
      browser.waiting().withMessage("close 1001 and reconnecting").until(d -> browser.eval(
          "T.log.some((e) => e.kind === 'close' && e.code === 1001 && e.willReconnect) && client.state === 'reconnecting'")
          .asBoolean());
      // A request made while the server is down waits for the next connection.
      JsonNode queued = browser.eval("(() => { window.duringOutage = client.sendMessage(arguments[0], "
          + "'written while the server was down'); return { queued: client.queued }; })()", room);
      assertThat(queued.path("queued").asInt()).isEqualTo(1);

      second = TestNode.start(config.formatted(port, "after-restart"));
      browser.waiting().withMessage("open again, on the new node").until(d ->
          browser.eval("client.state === 'open' && client.node === 'after-restart'").asBoolean());

      // Backoff: attempts 1, 2, 3, ... each after a delay within the jitter window min(cap, base * 2^n).
      JsonNode states = browser.eval("T.log.filter((e) => e.kind === 'state')");
      List<String> names = new ArrayList<>();
      states.forEach(s -> names.add(s.path("state").asText()));
      assertThat(names.get(0)).isEqualTo("connecting");
      assertThat(names.get(1)).isEqualTo("open");
      assertThat(names.get(names.size() - 1)).isEqualTo("open");
      List<JsonNode> retries = new ArrayList<>();
      states.forEach(s -> { if (s.path("state").asText().equals("reconnecting")) retries.add(s); });
      assertThat(retries).isNotEmpty();
      assertThat(names.subList(2, names.size() - 1)).as("only retries between the two opens").containsOnly("reconnecting");
      assertThat(retries.get(0).path("code").asInt()).isEqualTo(1001);
      for (int i = 0; i < retries.size(); i++) {
        JsonNode retry = retries.get(i);
        assertThat(retry.path("attempt").asInt()).isEqualTo(i + 1);
        assertThat(retry.path("delay").asInt()).isBetween(0, Math.min(1000, 200 << i));
      }

      // It rejoined by itself, before sending the queued message (else NOT_IN_ROOM).
      JsonNode ack = browser.run("return await window.duringOutage;");
      assertThat(ack.path("type").asText()).isEqualTo("ack");
      assertThat(browser.eval("client.rooms").toString()).isEqualTo("[\"" + room + "\"]");

      // Messages flow both ways on the new node; Ben finds Ann in the room without her doing anything.
      try (WsClient ben = WsClient.connected(TestNode.wsUri(second, TestTokens.token("lib-restart-ben", "Ben")))) {
        ben.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
        assertThat(userIds(ben.expect("room_info").at("/payload/users")))
            .containsExactlyInAnyOrder("lib-restart-ann", "lib-restart-ben");
        ben.send(sendMessage(room, "Welcome back"));
        ben.expect("ack");
        browser.waiting().withMessage("Ben's message reached the page").until(d -> browser.eval(
            "T.log.some((e) => e.type === 'new_message' && e.content === 'Welcome back')").asBoolean());
        JsonNode reply = browser.run("return await client.sendMessage(args[0], 'Glad to be back');", room);
        assertThat(reply.path("type").asText()).isEqualTo("ack");
        assertThat(reply.at("/payload/seq").asInt()).as("after the queued message and Ben's").isEqualTo(3);
        assertThat(ben.expect("new_message").at("/payload/content").asText()).isEqualTo("Glad to be back");
      }
    } finally {
      if (second != null) second.close();
    }
  }

  @Test
  void tokenExpiryCloseFetchesANewTokenAndSendsWhatWasQueued() throws Exception {
    String room = "lib-expiry";
    openPage(node);
    try (WsClient ben = joined(node, "lib-expiry-ben", room)) {
      // The first token expires in a few seconds; the server then closes with 4001. The supplier
      // holds the second token back until the test has made a request while disconnected.
      String shortLived = token("lib-eve", "Eve (first token)", Instant.now().plusSeconds(4));
      String renewed = token("lib-eve", "Eve (renewed token)", Instant.now().plusSeconds(3600));
      JsonNode r = browser.run("""
          const [url, shortLived, renewed, room] = args;
          window.supplierCalls = [];
          let release;
          const gate = new Promise((resolve) => { release = resolve; });
          window.releaseToken = () => release();
          window.client = track('eve', new P.ParleyClient(url, async (info) => {
            supplierCalls.push(info);
            if (supplierCalls.length === 1) return shortLived;
            await gate;
            return renewed;
          }, { backoffBase: 200, backoffCap: 1000, logger: null }));
          const opened = new Promise((resolve) => client.once('connected', resolve));
          client.connect();
          // Not awaited: on a slow machine the 4001 may come first, and the library rejoins anyway.
          client.joinRoom(room);
          await opened;
          return { user: client.user };
          """, wsUrl(node), shortLived, renewed, room);
      assertThat(r.at("/user/name").asText()).isEqualTo("Eve (first token)");

      browser.waiting().withMessage("close 4001, then a token asked with expired: true").until(d ->
          browser.eval("supplierCalls.length === 2").asBoolean());
      assertThat(browser.eval("supplierCalls[0].expired").asBoolean()).isFalse();
      assertThat(browser.eval("supplierCalls[1].expired").asBoolean()).isTrue();
      assertThat(browser.eval("T.log.filter((e) => e.kind === 'close').map((e) => [e.code, e.willReconnect])").toString())
          .isEqualTo("[[4001,true]]");

      JsonNode queued = browser.eval("(() => { window.whileExpired = client.sendMessage(arguments[0], "
          + "'written while the token was renewed'); return { state: client.state, queued: client.queued }; })()", room);
      assertThat(queued.path("state").asText()).isEqualTo("reconnecting");
      assertThat(queued.path("queued").asInt()).isEqualTo(1);
      browser.eval("releaseToken()");

      JsonNode ack = browser.run("return await window.whileExpired;");
      assertThat(ack.path("type").asText()).isEqualTo("ack");
      JsonNode atBen = ben.skipTo("new_message");
      assertThat(atBen.at("/payload/content").asText()).isEqualTo("written while the token was renewed");
      assertThat(atBen.at("/sender/id").asText()).isEqualTo("lib-eve");
      JsonNode after = browser.eval("({ state: client.state, user: client.user, rooms: client.rooms, calls: supplierCalls.length })");
      assertThat(after.path("state").asText()).isEqualTo("open");
      assertThat(after.at("/user/id").asText()).as("the same user").isEqualTo("lib-eve");
      assertThat(after.at("/user/name").asText()).as("on the new token").isEqualTo("Eve (renewed token)");
      assertThat(after.path("rooms").toString()).isEqualTo("[\"" + room + "\"]");
      assertThat(after.path("calls").asInt()).isEqualTo(2);
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** Opens a node's page (which closes whatever the previous test left open) and loads the harness. */
  private static void openPage(ParleyNode at) {
    browser.open("http://127.0.0.1:" + at.port() + "/");
    browser.run(HARNESS);
  }

  private static String wsUrl(ParleyNode at) {
    return "ws://127.0.0.1:" + at.port() + "/ws";
  }

  /** A JDK WebSocket client, named after its user id's tail ("lib-ben-2" is "Ben"), in a room. */
  private static WsClient joined(ParleyNode at, String userId, String room) {
    WsClient client = WsClient.connected(TestNode.wsUri(at, TestTokens.token(userId, "Ben")));
    client.send("{\"type\":\"join_room\",\"payload\":{\"room_id\":\"" + room + "\"}}");
    client.expect("room_info");
    return client;
  }

  private static String sendMessage(String room, String content) {
    return "{\"type\":\"send_message\",\"room\":\"" + room + "\",\"payload\":{\"content\":\"" + content + "\"}}";
  }

  private static void awaitPageLines(String... lines) {
    browser.waiting().withMessage(() -> "page lines " + List.of(lines) + ", has " + browser.eval("window.exampleLines"))
        .until(d -> texts(browser.eval("window.exampleLines")).equals(List.of(lines)));
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static List<String> userIds(JsonNode users) {
    List<String> out = new ArrayList<>();
    users.forEach(u -> out.add(u.path("id").asText()));
    return out;
  }

  static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  static String token(String sub, String name, Instant expiresAt) {
    return TestTokens.builder(sub, name).withExpiresAt(expiresAt).sign(Algorithm.HMAC256(TestNode.SECRET));
  }
}
