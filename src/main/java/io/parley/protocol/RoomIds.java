package io.parley.protocol;

/** Room ids: 1 to 64 characters of {@code A-Z a-z 0-9 _ . : -}. */
public final class RoomIds {
  public static final int MAX_LENGTH = 64;
  /** What an INVALID_ROOM error says. */
  public static final String RULE = "room ids are 1-64 characters of A-Z a-z 0-9 _ . : -";

  private RoomIds() {}

  public static boolean isValid(String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) return false;
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '_' || c == '.' || c == ':' || c == '-';
      if (!ok) return false;
    }
    return true;
  }
}
