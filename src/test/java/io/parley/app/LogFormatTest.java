package io.parley.app;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusUtil;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;

/** conf/logback.xml: human-readable lines by default, JSON lines with the MDC on one switch. */
class LogFormatTest {

  /** A logger context configured by the node's logback configuration, with PARLEY_LOG_FORMAT set. */
  private static LoggerContext configured(String format) throws Exception {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new LogbackMDCAdapter());
    if (format != null) context.putProperty("PARLEY_LOG_FORMAT", format);
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(Path.of("conf/logback.xml").toFile());
    return context;
  }

  /** What the node's logback configuration prints for one event, with PARLEY_LOG_FORMAT set. */
  private static String log(String format) throws Exception {
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      LoggerContext context = configured(format);
      Logger log = context.getLogger("io.parley.client.ClientActor");
      context.getMDCAdapter().put("userId", "ann");
      context.getMDCAdapter().put("connectionId", "c0ffee");
      log.info("connected user={} connection={}", "ann", "c0ffee");
      context.getMDCAdapter().clear();
      context.stop(); // flushes the async appender
    } finally {
      System.setOut(stdout);
    }
    return captured.toString(StandardCharsets.UTF_8).trim();
  }

  @Test
  void defaultIsOneHumanReadableLine() throws Exception {
    String line = log(null);
    assertThat(line).doesNotStartWith("{").contains("INFO").contains("connected user=ann connection=c0ffee");
  }

  @Test
  void jsonSwitchWritesOneObjectPerLineWithTheMdc() throws Exception {
    String line = log("json");
    JsonNode event = new ObjectMapper().readTree(line);
    assertThat(event.path("level").asText()).isEqualTo("INFO");
    assertThat(event.path("loggerName").asText()).isEqualTo("io.parley.client.ClientActor");
    assertThat(event.path("formattedMessage").asText()).isEqualTo("connected user=ann connection=c0ffee");
    assertThat(event.path("mdc").path("userId").asText()).isEqualTo("ann");
    assertThat(event.path("mdc").path("connectionId").asText()).isEqualTo("c0ffee");
  }

  /**
   * Logback prints its own status (30 lines on stdout, before anything else) when its
   * configuration has a warning or an error, e.g. an appender that is defined but not used.
   */
  @ParameterizedTest
  @NullSource
  @ValueSource(strings = {"text", "json"})
  void configurationHasNothingToWarnAboutSoLogbackPrintsNoStatus(String format) throws Exception {
    LoggerContext context = configured(format);
    try {
      assertThat(new StatusUtil(context).getHighestLevel(0))
          .as("%s", context.getStatusManager().getCopyOfStatusList())
          .isLessThan(Status.WARN);
    } finally {
      context.stop();
    }
  }
}
