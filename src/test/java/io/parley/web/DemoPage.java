package io.parley.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.openqa.selenium.support.ui.ExpectedConditions.attributeToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.textToBe;
import static org.openqa.selenium.support.ui.ExpectedConditions.visibilityOfElementLocated;

import io.parley.testing.HeadlessChromium;
import java.util.ArrayList;
import java.util.List;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * What the browser tests do on the demo page (/) and read from it, as a person would: sign in
 * through the form, join through the join form, type and click send, read the messages, notices
 * and presence list.
 */
final class DemoPage {
  private DemoPage() {}

  static By testId(String id) {
    return By.cssSelector("[data-testid='" + id + "']");
  }

  static String text(HeadlessChromium browser, String testId) {
    return browser.driver().findElement(testId(testId)).getText();
  }

  /** Opens the page at this base URL afresh and signs in through its form; waits for the connection. */
  static void signIn(HeadlessChromium browser, String at, String name) {
    signInRefused(browser, at, name);
    browser.waiting().until(attributeToBe(testId("connection-badge"), "data-state", "open"));
  }

  /** Signs in through the form; the connection may or may not open. */
  static void signInRefused(HeadlessChromium browser, String at, String name) {
    browser.open(at + "/");
    browser.waiting().until(visibilityOfElementLocated(testId("name-input"))).sendKeys(name);
    browser.driver().findElement(testId("signin-button")).click();
    browser.waiting().until(visibilityOfElementLocated(testId("chat-screen")));
  }

  /** Joins a room through the join form and waits for the server's room_info. */
  static void join(HeadlessChromium browser, String room) {
    browser.driver().findElement(testId("room-input")).sendKeys(room);
    browser.driver().findElement(testId("join-button")).click();
    browser.waiting().until(visibilityOfElementLocated(
        By.cssSelector("[data-testid=room-item][data-room='" + room + "'][data-joined=true]")));
    browser.waiting().until(textToBe(testId("room-title"), room));
  }

  /** Types a message and clicks send; it then shows at the receiver, under the sender's name. */
  static void say(HeadlessChromium from, HeadlessChromium to, String fromName, String text) {
    type(from, text);
    send(from, to, fromName, text);
  }

  static void type(HeadlessChromium from, String text) {
    from.driver().findElement(testId("message-input")).sendKeys(text);
  }

  /** Clicks send on what was typed; the message shows at the receiver and ends the typing signal. */
  static void send(HeadlessChromium from, HeadlessChromium to, String fromName, String text) {
    int before = messageTexts(to).size();
    from.driver().findElement(testId("send-button")).click();
    to.waiting().withMessage(() -> "message '" + text + "' shown at the receiver, has " + messageTexts(to))
        .until(d -> messageTexts(to).size() > before && messageTexts(to).get(messageTexts(to).size() - 1).equals(text));
    assertThat(lastMessage(to).getAttribute("data-sender-name")).isEqualTo(fromName);
    assertThat(text(to, "typing-indicator")).as("the typing indicator ends with the message").isEmpty();
    assertThat(from.driver().findElement(testId("message-input")).getAttribute("value")).isEmpty();
    from.waiting().until(d -> "sent".equals(lastMessage(from).getAttribute("data-status")));
  }

  /** The texts of the messages shown, top to bottom, read at one moment (the page may be changing them). */
  static List<String> messageTexts(HeadlessChromium browser) {
    List<String> texts = new ArrayList<>();
    browser.eval("[...document.querySelectorAll('[data-testid=message] [data-testid=message-text]')].map((t) => t.innerText)")
        .forEach(text -> texts.add(text.asText()));
    return texts;
  }

  static WebElement lastMessage(HeadlessChromium browser) {
    List<WebElement> all = browser.driver().findElements(testId("message"));
    assertThat(all).isNotEmpty();
    return all.get(all.size() - 1);
  }

  /** Whether a notice (a line "<time> <text>" between the messages) ends with this text. */
  static boolean hasNotice(HeadlessChromium browser, String text) {
    return browser.driver().findElements(testId("notice")).stream().anyMatch(n -> n.getText().endsWith(text));
  }

  static void awaitPresence(HeadlessChromium browser, String... names) {
    browser.waiting().withMessage(() -> "presence list " + List.of(names))
        .until(d -> d.findElements(testId("presence-item")).stream().map(WebElement::getText).toList()
            .equals(List.of(names)));
    assertThat(text(browser, "presence-count")).isEqualTo(String.valueOf(names.length));
  }

  /** Records the state events of the page's client in {@code T.states}. */
  static void recordStates(HeadlessChromium browser) {
    browser.eval("(() => { window.T = { states: [] };"
        + " window.parleyDemo.app.client.on('state', (e) => T.states.push({ state: e.state, attempt: e.attempt, delay: e.delay }));"
        + " return true; })()");
  }
}
