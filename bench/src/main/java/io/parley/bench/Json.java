package io.parley.bench;

import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;

/** Just enough JSON to write results: records, collections, maps, numbers and strings. */
final class Json {
  private Json() {}

  static String of(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value);
    return sb.toString();
  }

  private static void write(StringBuilder sb, Object v) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof Double d) {
      sb.append(d.isNaN() || d.isInfinite() ? "null" : String.format(Locale.ROOT, "%.6g", d));
    } else if (v instanceof Number || v instanceof Boolean) {
      sb.append(v);
    } else if (v instanceof CharSequence s) {
      sb.append('"');
      s.chars().forEach(c -> {
        if (c == '"' || c == '\\') sb.append('\\').append((char) c);
        else if (c < 0x20) sb.append(String.format("\\u%04x", c));
        else sb.append((char) c);
      });
      sb.append('"');
    } else if (v instanceof Map<?, ?> m) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) sb.append(',');
        first = false;
        write(sb, String.valueOf(e.getKey()));
        sb.append(':');
        write(sb, e.getValue());
      }
      sb.append('}');
    } else if (v instanceof Collection<?> c) {
      sb.append('[');
      boolean first = true;
      for (Object o : c) {
        if (!first) sb.append(',');
        first = false;
        write(sb, o);
      }
      sb.append(']');
    } else if (v.getClass().isRecord()) {
      sb.append('{');
      boolean first = true;
      for (RecordComponent rc : v.getClass().getRecordComponents()) {
        if (!first) sb.append(',');
        first = false;
        write(sb, rc.getName());
        sb.append(':');
        try {
          write(sb, rc.getAccessor().invoke(v));
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException(e);
        }
      }
      sb.append('}');
    } else {
      write(sb, v.toString());
    }
  }
}
