package io.parley.room;

import io.parley.metrics.ParleyMetrics;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The rooms this node hosts, and the node's room cap: every {@link RoomActor} asks to be hosted
 * when it starts and is counted until it stops. A room started beyond the cap is refused. The
 * count is this actor's; the {@code parley_rooms} gauge only shows it.
 */
public final class HostedRooms {
  private HostedRooms() {}

  public sealed interface Command {}

  /** Asks to host {@code room}; answered true (counted from now on) or false (over the cap). */
  public record Host(ActorRef<RoomActor.Command> room, ActorRef<Boolean> replyTo) implements Command {}

  public static Behavior<Command> create(int maxRooms) {
    return Behaviors.setup(ctx -> hosting(ctx, ParleyMetrics.get(ctx.getSystem()), maxRooms, 0));
  }

  private static Behavior<Command> hosting(
      ActorContext<Command> ctx, ParleyMetrics metrics, int maxRooms, int hosted) {
    metrics.rooms.set(hosted);
    return Behaviors.receive(Command.class)
        .onMessage(Host.class, host -> {
          if (hosted >= maxRooms) {
            host.replyTo().tell(false);
            return Behaviors.same();
          }
          ctx.watch(host.room());
          host.replyTo().tell(true);
          return hosting(ctx, metrics, maxRooms, hosted + 1);
        })
        .onSignal(Terminated.class, stopped -> hosting(ctx, metrics, maxRooms, hosted - 1))
        .build();
  }
}
