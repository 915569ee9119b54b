package io.parley.bench.storage;

import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.time.Instant;
import java.util.SplittableRandom;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The load: one generator thread plays every RoomActor (it owns each room's next seq, as the
 * actor would) and hands messages to the candidate without waiting. Latency is from the
 * message's intended send time to the commit, so a stalled store cannot hide its own backlog
 * (no coordinated omission). Only messages sent inside the measured window count.
 */
final class Load {
    record Result(double storedPerSec, long failed, long lost, double p50Ms, double p99Ms, double maxMs,
                  double cpuMicrosPerMessage) {}

    /** The rooms of one scenario: names and each one's newest seq. */
    static final class Rooms {
        final String[] names;
        final long[] seq;

        Rooms(Candidate c, String prefix, int n) throws Exception {
            names = new String[n];
            seq = new long[n];
            for (int i = 0; i < n; i++) {
                names[i] = prefix + "-" + i;
                seq[i] = c.openRoom(names[i]);
            }
        }
    }

    private final Candidate candidate;
    private final Rooms rooms;
    private final double keyedFraction;
    private final Instant createdAt;
    private final SplittableRandom random = new SplittableRandom(42);
    private final Histogram latency = new ConcurrentHistogram(3);
    private final LongAdder ok = new LongAdder();
    private final LongAdder stored = new LongAdder();
    private final Cpu cpu;
    private final long cpuStart;
    private final LongAdder failed = new LongAdder();
    private final LongAdder outstanding = new LongAdder();
    private long windowStart;
    private long windowEnd;

    /** {@code createdAt}: the messages' timestamp (null: now), to fill old messages for retention. */
    Load(Candidate candidate, Cpu cpu, Rooms rooms, double keyedFraction, Instant createdAt) {
        this.candidate = candidate;
        this.cpu = cpu;
        candidate.resetStats();
        this.cpuStart = cpu.nanos();
        this.rooms = rooms;
        this.keyedFraction = keyedFraction;
        this.createdAt = createdAt;
    }

    /** Offers {@code rate} messages/s for warm-up + measured seconds. */
    Result open(double rate, double warmupSec, double seconds) throws InterruptedException {
        long period = (long) (1e9 / rate);
        long start = System.nanoTime();
        windowStart = start + (long) (warmupSec * 1e9);
        windowEnd = windowStart + (long) (seconds * 1e9);
        long intended = start;
        while (intended < windowEnd) {
            long now = System.nanoTime();
            if (intended > now) {
                LockSupport.parkNanos(intended - now);
                continue;
            }
            send(intended, null);
            intended += period;
        }
        return finish(seconds);
    }

    /** Keeps {@code inFlight} messages outstanding: the most the candidate can store. */
    Result closed(int inFlight, double warmupSec, double seconds) throws InterruptedException {
        Semaphore permits = new Semaphore(inFlight);
        long start = System.nanoTime();
        windowStart = start + (long) (warmupSec * 1e9);
        windowEnd = windowStart + (long) (seconds * 1e9);
        while (System.nanoTime() < windowEnd) {
            if (permits.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                send(System.nanoTime(), permits);
            }
        }
        return finish(seconds);
    }

    /** Fills the rooms with {@code perRoom} messages each, as fast as the candidate takes them. */
    void fill(int perRoom, int inFlight) throws InterruptedException {
        Semaphore permits = new Semaphore(inFlight);
        windowStart = Long.MAX_VALUE;
        windowEnd = Long.MAX_VALUE;
        for (int k = 0; k < perRoom; k++) {
            for (int r = 0; r < rooms.names.length; r++) {
                permits.acquire();
                sendTo(r, System.nanoTime(), permits);
            }
        }
        permits.acquire(inFlight);
    }

    private void send(long intended, Semaphore permits) {
        sendTo(random.nextInt(rooms.names.length), intended, permits);
    }

    private void sendTo(int r, long intended, Semaphore permits) {
        long seq = ++rooms.seq[r];
        String key = keyedFraction > 0 && random.nextDouble() < keyedFraction ? "k-" + seq + "-" + random.nextLong() : null;
        Msg m = Msg.sample(rooms.names[r], seq, key);
        if (createdAt != null) {
            m = new Msg(m.roomId(), m.seq(), m.messageId(), m.senderId(), m.senderName(), m.payload(), createdAt, key);
        }
        boolean measured = intended >= windowStart;
        outstanding.increment();
        candidate.append(m).whenComplete((v, e) -> {
            long now = System.nanoTime();
            if (e == null) {
                stored.increment();
                if (measured) {
                    latency.recordValue(Math.max(0, (now - intended) / 1_000));
                }
                if (now >= windowStart && now < windowEnd) {
                    ok.increment();
                }
            } else if (measured) {
                failed.increment();
            }
            outstanding.decrement();
            if (permits != null) {
                permits.release();
            }
        });
    }

    private Result finish(double seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (outstanding.sum() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return new Result(ok.sum() / seconds, failed.sum(), outstanding.sum(),
                latency.getValueAtPercentile(50) / 1000.0, latency.getValueAtPercentile(99) / 1000.0,
                latency.getMaxValue() / 1000.0, (cpu.nanos() - cpuStart) / 1000.0 / Math.max(1, stored.sum()));
    }
}
