package io.parley.history;

/** The room log could not do what was asked: the store is unreachable, full, or refused it. */
public final class StoreException extends RuntimeException {
  public StoreException(String message, Throwable cause) {
    super(message, cause, false, false);
  }
}
