package io.parley.online;

import java.util.HashMap;
import java.util.Map;

/** Every user online anywhere, with the number of nodes they are on: a user counts once. */
final class OnlineUsers {
  private final Map<String, Integer> nodesOfUser = new HashMap<>();

  /** The user is now on one more node. */
  void arrived(String user) {
    nodesOfUser.merge(user, 1, Integer::sum);
  }

  /** The user is on one node fewer. */
  void left(String user) {
    nodesOfUser.computeIfPresent(user, (u, nodes) -> nodes == 1 ? null : nodes - 1);
  }

  /** Distinct users. */
  int count() {
    return nodesOfUser.size();
  }
}
