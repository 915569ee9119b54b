package io.parley.metrics;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Keeps the cluster gauges current: members by status and the room shards this node hosts, read
 * every {@link #INTERVAL} (the shard count needs a question to the local shard region).
 */
public final class ClusterGauges {
  static final Duration INTERVAL = Duration.ofSeconds(5);

  private ClusterGauges() {}

  private enum Tick { INSTANCE }

  /** @param rooms the entity type whose shards on this node are counted */
  public static Behavior<Object> create(EntityTypeKey<?> rooms) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ParleyMetrics metrics = ParleyMetrics.get(ctx.getSystem());
      Cluster cluster = Cluster.get(ctx.getSystem());
      ActorRef<ShardRegion.CurrentShardRegionState> shardState =
          ctx.messageAdapter(ShardRegion.CurrentShardRegionState.class, state -> state);
      timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ZERO, INTERVAL);
      return Behaviors.receive(Object.class)
          .onMessageEquals(Tick.INSTANCE, () -> {
            Map<String, Integer> byStatus = new HashMap<>();
            for (Member member : cluster.state().getMembers()) {
              byStatus.merge(member.status().toString().toLowerCase(), 1, Integer::sum);
            }
            metrics.clusterMembers(byStatus);
            ClusterSharding.get(ctx.getSystem()).shardState()
                .tell(new GetShardRegionState(rooms, shardState));
            return Behaviors.same();
          })
          .onMessage(ShardRegion.CurrentShardRegionState.class, state -> {
            metrics.shards.set(state.getShards().size());
            return Behaviors.same();
          })
          .build();
    }));
  }
}
