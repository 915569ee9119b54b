package io.parley.ws;

/**
 * How a WebSocket ended: the close code that was sent or received ({@link CloseCodes#ABNORMAL}
 * when the TCP connection just ended) and whether this server started the close.
 */
public record CloseReason(int code, String reason, boolean byServer) {}
