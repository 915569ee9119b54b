package io.parley.web;

import static org.openqa.selenium.support.ui.ExpectedConditions.textMatches;

import io.parley.app.ParleyNode;
import io.parley.testing.HeadlessChromium;
import io.parley.testing.TestNode;
import io.parley.testing.TestTokens;
import io.parley.testing.WsClient;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;

/** The admin page (/admin, dev mode) in headless Chromium: its summary reads as English. */
@ExtendWith(LogCapturingExtension.class)
class BrowserAdminPageIT {
  private static ParleyNode node;
  private static HeadlessChromium browser;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start("parley.dev-mode = on");
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

  @Test
  void summaryCountsInTheSingularForOneAndThePluralOtherwise() {
    browser.open("http://127.0.0.1:" + node.port() + "/admin");
    By summary = By.id("summary");
    browser.waiting().until(textMatches(summary,
        Pattern.compile("^1 node · 0 users online · 0 connections · seen from \\S+$")));
    try (WsClient ann = WsClient.connected(TestNode.wsUri(node, TestTokens.token("admin-ann", "Ann")))) {
      browser.waiting().until(textMatches(summary, Pattern.compile("^1 node · 1 user online · 1 connection · ")));
      try (WsClient again = WsClient.connected(TestNode.wsUri(node, TestTokens.token("admin-ann", "Ann")))) {
        browser.waiting().until(textMatches(summary, Pattern.compile("^1 node · 1 user online · 2 connections · ")));
      }
    }
  }
}
