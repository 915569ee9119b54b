package io.parley.bench.storage;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time spent by this JVM plus the PostgreSQL server (the postmaster, its live children and
 * the children it has reaped), in nanoseconds. On a shared machine wall-clock rates move with the
 * neighbours' load; CPU per stored message barely does, so it is reported beside them.
 */
final class Cpu {
    private static final long TICK_NS = 10_000_000L; // CLK_TCK = 100 on Linux

    private final long postmaster;

    /** {@code postmaster}: the PostgreSQL server's pid, or 0 when there is none to count. */
    Cpu(long postmaster) {
        this.postmaster = postmaster;
    }

    long nanos() {
        long jvm = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
        return jvm + (postmaster > 0 ? postgresTicks() * TICK_NS : 0);
    }

    private long postgresTicks() {
        long ticks = 0;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String[] f = stat(p);
                if (f == null) {
                    continue;
                }
                long pid = Long.parseLong(name);
                // fields after "(comm)": [0]=state [1]=ppid ... [11]=utime [12]=stime [13]=cutime [14]=cstime
                if (pid == postmaster) {
                    ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
                } else if (Long.parseLong(f[1]) == postmaster) {
                    ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return ticks;
    }

    private static String[] stat(Path proc) {
        try {
            String s = Files.readString(proc.resolve("stat"));
            return s.substring(s.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null; // the process ended meanwhile
        }
    }
}
