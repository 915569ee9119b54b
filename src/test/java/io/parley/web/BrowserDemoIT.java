package io.parley.web;

import static io.parley.web.DemoPage.awaitPresence;
import static io.parley.web.DemoPage.hasNotice;
import static io.parley.web.DemoPage.join;
import static io.parley.web.DemoPage.lastMessage;
import static io.parley.web.DemoPage.messageTexts;
import static io.parley.web.DemoPage.recordStates;
import static io.parley.web.DemoPage.say;
import static io.parley.web.DemoPage.send;
import static io.parley.web.DemoPage.signIn;
import static io.parley.web.DemoPage.signInRefused;
import static io.parley.web.DemoPage.testId;
import static io.parley.web.DemoPage.text;
import static io.parley.web.DemoPage.type;
import static org.assertj.core.api.Assertions.assertThat;
import static org.openqa.selenium.support.ui.ExpectedConditions.attributeToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.invisibilityOfElementLocated;
import static org.openqa.selenium.support.ui.ExpectedConditions.textToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.visibilityOfElementLocated;

import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import io.parley.app.ParleyNode;
import io.parley.testing.HeadlessChromium;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.Rectangle;
import org.openqa.selenium.WebElement;

/**
 * The demo page (/) in two real headless Chromium browsers, one per user, signed in through the
 * page's own form (which mints a token with POST /dev/token). Everything is done by typing and
 * clicking; assertions read what a person would see. The reconnect tests restart nodes of their
 * own on a fixed port; the refusal tests meet nodes that refuse the page.
 */
@ExtendWith(LogCapturingExtension.class)
class BrowserDemoIT {
  /**
   * The chat test saves its screenshot here on every run; with -Dparley.updateScreenshot=true it
   * also replaces the README's copy in docs/.
   */
  static final Path SCREENSHOT = Path.of(System.getProperty("basedir", "."), "target", "screenshots", "demo.png");
  static final Path README_SCREENSHOT = Path.of(System.getProperty("basedir", "."), "docs", "demo.png");
  private static final String NODE_NAME = "node-1";
  /** The library's largest backoff window (parley.js backoffCap), which the page keeps. */
  private static final long BACKOFF_CAP_MS = 5000;
  /** How long the reconnect and refusal tests wait for a page that keeps trying. */
  private static final Duration OUTAGE_WAIT = Duration.ofSeconds(40);

  private static ParleyNode node;
  private static String base;
  private static HeadlessChromium ann;
  private static HeadlessChromium ben;

