package io.parley.room;

import io.parley.protocol.User;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Who is in a room, as its nodes report it: for each node that hosts members, each user's number
 * of connections there. A user is present in the room while any node reports a connection of
 * theirs. Plain state, owned by one {@link RoomActor}; every change says who arrived or departed.
 */
final class RoomPresence {
  private static final class Present {
    final User user;
    int nodes;

    Present(User user) {
      this.user = user;
    }
  }

  private final Map<ActorRef<NodeRooms.RoomEvent>, Map<String, Integer>> byNode = new HashMap<>();
  /** Present users in order of arrival, with the number of nodes they are on. */
  private final Map<String, Present> users = new LinkedHashMap<>();

  boolean isEmpty() {
    return byNode.isEmpty();
  }

  boolean isPresent(String userId) {
    return users.containsKey(userId);
  }

  /** The distinct users present, in order of arrival. */
  List<User> users() {
    List<User> list = new ArrayList<>(users.size());
    for (Present present : users.values()) list.add(present.user);
    return list;
  }

  /** The nodes that host members. */
  Set<ActorRef<NodeRooms.RoomEvent>> nodes() {
    return byNode.keySet();
  }

  boolean hosts(ActorRef<NodeRooms.RoomEvent> node) {
    return byNode.containsKey(node);
  }

  /** Sets a user's connections on a node (0: none there any more). */
  void set(ActorRef<NodeRooms.RoomEvent> node, User user, int connections,
      Consumer<User> arrived, Consumer<User> departed) {
    Map<String, Integer> counts = byNode.get(node);
    boolean wasThere = counts != null && counts.containsKey(user.id());
    if (connections > 0) {
      if (counts == null) byNode.put(node, counts = new HashMap<>());
      counts.put(user.id(), connections);
      if (!wasThere) enter(user, arrived);
    } else if (wasThere) {
      counts.remove(user.id());
      if (counts.isEmpty()) byNode.remove(node);
      leave(user.id(), departed);
    }
  }

  /** Replaces everything a node reports at once. */
  void replace(ActorRef<NodeRooms.RoomEvent> node, Collection<UserCount> reported,
      Consumer<User> arrived, Consumer<User> departed) {
    Map<String, Integer> before = byNode.remove(node);
    Map<String, Integer> after = new HashMap<>();
    for (UserCount count : reported) {
      if (count.connections() > 0) after.put(count.user().id(), count.connections());
    }
    if (!after.isEmpty()) byNode.put(node, after);
    for (UserCount count : reported) {
      if (count.connections() > 0 && (before == null || !before.containsKey(count.user().id()))) {
        enter(count.user(), arrived);
      }
    }
    if (before != null) {
      for (String userId : before.keySet()) if (!after.containsKey(userId)) leave(userId, departed);
    }
  }

  /** A node is gone: its users leave, unless another node still has them. */
  void removeNode(ActorRef<?> node, Consumer<User> departed) {
    Map<String, Integer> counts = byNode.remove(node);
    if (counts != null) for (String userId : counts.keySet()) leave(userId, departed);
  }

  private void enter(User user, Consumer<User> arrived) {
    Present present = users.computeIfAbsent(user.id(), id -> new Present(user));
    if (present.nodes++ == 0) arrived.accept(present.user);
  }

  private void leave(String userId, Consumer<User> departed) {
    Present present = users.get(userId);
    if (--present.nodes == 0) {
      users.remove(userId);
      departed.accept(present.user);
    }
  }
}
