package io.parley.room;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.metrics.ParleyMetrics;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The node's room count and cap: a room asks to be hosted when it starts and is counted until it
 * stops. Rooms are probes here; RoomActorTest shows a refused room's behaviour.
 */
@ExtendWith(LogCapturingExtension.class)
class HostedRoomsTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** Asks {@code hosted} to host a new room (a probe); returns the answer. */
  private static boolean host(ActorTestKit kit, ActorRef<HostedRooms.Command> hosted, TestProbe<RoomActor.Command> room) {
    TestProbe<Boolean> answer = kit.createTestProbe();
    hosted.tell(new HostedRooms.Host(room.ref(), answer.ref()));
    return answer.receiveMessage();
  }

  private static TestProbe<RoomActor.Command> room() {
    return testKit.createTestProbe();
  }

  @Test
  void hostsRoomsUpToTheCapAndRefusesBeyond() {
    ActorRef<HostedRooms.Command> hosted = testKit.spawn(HostedRooms.create(2));
    assertThat(host(testKit, hosted, room())).isTrue();
    assertThat(host(testKit, hosted, room())).isTrue();
    assertThat(host(testKit, hosted, room())).isFalse();
    assertThat(host(testKit, hosted, room())).isFalse();
  }

  @Test
  void aStoppedRoomFreesItsPlace() {
    ActorRef<HostedRooms.Command> hosted = testKit.spawn(HostedRooms.create(1));
    TestProbe<RoomActor.Command> first = room();
    assertThat(host(testKit, hosted, first)).isTrue();
    assertThat(host(testKit, hosted, room())).isFalse();

    first.stop();
    // asked again until the stop is seen; a refused room is not counted, so asking costs nothing
    testKit.createTestProbe().awaitAssert(() -> assertThat(host(testKit, hosted, room())).isTrue());
    assertThat(host(testKit, hosted, room())).isFalse();
  }

  @Test
  void aRefusedRoomIsNotCountedSoItsStopFreesNothing() {
    ActorRef<HostedRooms.Command> hosted = testKit.spawn(HostedRooms.create(1));
    assertThat(host(testKit, hosted, room())).isTrue();
    TestProbe<RoomActor.Command> refused = room();
    assertThat(host(testKit, hosted, refused)).isFalse();

    refused.stop();
    testKit.createTestProbe().expectTerminated(refused.ref());
    assertThat(host(testKit, hosted, room())).isFalse();
  }

  @Test
  void theRoomsGaugeShowsTheCount() {
    // a system of its own: the gauge is per node, and this HostedRooms is its node's only one
    ActorTestKit kit = ActorTestKit.create("HostedRoomsTest-gauge");
    try {
      ParleyMetrics metrics = ParleyMetrics.get(kit.system());
      TestProbe<Object> waiter = kit.createTestProbe();
      ActorRef<HostedRooms.Command> hosted = kit.spawn(HostedRooms.create(5));
      TestProbe<RoomActor.Command> first = kit.createTestProbe();
      host(kit, hosted, first);
      host(kit, hosted, kit.createTestProbe());
      waiter.awaitAssert(() -> assertThat(metrics.rooms.get()).isEqualTo(2));
      first.stop();
      waiter.awaitAssert(() -> assertThat(metrics.rooms.get()).isEqualTo(1));
      assertThat(metrics.scrape()).contains("parley_rooms 1.0");
    } finally {
      kit.shutdownTestKit();
    }
  }
}
