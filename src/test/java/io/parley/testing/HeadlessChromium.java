package io.parley.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * One headless Chromium for browser tests: Debian's {@code chromium} driven through Debian's
 * {@code chromedriver}, both installed by {@code .ci/run}. The driver path is given explicitly, so
 * Selenium Manager never runs and nothing is downloaded. Each browser gets a fresh profile in a
 * temporary folder, deleted on {@link #close()}.
 */
public final class HeadlessChromium implements AutoCloseable {
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  public static final Dimension DESKTOP = new Dimension(1280, 800);
  public static final Dimension PHONE = new Dimension(390, 844);
  /** Longest wait for anything a page should show. */
  public static final Duration WAIT = Duration.ofSeconds(15);

  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * Selenium warns on every start that it has no DevTools bindings for this Chromium version; these
   * tests use WebDriver only. Kept in a field: java.util.logging holds loggers weakly.
   */
  private static final Logger CDP_LOGGER = quiet("org.openqa.selenium.devtools");

  private final ChromeDriver driver;
  private final Path profile;

  private HeadlessChromium(ChromeDriver driver, Path profile) {
    this.driver = driver;
    this.profile = profile;
  }

  /**
   * Chromium's windows are never narrower than this; smaller viewports are emulated as a phone
   * (device metrics and touch), which is what a phone-width check wants anyway.
   */
  private static final int MIN_WINDOW_WIDTH = 500;

  /**
   * Starts a browser whose viewport (the page's innerWidth x innerHeight) has this size; fails when
   * Debian's packages are missing.
   */
  public static HeadlessChromium start(Dimension size) {
    for (Path binary : new Path[] {CHROMIUM, CHROMEDRIVER}) {
      if (!Files.isExecutable(binary)) {
        throw new IllegalStateException(binary + " is missing: the browser tests need Debian's "
            + "chromium and chromium-driver packages, which .ci/run installs "
            + "(apt-get install -y chromium chromium-driver)");
      }
    }
    Path profile;
    try {
      profile = Files.createTempDirectory("parley-chromium-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-quic",
        "--user-data-dir=" + profile,
        "--window-size=" + Math.max(size.getWidth(), MIN_WINDOW_WIDTH) + "," + size.getHeight());
    if (size.getWidth() < MIN_WINDOW_WIDTH) {
      options.setExperimentalOption("mobileEmulation", Map.of("deviceMetrics",
          Map.of("width", size.getWidth(), "height", size.getHeight(), "pixelRatio", 1.0, "touch", true)));
    }
    // The page's console, for failure reports (see consoleLog()).
    options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .withLogOutput(OutputStream.nullOutputStream())
        .build();
    ChromeDriver driver = null;
    try {
      driver = new ChromeDriver(service, options);
      driver.manage().timeouts().pageLoadTimeout(WAIT).scriptTimeout(WAIT);
      HeadlessChromium browser = new HeadlessChromium(driver, profile);
      if (size.getWidth() >= MIN_WINDOW_WIDTH) browser.fitViewport(size);
      return browser;
    } catch (RuntimeException e) {
      if (driver != null) driver.quit();
      else service.stop();
      deleteTree(profile);
      throw e;
    }
  }

  private static Logger quiet(String name) {
    Logger logger = Logger.getLogger(name);
    logger.setLevel(Level.SEVERE);
    return logger;
  }

  /** --window-size counts the window's frame too: grow the window until the viewport has the size. */
  private void fitViewport(Dimension size) {
    JsonNode inner = eval("({w: innerWidth, h: innerHeight})");
    Dimension window = driver.manage().window().getSize();
    driver.manage().window().setSize(new Dimension(
        window.getWidth() + size.getWidth() - inner.path("w").asInt(),
        window.getHeight() + size.getHeight() - inner.path("h").asInt()));
  }

  public ChromeDriver driver() {
    return driver;
  }

  /** A wait of up to {@link #WAIT} that ignores nothing: a failing condition shows its message. */
  /**
   * Waits up to {@code WAIT}, asking again every 50 ms; a condition that read an element the page
   * has just re-rendered (a message whose status changed) is asked again, not failed.
   */
  public WebDriverWait waiting() {
    WebDriverWait wait = new WebDriverWait(driver, WAIT, Duration.ofMillis(50));
    wait.ignoring(StaleElementReferenceException.class);
    return wait;
  }

  public void open(String url) {
    driver.get(url);
  }

  /**
   * Runs {@code body}, the body of an async JavaScript function with {@code args} as
   * {@code args[0..]}, and returns its result as JSON (a JSON.stringify round trip, so
   * Promise-valued and nested results come back whole). A thrown error fails the test.
   */
  public JsonNode run(String body, Object... args) {
    Object raw = driver.executeAsyncScript("""
        const done = arguments[arguments.length - 1];
        const args = Array.prototype.slice.call(arguments, 0, -1);
        (async (args) => { %s })(args).then(
          (value) => done(JSON.stringify({ ok: value === undefined ? null : value })),
          (err) => done(JSON.stringify({ error: (err && err.code ? err.code + ': ' : '') + String((err && err.stack) || err) })));
        """.formatted(body), args);
    try {
      JsonNode result = JSON.readTree(String.valueOf(raw));
      if (result.has("error")) throw new AssertionError("script failed in the page: " + result.get("error").asText());
      return result.get("ok");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Evaluates a synchronous JavaScript expression and returns its value as JSON. */
  public JsonNode eval(String expression, Object... args) {
    Object raw = driver.executeScript("return JSON.stringify((" + expression + ") ?? null);", args);
    try {
      return JSON.readTree(String.valueOf(raw));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Saves a screenshot of the viewport as PNG, creating the folder. */
  public void screenshot(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The page's console messages so far (each read returns only the new ones). */
  public String consoleLog() {
    try {
      return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
          .map(entry -> entry.getLevel() + " " + entry.getMessage())
          .collect(Collectors.joining("\n"));
    } catch (WebDriverException e) {
      return "(console log unavailable: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } finally {
      deleteTree(profile);
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    } catch (IOException e) {
      // a temp folder left behind is harmless
    }
  }
}
