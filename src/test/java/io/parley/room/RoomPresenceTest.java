package io.parley.room;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.protocol.User;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;

/**
 * Who is in a room, as plain state: per node, each user's number of connections there. A user is
 * present while any node reports a connection of theirs; every change reports who arrived and
 * who departed. (The nodes are inbox refs: no actor system runs here.)
 */
class RoomPresenceTest {
  private static final User ANN = new User("ann", "Ann");
  private static final User BOB = new User("bob", "Bob");
  private static final User CID = new User("cid", "Cid");

  private final ActorRef<NodeRooms.RoomEvent> nodeA = TestInbox.<NodeRooms.RoomEvent>create().getRef();
  private final ActorRef<NodeRooms.RoomEvent> nodeB = TestInbox.<NodeRooms.RoomEvent>create().getRef();
  private final RoomPresence presence = new RoomPresence();
  private final List<User> arrived = new ArrayList<>();
  private final List<User> departed = new ArrayList<>();

  private void set(ActorRef<NodeRooms.RoomEvent> node, User user, int connections) {
    presence.set(node, user, connections, arrived::add, departed::add);
  }

  private void replace(ActorRef<NodeRooms.RoomEvent> node, UserCount... counts) {
    presence.replace(node, List.of(counts), arrived::add, departed::add);
  }

  @Test
  void startsEmpty() {
    assertThat(presence.isEmpty()).isTrue();
    assertThat(presence.users()).isEmpty();
    assertThat(presence.nodes()).isEmpty();
  }

  @Test
  void aUsersFirstConnectionArrivesAndMoreConnectionsChangeNothing() {
    set(nodeA, ANN, 1);
    set(nodeA, ANN, 2);
    set(nodeA, ANN, 3);
    assertThat(arrived).containsExactly(ANN);
    assertThat(presence.users()).containsExactly(ANN);
    assertThat(presence.isPresent(ANN.id())).isTrue();
  }

  @Test
  void aUserDepartsWhenTheCountOnItsOnlyNodeFallsToZero() {
    set(nodeA, ANN, 2);
    set(nodeA, ANN, 1);
    assertThat(departed).isEmpty();
    set(nodeA, ANN, 0);
    assertThat(departed).containsExactly(ANN);
    assertThat(presence.isPresent(ANN.id())).isFalse();
    assertThat(presence.isEmpty()).isTrue();
  }

  @Test
  void aUserOnTwoNodesArrivesOnceAndDepartsOnlyWhenGoneFromBoth() {
    set(nodeA, ANN, 1);
    set(nodeB, ANN, 1);
    assertThat(arrived).containsExactly(ANN);
    set(nodeA, ANN, 0);
    assertThat(departed).isEmpty();
    assertThat(presence.users()).containsExactly(ANN);
    set(nodeB, ANN, 0);
    assertThat(departed).containsExactly(ANN);
  }

  @Test
  void zeroForAUserWhoIsNotThereChangesNothing() {
    set(nodeA, ANN, 1);
    set(nodeA, BOB, 0);
    set(nodeB, ANN, 0);
    assertThat(departed).isEmpty();
    assertThat(presence.nodes()).containsExactly(nodeA);
  }

  @Test
  void usersAreDistinctInOrderOfArrival() {
    set(nodeB, CID, 1);
    set(nodeA, ANN, 1);
    set(nodeA, BOB, 1);
    set(nodeB, ANN, 2);
    assertThat(presence.users()).containsExactly(CID, ANN, BOB);
  }

  @Test
  void theNodesAreThoseThatHostMembers() {
    set(nodeA, ANN, 1);
    set(nodeB, BOB, 1);
    assertThat(presence.nodes()).containsExactlyInAnyOrder(nodeA, nodeB);
    assertThat(presence.hosts(nodeB)).isTrue();
    set(nodeB, BOB, 0);
    assertThat(presence.nodes()).containsExactly(nodeA);
    assertThat(presence.hosts(nodeB)).isFalse();
  }

  @Test
  void replaceReportsOnlyTheDifference() {
    set(nodeA, ANN, 1);
    set(nodeA, BOB, 1);
    replace(nodeA, new UserCount(BOB, 4), new UserCount(CID, 1));
    assertThat(arrived).containsExactly(ANN, BOB, CID);
    assertThat(departed).containsExactly(ANN);
    assertThat(presence.users()).containsExactly(BOB, CID);
  }

  @Test
  void replaceKeepsAUserWhomAnotherNodeStillHas() {
    set(nodeA, ANN, 1);
    set(nodeB, ANN, 1);
    replace(nodeA);
    assertThat(departed).isEmpty();
    assertThat(presence.hosts(nodeA)).isFalse();
    assertThat(presence.users()).containsExactly(ANN);
  }

  @Test
  void replaceIgnoresUsersReportedWithNoConnections() {
    replace(nodeA, new UserCount(ANN, 0), new UserCount(BOB, 1));
    assertThat(arrived).containsExactly(BOB);
    assertThat(presence.isPresent(ANN.id())).isFalse();
    replace(nodeB, new UserCount(ANN, 0));
    assertThat(presence.hosts(nodeB)).isFalse();
  }

  @Test
  void removeNodeDepartsOnlyTheUsersNotOnAnotherNode() {
    set(nodeA, ANN, 1);
    set(nodeA, BOB, 2);
    set(nodeB, ANN, 1);
    presence.removeNode(nodeA, departed::add);
    assertThat(departed).containsExactly(BOB);
    assertThat(presence.users()).containsExactly(ANN);
    assertThat(presence.nodes()).containsExactly(nodeB);
  }

  @Test
  void removingANodeThatHostsNoMembersChangesNothing() {
    set(nodeA, ANN, 1);
    presence.removeNode(nodeB, departed::add);
    assertThat(departed).isEmpty();
    assertThat(presence.users()).containsExactly(ANN);
  }
}
