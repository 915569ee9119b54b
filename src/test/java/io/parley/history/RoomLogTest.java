package io.parley.history;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.parley.testing.TestNode;
import io.parley.testing.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The room log on both stores it ships with, the same migrations on each: the embedded one (H2 on
 * disk, as a single node runs it) and a real PostgreSQL (as a cluster does).
 */
class RoomLogTest {

  /** A store to test on, opened fresh per test. */
  record Store(String name, LogSettings settings) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Store> stores() {
    LogSettings embedded = new LogSettings("", "", "", Path.of(TestNode.dataDir()), 5, Duration.ofDays(30),
        1000, Duration.ofHours(24), Duration.ofSeconds(2));
    LogSettings postgres = new LogSettings(TestPostgres.newDatabase(), "", "", Path.of("unused"), 5,
        Duration.ofDays(30), 1000, Duration.ofHours(24), Duration.ofSeconds(2));
    return Stream.of(new Store("embedded H2", embedded), new Store("PostgreSQL", postgres));
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static RoomLog.Message message(long seq) {
    return new RoomLog.Message(seq, "m-" + seq + "-" + UUID.randomUUID(),
        ("{\"type\":\"new_message\",\"seq\":" + seq + "}").getBytes(StandardCharsets.UTF_8));
  }

  private static List<Long> seqs(List<RoomLog.Message> messages) {
    return messages.stream().map(RoomLog.Message::seq).toList();
  }

  private static String room() {
    return "log-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void aNewRoomGetsAnEpochAndSeqZeroAndKeepsThemAcrossLoads(Store store) throws Exception {
    try (RoomLog log = RoomLog.open(store.settings())) {
      String room = room();
      RoomLog.Room first = await(log.load(room, 10));
      assertThat(first.epoch()).hasSizeBetween(1, 64);
      assertThat(first.lastSeq()).isZero();
      assertThat(first.newest()).isEmpty();
      await(log.append(room, message(1), null, Instant.now()));
      RoomLog.Room again = await(log.load(room, 10));
      assertThat(again.epoch()).isEqualTo(first.epoch());
      assertThat(again.lastSeq()).isEqualTo(1);
      assertThat(new String(again.newest().get(0).frame(), StandardCharsets.UTF_8)).contains("\"seq\":1");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void appendsFromManyRoomsAtOnceAreAllStoredInOrder(Store store) throws Exception {
    try (RoomLog log = RoomLog.open(store.settings())) {
      List<String> rooms = List.of(room(), room(), room());
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (String room : rooms) await(log.load(room, 0));
      for (long seq = 1; seq <= 200; seq++) {
        for (String room : rooms) all.add(log.append(room, message(seq), null, Instant.now()).toCompletableFuture());
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      for (String room : rooms) {
        assertThat(await(log.load(room, 3)).lastSeq()).isEqualTo(200);
        assertThat(seqs(await(log.after(room, 100, 3)))).containsExactly(101L, 102L, 103L);
        assertThat(seqs(await(log.before(room, 100, 3)))).containsExactly(97L, 98L, 99L);
        assertThat(seqs(await(log.newest(room, 2)))).containsExactly(199L, 200L);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void aSeqIsNeverStoredTwiceAndTheRoomsLaterAppendsFailUntilItLoadsAgain(Store store) throws Exception {
    try (RoomLog log = RoomLog.open(store.settings())) {
      String room = room();
      await(log.load(room, 0));
      await(log.append(room, message(1), null, Instant.now()));
      CompletionStage<Void> taken = log.append(room, message(1), null, Instant.now());
      CompletionStage<Void> later = log.append(room, message(2), null, Instant.now());
      assertThatThrownBy(() -> await(taken)).hasCauseInstanceOf(StoreException.class);
      assertThatThrownBy(() -> await(later)).as("no seq stored after a lost one").hasCauseInstanceOf(StoreException.class);
      RoomLog.Room reloaded = await(log.load(room, 10));
      assertThat(reloaded.lastSeq()).isEqualTo(1);
      await(log.append(room, message(2), null, Instant.now()));
      assertThat(await(log.load(room, 10)).lastSeq()).isEqualTo(2);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void trimmingKeepsTheNewestAndTheLastSeq(Store store) throws Exception {
    try (RoomLog log = RoomLog.open(store.settings())) { // keeps 5 per room
      String room = room();
      await(log.load(room, 0));
      for (long seq = 1; seq <= 12; seq++) await(log.append(room, message(seq), null, Instant.now()));
      log.trim();
      assertThat(seqs(await(log.after(room, 0, 100)))).containsExactly(8L, 9L, 10L, 11L, 12L);
      assertThat(await(log.load(room, 100)).lastSeq()).isEqualTo(12);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void trimmingDropsMessagesOlderThanTheRetentionAge(Store store) throws Exception {
    try (RoomLog log = RoomLog.open(store.settings())) {
      String room = room();
      await(log.load(room, 0));
      await(log.append(room, message(1), null, Instant.now().minus(Duration.ofDays(31))));
      await(log.append(room, message(2), null, Instant.now()));
      log.trim();
      assertThat(seqs(await(log.newest(room, 10)))).containsExactly(2L);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void anIdempotencyKeyIsStoredWithItsMessage(Store store) throws Exception {
    try (RoomLog log = RoomLog.open(store.settings())) {
      String room = room();
      await(log.load(room, 0));
      RoomLog.Message message = message(1);
      await(log.append(room, message, "order-42", Instant.now()));
      assertThat(await(log.published(room, "order-42")))
          .contains(new RoomLog.Published(message.id(), 1));
      assertThat(await(log.published(room, "order-43"))).isEqualTo(Optional.empty());
      assertThat(await(log.published(room(), "order-42"))).as("keys are per room").isEmpty();
    }
  }

  /** Past its window a key is new again, even before trimming has removed it: no conflict. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void aKeyPastItsWindowIsStoredAgainBeforeTrimmingRemovedIt(Store store) throws Exception {
    try (RoomLog log = RoomLog.open(store.settings())) {
      String room = room();
      await(log.load(room, 0));
      await(log.append(room, message(1), "daily-report", Instant.now().minus(Duration.ofHours(25))));
      assertThat(await(log.published(room, "daily-report"))).as("past its window").isEmpty();

      RoomLog.Message again = message(2);
      await(log.append(room, again, "daily-report", Instant.now()));
      assertThat(await(log.published(room, "daily-report"))).contains(new RoomLog.Published(again.id(), 2));
      await(log.append(room, message(3), null, Instant.now()));
      assertThat(seqs(await(log.newest(room, 10)))).as("the room appends on").containsExactly(1L, 2L, 3L);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  void aWipedStoreGivesTheRoomANewEpoch(Store store) throws Exception {
    String room = room();
    String before;
    try (RoomLog log = RoomLog.open(store.settings())) {
      before = await(log.load(room, 0)).epoch();
      await(log.append(room, message(1), null, Instant.now()));
    }
    wipe(store.settings());
    try (RoomLog log = RoomLog.open(store.settings())) {
      RoomLog.Room after = await(log.load(room, 0));
      assertThat(after.epoch()).isNotEqualTo(before);
      assertThat(after.lastSeq()).isZero();
    }
  }

  /** Drops every table, as a lost or replaced store would be. */
  private static void wipe(LogSettings settings) throws Exception {
    try (Connection connection = DriverManager.getConnection(settings.jdbcUrl());
        Statement statement = connection.createStatement()) {
      statement.execute("drop table messages");
      statement.execute("drop table idempotency_keys");
      statement.execute("drop table rooms");
      statement.execute("drop table \"flyway_schema_history\"");
    }
  }
}
