package io.parley.ws;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.testkit.TestSubscriber;
import org.apache.pekko.stream.testkit.javadsl.TestSink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The outbox's lanes: one FIFO order on the socket whatever the lane, drops only for broadcasts
 * and only beyond the buffer, replies capped by a close, replays of any length, and close.
 */
@ExtendWith(LogCapturingExtension.class)
class OutboxTest {
  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Duration WAIT = Duration.ofSeconds(10);

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static OutFrame frame(String text) {
    return OutFrame.text(text.getBytes(StandardCharsets.UTF_8));
  }

  private static List<OutFrame> frames(String prefix, int count) {
    return IntStream.range(0, count).mapToObj(i -> frame(prefix + i)).toList();
  }

  private static List<String> drain(Outbox outbox) {
    List<String> texts = new ArrayList<>();
    for (OutFrame next = outbox.poll(); next != null; next = outbox.poll()) texts.add(next.text());
    return texts;
  }

  /** An outbox read by hand through {@link Outbox#poll}, counting its wake-ups. */
  private static final class Polled {
    final AtomicInteger wakeUps = new AtomicInteger();
    final Counter droppedTotal = new SimpleMeterRegistry().counter("dropped");
    final Outbox outbox;

    Polled(int buffer) {
      outbox = new Outbox(buffer, droppedTotal, wakeUps::incrementAndGet);
    }
  }

  /** An outbox whose socket is a test subscriber that pulls only when told. */
  private static Pair<Outbox, TestSubscriber.Probe<OutFrame>> withSubscriber(int buffer, Counter droppedTotal) {
    return Outbox.source(buffer, droppedTotal)
        .toMat(TestSink.create(testKit.system()), Keep.both())
        .run(testKit.system());
  }

  @Test
  void everyLaneKeepsOneFifoOrder() {
    Polled p = new Polled(256);
    p.outbox.send(frame("a"));
    p.outbox.reply(frame("b"));
    p.outbox.replay(List.of(frame("c"), frame("d")));
    p.outbox.send(frame("e"));
    p.outbox.reply(frame("f"));
    assertThat(drain(p.outbox)).containsExactly("a", "b", "c", "d", "e", "f");
  }

  @Test
  void onlyBroadcastsBeyondTheBufferAreDroppedAndCounted() {
    Polled p = new Polled(4);
    for (int i = 0; i < 4; i++) assertThat(p.outbox.send(frame("s" + i))).isTrue();
    assertThat(p.outbox.send(frame("over"))).isFalse();
    for (int i = 0; i < 10; i++) assertThat(p.outbox.reply(frame("r" + i))).isTrue();
    assertThat(p.outbox.replay(frames("p", 100))).isTrue();
    assertThat(p.outbox.send(frame("over again"))).isFalse();

    assertThat(p.outbox.dropped()).isEqualTo(2);
    assertThat(p.droppedTotal.count()).isEqualTo(2.0);
    List<String> sent = drain(p.outbox);
    assertThat(sent).hasSize(4 + 10 + 100).doesNotContain("over", "over again");
    assertThat(sent.subList(0, 5)).containsExactly("s0", "s1", "s2", "s3", "r0");
    assertThat(sent.get(sent.size() - 1)).isEqualTo("p99");

    // the buffer is free again once the socket took its frames
    for (int i = 0; i < 4; i++) assertThat(p.outbox.send(frame("t" + i))).isTrue();
    assertThat(p.outbox.dropped()).isEqualTo(2);
  }

  @Test
  void repliesBeyondTheSafetyCapCloseWith1008() {
    Polled p = new Polled(256);
    for (int i = 0; i < Outbox.MAX_WAITING_REPLIES; i++) assertThat(p.outbox.reply(frame("r" + i))).isTrue();
    assertThat(p.outbox.closing()).isNull();
    assertThat(p.outbox.reply(frame("one too many"))).isFalse();
    assertThat(p.outbox.closing()).isNotNull();
    assertThat(p.outbox.closing().code()).isEqualTo(CloseCodes.POLICY_VIOLATION);
    assertThat(p.outbox.dropped()).isZero();
  }

  @Test
  void theConsumerIsWokenOnlyWhenItFoundNothing() {
    Polled p = new Polled(256);
    p.outbox.send(frame("a"));
    assertThat(p.wakeUps.get()).as("not waiting yet").isZero();
    assertThat(drain(p.outbox)).containsExactly("a");
    p.outbox.send(frame("b"));
    p.outbox.reply(frame("c"));
    assertThat(p.wakeUps.get()).as("one wake-up for both").isEqualTo(1);
    assertThat(drain(p.outbox)).containsExactly("b", "c");
    p.outbox.replay(List.of(frame("d")));
    assertThat(p.wakeUps.get()).isEqualTo(2);
    p.outbox.close(CloseCodes.NORMAL, "");
    assertThat(p.wakeUps.get()).as("close wakes whatever the consumer does").isEqualTo(3);
  }

