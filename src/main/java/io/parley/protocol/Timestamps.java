package io.parley.protocol;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** RFC 3339 UTC timestamps with milliseconds, as every server frame carries them. */
public final class Timestamps {
  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private Timestamps() {}

  public static String now() {
    return format(Instant.now());
  }

  public static String format(Instant instant) {
    return FORMAT.format(instant);
  }
}
