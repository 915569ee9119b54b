package io.parley.ws;

/**
 * Fails a connection's outgoing queue to make {@link WebSocketStage} close the socket with this
 * code. Carries no stack trace: it is a signal, not an error.
 */
public final class CloseSignal extends RuntimeException {
  private final int code;

  public CloseSignal(int code, String reason) {
    super(reason, null, false, false);
    this.code = code;
  }

  public int code() {
    return code;
  }

  public String reason() {
    return getMessage();
  }
}
