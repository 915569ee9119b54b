package io.parley.ws;

import java.time.Duration;

/**
 * The limits of one WebSocket connection (docs/protocol.md, "Limits").
 *
 * @param maxMessageBytes largest text message accepted; larger closes with 1009
 * @param pingInterval how often the server pings
 * @param idleTimeout nothing received for this long closes with 1001
 * @param writeTimeout a write stalled this long aborts the connection
 * @param closeTimeout how long a closing socket waits for the peer's close frame
 */
public record WebSocketSettings(
    int maxMessageBytes,
    Duration pingInterval,
    Duration idleTimeout,
    Duration writeTimeout,
    Duration closeTimeout) {}