  @RegisterExtension
  final TestWatcher consoleOnFailure = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      System.out.println("Ann's console:\n" + ann.consoleLog() + "\nBen's console:\n" + ben.consoleLog());
    }
  };

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("""
        parley.dev-mode = on
        parley.node-name = "%s"
        """.formatted(NODE_NAME));
    base = "http://localhost:" + node.port(); // as a newcomer types it (the README's http://localhost:8080)
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

  // ---- tests --------------------------------------------------------------------------------------

  @Test
  void twoUsersChatThroughThePageWithPresenceAndTyping() throws Exception {
    signIn(ann, base, "Ann");
    signIn(ben, base, "Ben");
    for (HeadlessChromium user : List.of(ann, ben)) {
      user.waiting().until(textToBe(testId("connection-state"), "open"));
      user.waiting().until(textToBe(testId("connection-node"), NODE_NAME));
    }
    assertThat(text(ann, "current-user")).isEqualTo("Ann");

    join(ben, "random");
    join(ann, "general");
    join(ben, "general");
    awaitPresence(ben, "Ann", "Ben");
    awaitPresence(ann, "Ann", "Ben");
    assertThat(ben.driver().findElement(By.cssSelector("[data-testid=presence-item][data-self=true]")).getText())
        .isEqualTo("Ben");
    ann.waiting().until(d -> hasNotice(ann, "Ben joined"));

    type(ann, "Hi Ben! Is the new build on staging yet?");
    awaitTyping(ben, "Ann");
    send(ann, ben, "Ann", "Hi Ben! Is the new build on staging yet?");
    type(ben, "Yes, since ten minutes ago. Reconnects look smooth.");
    awaitTyping(ann, "Ben");
    send(ben, ann, "Ben", "Yes, since ten minutes ago. Reconnects look smooth.");
    say(ann, ben, "Ann", "Great, I will run the load test after lunch.");
    say(ben, ann, "Ben", "Go ahead. I restarted node-2 twice and nobody noticed.");
    say(ann, ben, "Ann", "That is exactly what I wanted to hear.");

    // What Ben sees: the sender's name and the time under every message, his own on the right.
    WebElement last = lastMessage(ben);
    assertThat(last.getAttribute("data-own")).isEqualTo("false");
    assertThat(last.findElement(testId("message-sender")).getText()).isEqualTo("Ann");
    WebElement time = last.findElement(testId("message-time"));
    assertThat(time.getText()).matches("\\d{1,2}:\\d{2}.*");
    assertThat(Instant.parse(time.getAttribute("datetime"))).isBefore(Instant.now().plusSeconds(5));
    assertThat(lastMessage(ann).getAttribute("data-own")).isEqualTo("true");
    assertThat(lastMessage(ann).getAttribute("data-status")).isEqualTo("sent");
    assertThat(messageTexts(ben)).containsExactly(
        "Hi Ben! Is the new build on staging yet?",
        "Yes, since ten minutes ago. Reconnects look smooth.",
        "Great, I will run the load test after lunch.",
        "Go ahead. I restarted node-2 twice and nobody noticed.",
        "That is exactly what I wanted to hear.");

    // Ann starts a next message: Ben sees her typing, and the README's screenshot shows it.
    type(ann, "Could you share the dashboard");
    awaitTyping(ben, "Ann");
    ben.screenshot(SCREENSHOT);
    if (Boolean.getBoolean("parley.updateScreenshot")) {
      java.nio.file.Files.copy(SCREENSHOT, README_SCREENSHOT, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    // Once she clears the input, the indicator goes away.
    ann.driver().findElement(testId("message-input")).sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.DELETE);
    ben.waiting().until(textToBe(testId("typing-indicator"), ""));
  }

  @Test
  void leavingARoomUpdatesTheOthersPresence() {
    signIn(ann, base, "Ann");
    signIn(ben, base, "Ben");
    join(ann, "leave-test");
    join(ben, "leave-test");
    awaitPresence(ann, "Ann", "Ben");

    ben.driver().findElement(testId("leave-button")).click();
    awaitPresence(ann, "Ann");
    ann.waiting().until(d -> hasNotice(ann, "Ben left"));
    assertThat(ben.driver().findElements(By.cssSelector("[data-testid=room-item][data-room='leave-test']"))).isEmpty();
    assertThat(text(ben, "room-title")).isEqualTo("No room");
  }

  @Test
  void serverErrorsShowAsToasts() {
    signIn(ann, base, "Ann");
    // A room id with a space: the server answers INVALID_ROOM, and the page drops the room again.
    ann.driver().findElement(testId("room-input")).sendKeys("no spaces allowed");
    ann.driver().findElement(testId("join-button")).click();
    WebElement toast = ann.waiting().until(visibilityOfElementLocated(
        By.cssSelector("[data-testid=toast][data-code=INVALID_ROOM]")));
    assertThat(toast.findElement(testId("toast-code")).getText()).isEqualTo("INVALID_ROOM");
    ann.waiting().until(d -> d.findElements(By.cssSelector("[data-testid=room-item]")).isEmpty());

    // A message to a room we are not in, through the page's client: NOT_IN_ROOM, naming the room.
    ann.eval("window.parleyDemo.app.client.sendMessage('toast-test-elsewhere', 'hello?') && true");
    WebElement notInRoom = ann.waiting().until(visibilityOfElementLocated(
        By.cssSelector("[data-testid=toast][data-code=NOT_IN_ROOM]")));
    assertThat(notInRoom.findElement(testId("toast-message")).getText()).contains("toast-test-elsewhere");
    ann.screenshot(Path.of("target", "screenshots", "demo-toasts.png"));
    Rectangle composer = ann.driver().findElement(testId("message-form")).getRect();
    for (WebElement shown : ann.driver().findElements(testId("toast"))) {
      Rectangle box = shown.getRect();
      boolean overlaps = box.getX() < composer.getX() + composer.getWidth() && composer.getX() < box.getX() + box.getWidth()
          && box.getY() < composer.getY() + composer.getHeight() && composer.getY() < box.getY() + box.getHeight();
      assertThat(overlaps).as("a toast at %s covers the composer at %s", describe(box), describe(composer)).isFalse();
    }
    // Toasts go away by themselves.
    ann.waiting().until(invisibilityOfElementLocated(By.cssSelector("[data-testid=toast][data-code=INVALID_ROOM]")));
  }

  @Test
  void phoneWidthKeepsTheComposerOnScreen() {
    try (HeadlessChromium phone = HeadlessChromium.start(HeadlessChromium.PHONE)) {
      signIn(phone, base, "Cleo");
      signIn(ann, base, "Ann");
      join(ann, "phone-test");
      join(phone, "phone-test");
      awaitPresence(phone, "Ann", "Cleo");

      JsonNode viewport = phone.eval("({w: innerWidth, h: innerHeight, scroll: document.documentElement.scrollWidth})");
      assertThat(viewport.path("w").asInt()).isEqualTo(HeadlessChromium.PHONE.getWidth());
      assertThat(viewport.path("scroll").asInt()).as("no sideways scrolling").isLessThanOrEqualTo(viewport.path("w").asInt());
      for (String part : List.of("message-input", "send-button", "room-input", "presence-list")) {
        WebElement element = phone.driver().findElement(testId(part));
        assertThat(element.isDisplayed()).as(part + " displayed").isTrue();
        assertThat(element.getRect().getY() + element.getRect().getHeight())
            .as(part + " bottom within the viewport").isLessThanOrEqualTo(viewport.path("h").asInt());
        assertThat(element.getRect().getX() + element.getRect().getWidth())
            .as(part + " right edge within the viewport").isLessThanOrEqualTo(viewport.path("w").asInt());
      }

      // Enough messages to scroll the list: the composer stays where it was.
      for (int i = 1; i <= 6; i++) say(ann, phone, "Ann", "Message number " + i + " for the small screen");
      say(phone, ann, "Cleo", "Read them all on my phone.");
      WebElement input = phone.driver().findElement(testId("message-input"));
      assertThat(input.getRect().getY() + input.getRect().getHeight()).isLessThanOrEqualTo(viewport.path("h").asInt());
      JsonNode list = phone.eval("(() => { const l = document.getElementById('message-list');"
          + " return {bottom: Math.round(l.scrollTop + l.clientHeight), height: l.scrollHeight}; })()");
      assertThat(list.path("height").asInt() - list.path("bottom").asInt()).as("scrolled to the newest message")
          .isLessThanOrEqualTo(2);
      phone.screenshot(Path.of("target", "screenshots", "demo-phone.png"));
    }
  }

  // ---- reconnecting and refusals ---------------------------------------------------------------------

  @Test
  void afterAServerRestartThePageIsBackWithinTheBackoffCap() throws Exception {
    int port = BrowserClientLibraryIT.freePort();
    ParleyNode first = restartable(port, "before-restart");
    ParleyNode second = null;
    try {
      signIn(ann, "http://localhost:" + port, "Ann");
      join(ann, "restart-room");
      recordStates(ann);

      first.close(); // the node goes away (close 1001); the page keeps trying while it is down
      // Long enough for the backoff to reach its largest window, where the old 30 s cap showed.
      ann.waiting().withTimeout(OUTAGE_WAIT).withMessage("six attempts scheduled")
          .until(d -> ann.eval("T.states.filter((s) => s.state === 'reconnecting').length").asInt() >= 6);
      assertThat(text(ann, "connection-state")).isEqualTo("reconnecting");
      assertThat(text(ann, "connection-detail")).matches("attempt \\d+, in \\d+\\.\\d s");

      second = restartable(port, "after-restart");
      long upAt = System.nanoTime();
      ann.waiting().withTimeout(OUTAGE_WAIT).until(textToBe(testId("connection-node"), "after-restart"));
      long backAfterMs = (System.nanoTime() - upAt) / 1_000_000;
      System.out.println("page back " + backAfterMs + " ms after the node was up");

      JsonNode delays = ann.eval("T.states.filter((s) => s.state === 'reconnecting').map((s) => s.delay)");
      assertThat(delays.size()).isGreaterThanOrEqualTo(6);
      delays.forEach(d -> assertThat(d.asLong()).as("every wait within the cap").isBetween(0L, BACKOFF_CAP_MS));
      // The next attempt after the node is up comes within the cap; the rest is the browser's
      // connect on a loaded machine.
      assertThat(backAfterMs).as("back %d ms after the node was up", backAfterMs).isLessThan(BACKOFF_CAP_MS + 5000);
      ann.waiting().until(d -> hasNotice(ann, "Reconnected to after-restart."));
      assertThat(ann.driver().findElement(testId("retry-button")).isDisplayed()).isFalse();

      // The room was joined again: Ben, on the new node, finds Ann there and chats with her.
      signIn(ben, "http://localhost:" + port, "Ben");
      join(ben, "restart-room");
      awaitPresence(ben, "Ann", "Ben");
      say(ben, ann, "Ben", "Welcome back, Ann.");
    } finally {
      first.close();
      if (second != null) second.close();
    }
  }

  @Test
  void retryNowReconnectsAtOnceWhateverTheBackoffSays() throws Exception {
    int port = BrowserClientLibraryIT.freePort();
    ParleyNode first = restartable(port, "before-retry");
    ParleyNode second = null;
    try {
      signIn(ann, "http://localhost:" + port, "Ann");
      recordStates(ann);
      WebElement retry = ann.driver().findElement(testId("retry-button"));
      assertThat(retry.isDisplayed()).as("no retry button while open").isFalse();

      first.close();
      ann.waiting().until(attributeToBe(testId("connection-badge"), "data-state", "reconnecting"));
      // From now on the page's own backoff waits up to 11 days: only the button brings it back soon.
      ann.eval("(() => { const o = window.parleyDemo.app.client.options; o.backoffBase = o.backoffCap = 1e9; return true; })()");
      ann.waiting().withTimeout(OUTAGE_WAIT).withMessage("an attempt scheduled more than a minute away")
          .until(d -> ann.eval("T.states.some((s) => s.state === 'reconnecting' && s.delay > 60000)").asBoolean());
      assertThat(retry.isDisplayed()).isTrue();

      second = restartable(port, "after-retry");
      retry.click();
      ann.waiting().until(textToBe(testId("connection-node"), "after-retry"));
      assertThat(text(ann, "connection-state")).isEqualTo("open");
      assertThat(retry.isDisplayed()).isFalse();
    } finally {
      first.close();
      if (second != null) second.close();
    }
  }

  /**
   * The browser hides why an upgrade was refused; the server's pre-check (POST /ws/check) names
   * it, and the page shows it. Its contract: 403 with {"reason":"origin_not_allowed"}.
   */
  @Test
  void aRefusedOriginIsNamedOnThePage() throws Exception {
    ParleyNode strict = TestNode.start("""
        parley.dev-mode = on
        parley.http.allowed-origins = "https://chat.example.com"
        """);
    try {
      signInRefused(ann, "http://localhost:" + strict.port(), "Ann");
      ann.waiting().withTimeout(OUTAGE_WAIT).withMessage("the refusal hint")
          .until(textToBe(testId("connection-hint"), "refused: origin not allowed"));
      assertThat(ann.driver().findElement(testId("connection-badge")).getAttribute("data-state"))
          .as("it keeps trying: the allow-list may change").isEqualTo("reconnecting");
    } finally {
      strict.close();
    }
  }

  /**
   * A pasted token that has expired: the pre-check says why (its contract: 401 with
   * {"reason":"token_rejected","detail":…}), and the page stops, as that token cannot work again.
   */
  @Test
  void aRejectedPastedTokenIsNamedAndThePageStops() {
    String expired = TestTokens.builder("eve", "Eve").withExpiresAt(Instant.now().minusSeconds(3600))
        .sign(Algorithm.HMAC256(TestNode.SECRET));
    ann.open(base + "/");
    ann.waiting().until(visibilityOfElementLocated(By.cssSelector("#token-details summary"))).click();
    ann.driver().findElement(testId("token-input")).sendKeys(expired);
    ann.driver().findElement(testId("signin-button")).click();
    ann.waiting().until(visibilityOfElementLocated(testId("chat-screen")));
    WebElement toast = ann.waiting().withTimeout(OUTAGE_WAIT).withMessage("the page gave up, and says why")
        .until(visibilityOfElementLocated(By.cssSelector("[data-testid=toast][data-code=TOKEN_REJECTED]")));
    assertThat(toast.getText()).contains("token rejected").contains("sign in again");
    assertThat(text(ann, "connection-hint")).startsWith("token rejected");
    assertThat(text(ann, "connection-state")).isEqualTo("closed");
  }

  // ---- page helpers ---------------------------------------------------------------------------------

  /** A node with the demo's token endpoint on this port, which a later node can take over. */
  private static ParleyNode restartable(int port, String name) throws Exception {
    return TestNode.start("""
        parley.dev-mode = on
        parley.http.port = %d
        parley.node-name = "%s"
        """.formatted(port, name));
  }

  private static String describe(Rectangle r) {
    return "(" + r.getX() + "," + r.getY() + " " + r.getWidth() + "x" + r.getHeight() + ")";
  }

  /** While someone types (the library repeats its signal, and stops it 3 s after the last key). */
  private static void awaitTyping(HeadlessChromium at, String who) {
    at.waiting().withMessage(() -> "shows " + who + " typing")
        .until(d -> text(at, "typing-indicator").equals(who + " is typing…"));
  }
}
