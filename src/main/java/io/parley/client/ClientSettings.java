package io.parley.client;

import java.time.Duration;

/** Per-connection limits (docs/protocol.md, "Limits"), read once from {@code parley.limits}. */
public record ClientSettings(
    int roomsPerConnection,
    double ratePerSecond,
    int rateBurst,
    int abuseDiscards,
    Duration abuseWindow,
    int outgoingBuffer,
    int maxConnections,
    int maxConnectionsPerUser) {}