  @Test
  void aReplayOfTenThousandFramesArrivesWholeWhileTheSocketTakesThemOneByOne() {
    Counter droppedTotal = new SimpleMeterRegistry().counter("dropped");
    Pair<Outbox, TestSubscriber.Probe<OutFrame>> pair = withSubscriber(256, droppedTotal);
    Outbox outbox = pair.first();
    TestSubscriber.Probe<OutFrame> socket = pair.second();
    socket.ensureSubscription();

    // nothing is pulled while the replay and the frames around it are queued
    assertThat(outbox.send(frame("before"))).isTrue();
    assertThat(outbox.replay(frames("m", 10_000))).isTrue();
    // with "before", the buffer is full: the replay took none of it
    for (int i = 0; i < 255; i++) assertThat(outbox.send(frame("live" + i))).isTrue();
    assertThat(outbox.send(frame("dropped"))).isFalse();
    assertThat(outbox.reply(frame("ack"))).isTrue();
    assertThat(outbox.dropped()).isEqualTo(1);

    List<String> received = new ArrayList<>();
    for (int i = 0; i < 1 + 10_000 + 255 + 1; i++) {
      socket.request(1);
      received.add(socket.expectNext(WAIT).text());
    }
    assertThat(received.get(0)).isEqualTo("before");
    assertThat(received.subList(1, 10_001)).isEqualTo(frames("m", 10_000).stream().map(OutFrame::text).toList());
    assertThat(received.get(10_001)).isEqualTo("live0");
    assertThat(received.get(received.size() - 1)).isEqualTo("ack");
    socket.request(1);
    socket.expectNoMessage(Duration.ofMillis(100));
    assertThat(droppedTotal.count()).isEqualTo(1.0);
  }

  @Test
  void framesFromManyThreadsArriveEachInItsSendersOrder() throws Exception {
    int senders = 4;
    int perSender = 1_500; // 1,000 replies each: under the cap together
    Pair<Outbox, CompletionStage<List<OutFrame>>> pair = Outbox.source(256, new SimpleMeterRegistry().counter("d"))
        .take((long) senders * perSender)
        .toMat(Sink.seq(), Keep.both())
        .run(testKit.system());
    Outbox outbox = pair.first();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int s = 0; s < senders; s++) {
      int sender = s;
      Thread thread = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < perSender; i++) {
          String text = sender + ":" + i;
          // replies and replays: never dropped, so every frame must arrive
          if (i % 3 == 0) outbox.replay(List.of(frame(text)));
          else outbox.reply(frame(text));
        }
      });
      threads.add(thread);
      thread.start();
    }
    start.countDown();
    for (Thread thread : threads) thread.join(WAIT.toMillis());

    List<OutFrame> received = pair.second().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    Map<Integer, Integer> next = new HashMap<>();
    for (OutFrame frame : received) {
      String[] parts = frame.text().split(":");
      int sender = Integer.parseInt(parts[0]);
      int expected = next.getOrDefault(sender, 0);
      assertThat(Integer.parseInt(parts[1])).as("next frame of sender %d", sender).isEqualTo(expected);
      next.put(sender, expected + 1);
    }
    assertThat(next).hasSize(senders).allSatisfy((sender, count) -> assertThat(count).isEqualTo(perSender));
  }

  @Test
  void closeFailsTheSocketsSourceWithItsCodeBeforeQueuedFramesAndStopsTheOutbox() {
    Counter droppedTotal = new SimpleMeterRegistry().counter("dropped");
    Pair<Outbox, TestSubscriber.Probe<OutFrame>> pair = withSubscriber(256, droppedTotal);
    Outbox outbox = pair.first();
    TestSubscriber.Probe<OutFrame> socket = pair.second();
    outbox.send(frame("queued"));
    outbox.reply(frame("queued reply"));
    outbox.close(CloseCodes.TOKEN_EXPIRED, "token expired");
    outbox.close(CloseCodes.NORMAL, "a second close changes nothing");

    Throwable error = socket.expectSubscriptionAndError();
    assertThat(error).isInstanceOfSatisfying(CloseSignal.class, signal -> {
      assertThat(signal.code()).isEqualTo(CloseCodes.TOKEN_EXPIRED);
      assertThat(signal.reason()).isEqualTo("token expired");
    });
    testKit.createTestProbe().awaitAssert(WAIT, () -> {
      assertThat(outbox.send(frame("late"))).isFalse();
      return null;
    });
    assertThat(outbox.reply(frame("late"))).isFalse();
    assertThat(outbox.replay(List.of(frame("late")))).isFalse();
    assertThat(outbox.dropped()).as("frames for a closed socket are not drops").isZero();
  }

  @Test
  void aSocketThatEndedTakesNothingMore() {
    Pair<Outbox, TestSubscriber.Probe<OutFrame>> pair = withSubscriber(256, new SimpleMeterRegistry().counter("d"));
    Outbox outbox = pair.first();
    pair.second().ensureSubscription().cancel();
    testKit.createTestProbe().awaitAssert(WAIT, () -> {
      assertThat(outbox.send(frame("late"))).isFalse();
      return null;
    });
    assertThat(outbox.dropped()).isZero();
  }
}
