package io.parley.room;

import io.parley.protocol.User;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Who is in a room: members by connection, presence by user (a user is present from their first
 * connection in until their last one leaves), and how many members each node hosts. Plain
 * state, owned by one {@link RoomActor}.
 */
final class RoomMembership {
  private static final class Presence {
    final User user;
    int connections;

    Presence(User user) {
      this.user = user;
    }
  }

  private final Map<String, Member> members = new HashMap<>();
  private final Map<String, Presence> users = new LinkedHashMap<>();
  private final Map<ActorRef<NodeFanout.Command>, Integer> nodes = new HashMap<>();

  Member get(String connectionId) {
    return members.get(connectionId);
  }

  boolean contains(String connectionId) {
    return members.containsKey(connectionId);
  }

  boolean isEmpty() {
    return members.isEmpty();
  }

  Collection<Member> members() {
    return members.values();
  }

  boolean isPresent(String userId) {
    return users.containsKey(userId);
  }

  /** The distinct users present, in order of arrival. */
  List<User> users() {
    List<User> list = new ArrayList<>(users.size());
    for (Presence presence : users.values()) list.add(presence.user);
    return list;
  }

  /** The fan-outs of the nodes that host members. */
  Set<ActorRef<NodeFanout.Command>> nodes() {
    return nodes.keySet();
  }

  /** Adds a connection; true when it is its user's first, so the user arrives. */
  boolean add(Member member) {
    members.put(member.connectionId(), member);
    nodes.merge(member.fanout(), 1, Integer::sum);
    Presence presence = users.computeIfAbsent(member.user().id(), id -> new Presence(member.user()));
    return presence.connections++ == 0;
  }

  /**
   * Removes a connection; the removed member, or null when it was not in. {@code departed}
   * tells whether it was its user's last connection.
   */
  Member remove(String connectionId, Departure departed) {
    Member member = members.remove(connectionId);
    if (member == null) return null;
    if (nodes.merge(member.fanout(), -1, Integer::sum) == 0) nodes.remove(member.fanout());
    Presence presence = users.get(member.user().id());
    if (--presence.connections == 0) {
      users.remove(member.user().id());
      departed.user(presence.user);
    }
    return member;
  }

  /** Told the user whose last connection left. */
  @FunctionalInterface
  interface Departure {
    void user(User user);
  }
}
