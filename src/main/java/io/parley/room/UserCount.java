package io.parley.room;

import io.parley.protocol.User;

/** How many connections a user has in a room on one node. */
public record UserCount(User user, int connections) {}
