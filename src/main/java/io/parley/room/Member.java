package io.parley.room;

import io.parley.common.CborSerializable;
import io.parley.protocol.User;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * One connection in a room: who it is, the actor to watch for its end, and the fan-out of the
 * node it is connected to, through which every frame for it travels.
 */
public record Member(
    String connectionId, User user, ActorRef<?> client, ActorRef<NodeFanout.Command> fanout)
    implements CborSerializable {}
