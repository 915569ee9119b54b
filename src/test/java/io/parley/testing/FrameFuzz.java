package io.parley.testing;

import io.parley.protocol.ClientRequest;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.RequestId;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded generator of client frames for fuzzing (the same seed gives the same frames). Each
 * {@link Case} says what the frame must decode to when the generator knows it:
 *
 * <ul>
 *   <li>{@code valid}: a well-formed request of every type, with random ids, rooms, contents,
 *       unicode edge cases, escapes, whitespace, key order and ignored extra fields (deep but
 *       allowed nesting, huge numbers); {@link Case#expected} is the request;
 *   <li>{@code defect}: a valid request with exactly one defect (wrong JSON type of a field, bad id,
 *       unknown type, bad or missing room, bad payload, not an object, trailing text, nesting too
 *       deep, a number too long); {@link Case#code} is the error code docs/protocol.md assigns;
 *   <li>{@code mutated}: either of those, mutated character by character (deleted, inserted,
 *       replaced, duplicated ranges; JSON punctuation and escapes); nothing is known, only
 *       invariants apply.
 * </ul>
 *
 * {@link #mutateBytes} mutates UTF-8 bytes for the socket, which may make them invalid UTF-8.
 */
public final class FrameFuzz {
  /** {@code expected} for valid frames, {@code code} for single-defect frames; else both null. */
  public record Case(String kind, String text, ClientRequest expected, ErrorCode code) {}

  private static final String ROOM_CHARS =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-";
  private static final String[] KNOWN_TYPES =
      {"join_room", "leave_room", "send_message", "typing", "stop_typing", "online_users", "ping"};
  /** Characters worth more than their share: escapes, invisible, direction, specials, BOM. */
  private static final int[] SPECIAL_CODE_POINTS = {
      0x0000, 0x0001, 0x0008, 0x0009, 0x000A, 0x000D, 0x001F, 0x0022, 0x005C, 0x002F, 0x007F,
      0x0080, 0x00A0, 0x00AD, 0x00E9, 0x0301, 0x200B, 0x200D, 0x200E, 0x202E, 0x2028, 0x2029,
      0x2060, 0xFEFF, 0xFFFD, 0xFFFE, 0xFFFF, 0xE000, 0x1F600, 0x1F468, 0x10FFFF, 0x4E2D, 0x0645};
  private static final String[] JSON_NOISE = {
      "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud800", "\\udc00", "null", "true", "-",
      "0", "1e999", "NaN", "/*", "//", "\u0000", "\uFEFF", " ", "\n"};

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final SplittableRandom random;

  public FrameFuzz(long seed) {
    this.random = new SplittableRandom(seed);
  }

  public Case next() {
    int dice = random.nextInt(100);
    if (dice < 40) return valid();
    if (dice < 70) return defect();
    Case base = random.nextBoolean() ? valid() : defect();
    return new Case("mutated", mutate(base.text()), null, null);
  }

  // ---- valid requests -----------------------------------------------------------------------------

  /** A JSON object under construction: fields in random order, random whitespace. */
  private final class Obj {
    final List<String[]> fields = new ArrayList<>();

    Obj put(String key, String jsonValue) {
      fields.add(new String[] {key, jsonValue});
      return this;
    }

    String render() {
      for (int i = fields.size() - 1; i > 0; i--) Collections.swap(fields, i, random.nextInt(i + 1));
      StringBuilder out = new StringBuilder(space()).append('{');
      for (int i = 0; i < fields.size(); i++) {
        if (i > 0) out.append(space()).append(',');
        out.append(space()).append(str(fields.get(i)[0])).append(space()).append(':')
            .append(space()).append(fields.get(i)[1]);
      }
      return out.append(space()).append('}').append(space()).toString();
    }
  }

  private String space() {
    return switch (random.nextInt(12)) {
      case 0 -> " ";
      case 1 -> "\n";
      case 2 -> "\t ";
      case 3 -> "\r\n  ";
      default -> "";
    };
  }

  /** A JSON string literal for {@code value}, escaping a random share of characters. */
  public String str(String value) {
    StringBuilder out = new StringBuilder("\"");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20 || random.nextInt(12) == 0) {
        out.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 0xF]).append(HEX[(c >> 4) & 0xF])
            .append(HEX[c & 0xF]);
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  private String validRoom() {
    int length = random.nextInt(10) == 0 ? 64 : 1 + random.nextInt(random.nextBoolean() ? 8 : 64);
    StringBuilder room = new StringBuilder();
    for (int i = 0; i < length; i++) room.append(ROOM_CHARS.charAt(random.nextInt(ROOM_CHARS.length())));
    return room.toString();
  }

  /** Unicode with edge cases: pairs, combining marks, invisible and direction marks, controls. */
  private String text(int maxLength) {
    int length = 1 + random.nextInt(Math.max(1, maxLength));
    StringBuilder text = new StringBuilder();
    while (text.length() < length) {
      int dice = random.nextInt(10);
      if (dice < 5) text.append((char) (0x20 + random.nextInt(0x5F)));
      else if (dice < 7) text.appendCodePoint(SPECIAL_CODE_POINTS[random.nextInt(SPECIAL_CODE_POINTS.length)]);
      else if (dice < 9) text.appendCodePoint(randomScalar());
      else text.append(ROOM_CHARS.charAt(random.nextInt(ROOM_CHARS.length())));
    }
    return text.toString();
  }

  /** Any Unicode scalar value (no surrogate code points). */
  private int randomScalar() {
    while (true) {
      int cp = random.nextInt(random.nextBoolean() ? 0x800 : 0x110000);
      if (cp < 0xD800 || cp > 0xDFFF) return cp;
    }
  }

  /** A valid id as JSON, and the request id it must decode to (null: no id). */
  private String[] validId() {
    return switch (random.nextInt(5)) {
      case 0 -> null;
      case 1 -> new String[] {"null", null};
      case 2 -> {
        long n = switch (random.nextInt(4)) {
          case 0 -> Long.MAX_VALUE;
          case 1 -> Long.MIN_VALUE;
          case 2 -> random.nextInt(1000);
          default -> random.nextLong();
        };
        yield new String[] {Long.toString(n), Long.toString(n)};
      }
      default -> {
        String id = random.nextInt(8) == 0 ? "i".repeat(128) : text(random.nextInt(3) == 0 ? 128 : 12);
        while (id.length() > 128) id = id.substring(0, id.length() - 1);
        if (Character.isHighSurrogate(id.charAt(id.length() - 1))) id = id.substring(0, id.length() - 1) + "x";
        yield new String[] {str(id), jsonString(id)};
      }
    };
  }

  /** The canonical JSON of a string, for expected ids (compared as JSON, not as text). */
  private static String jsonString(String value) {
    return com.fasterxml.jackson.databind.node.TextNode.valueOf(value).toString();
  }

  /** Ignored extra fields: envelope fields a client may not set, unknown keys, odd values. */
  private void extras(Obj obj) {
    int count = random.nextInt(4) == 0 ? 1 + random.nextInt(3) : 0;
    for (int i = 0; i < count; i++) {
      String key = switch (random.nextInt(5)) {
        case 0 -> "sender";
        case 1 -> "timestamp";
        case 2 -> "seq";
        default -> text(8);
      };
      if (key.equals("type") || key.equals("id") || key.equals("room") || key.equals("payload")) key = "x" + key;
      obj.put(key, anyJson(0));
    }
  }

  /** Any JSON value, nested at most ~8 deep from {@code depth}; numbers huge or odd. */
  private String anyJson(int depth) {
    int dice = random.nextInt(depth > 6 ? 6 : 9);
    return switch (dice) {
      case 0 -> "null";
      case 1 -> random.nextBoolean() ? "true" : "false";
      case 2 -> hugeNumber(400);
      case 3 -> Long.toString(random.nextLong());
      case 4 -> random.nextInt(1000) + "." + random.nextInt(1_000_000) + "e" + (random.nextInt(700) - 350);
      case 5 -> str(text(40));
      case 6 -> {
        Obj obj = new Obj();
        for (int i = random.nextInt(3); i > 0; i--) obj.put(text(6), anyJson(depth + 1));
        yield obj.render();
      }
      default -> {
        StringBuilder array = new StringBuilder("[");
        for (int i = random.nextInt(3); i > 0; i--) array.append(anyJson(depth + 1)).append(i > 1 ? "," : "");
        yield array.append(']').toString();
      }
    };
  }

  private String hugeNumber(int maxDigits) {
    StringBuilder number = new StringBuilder(random.nextBoolean() ? "-" : "");
    number.append(1 + random.nextInt(9));
    for (int i = random.nextInt(maxDigits); i > 0; i--) number.append(random.nextInt(10));
    if (random.nextBoolean()) number.append('.').append(random.nextInt(1000));
    if (random.nextBoolean()) number.append('e').append(random.nextInt(2) == 0 ? "-" : "+").append(random.nextInt(99999));
    return number.toString();
  }

  private String nested(int depth) {
    String inner = "0";
    for (int i = 0; i < depth; i++) inner = random.nextBoolean() ? "[" + inner + "]" : "{\"n\":" + inner + "}";
    return inner;
  }

  public Case valid() {
    Obj obj = new Obj();
    String[] id = validId();
    if (id != null) obj.put("id", id[0]);
    RequestId requestId = id == null || id[1] == null ? null : new RequestId(id[1]);
    String type = KNOWN_TYPES[random.nextInt(KNOWN_TYPES.length)];
    obj.put("type", str(type));
    extras(obj);
    if (random.nextInt(8) == 0) obj.put("deep", nested(1 + random.nextInt(20)));
    String room = validRoom();
    ClientRequest expected;
    switch (type) {
      case "join_room", "leave_room" -> {
        if (random.nextBoolean()) obj.put("room", random.nextBoolean() ? "\"\"" : "null");
        obj.put("payload", new Obj().put("room_id", str(room)).render());
        expected = type.equals("join_room")
            ? new ClientRequest.JoinRoom(requestId, room) : new ClientRequest.LeaveRoom(requestId, room);
      }
      case "send_message" -> {
        String content = text(random.nextInt(5) == 0 ? 1500 : 60);
        Obj payload = new Obj().put("content", str(content));
        String replyTo = null;
        if (random.nextInt(3) == 0) {
          replyTo = random.nextBoolean() ? text(20) : null;
          payload.put("reply_to", replyTo == null ? "null" : str(replyTo));
        }
        obj.put("room", str(room)).put("payload", payload.render());
        expected = new ClientRequest.SendMessage(requestId, room, content, replyTo);
      }
      case "typing", "stop_typing" -> {
        if (random.nextBoolean()) obj.put("room", str(room));
        else obj.put("payload", new Obj().put("room_id", str(room)).render());
        expected = new ClientRequest.Typing(requestId, room, type.equals("typing"));
      }
      case "online_users" -> {
        obj.put("room", str(room));
        expected = new ClientRequest.OnlineUsers(requestId, room);
      }
      default -> {
        if (random.nextBoolean()) obj.put("payload", random.nextBoolean() ? "{}" : "null");
        expected = new ClientRequest.Ping(requestId);
      }
    }
    return new Case("valid", obj.render(), expected, null);
  }

  // ---- one defect -------------------------------------------------------------------------------

  private String wrongJsonType(boolean allowString) {
    return switch (random.nextInt(allowString ? 6 : 5)) {
      case 0 -> hugeNumber(30);
      case 1 -> "true";
      case 2 -> "[" + str(validRoom()) + "]";
      case 3 -> "{\"room_id\":" + str(validRoom()) + "}";
      case 4 -> "-0.0";
      default -> str(text(10));
    };
  }

  public Case defect() {
    Case valid = valid();
    String type = KNOWN_TYPES[random.nextInt(KNOWN_TYPES.length)];
    String room = validRoom();
    return switch (random.nextInt(16)) {
      case 0 -> new Case("defect", new Obj().put("type", str(type)).put("id", switch (random.nextInt(6)) {
        case 0 -> "1.5";
        case 1 -> "false";
        case 2 -> "{\"id\":1}";
        case 3 -> str("i".repeat(129 + random.nextInt(50)));
        case 4 -> "\"a\\ud800\"";
        default -> "9" + "0".repeat(19 + random.nextInt(30));
      }).render(), null, ErrorCode.INVALID_FORMAT);
      case 1 -> new Case("defect", random.nextBoolean()
          ? new Obj().put("id", "1").put("room", str(room)).render()
          : new Obj().put("type", random.nextBoolean() ? "\"\"" : wrongJsonType(false)).render(),
          null, ErrorCode.INVALID_FORMAT);
      case 2 -> {
        String unknown = switch (random.nextInt(4)) {
          case 0 -> type.toUpperCase();
          case 1 -> type + " ";
          case 2 -> "\u200B" + type;
          default -> text(20);
        };
        boolean known = false;
        for (String t : KNOWN_TYPES) known |= t.equals(unknown);
        yield new Case("defect", new Obj().put("type", str(known ? unknown + "!" : unknown)).render(),
            null, ErrorCode.UNKNOWN_TYPE);
      }
      case 3 -> new Case("defect", new Obj().put("type", str(type)).put("room", wrongJsonType(false))
          .render(), null, ErrorCode.INVALID_ROOM);
      case 4 -> new Case("defect", new Obj().put("type", str(type)).put("payload", switch (random.nextInt(5)) {
        case 0 -> str("{\"content\":\"x\"}"); // a payload sent as a JSON-encoded string, as Go hub format clients may
        case 1 -> "[" + str(room) + "]";
        case 2 -> hugeNumber(20);
        case 3 -> "false";
        default -> str(text(10));
      }).render(), null, ErrorCode.INVALID_PAYLOAD);
      case 5 -> {
        String t = random.nextBoolean() ? "join_room" : "leave_room";
        Obj payload = new Obj();
        switch (random.nextInt(3)) {
          case 0 -> { }
          case 1 -> payload.put("room_id", "\"\"");
          default -> payload.put("room_id", wrongJsonType(false));
        }
        Obj obj = new Obj().put("type", str(t));
        if (random.nextBoolean()) obj.put("payload", payload.render());
        yield new Case("defect", obj.render(), null, ErrorCode.INVALID_PAYLOAD);
      }
      case 6 -> new Case("defect", new Obj().put("type", str(random.nextBoolean() ? "join_room" : "leave_room"))
          .put("payload", new Obj().put("room_id", str(invalidRoom())).render()).render(), null, ErrorCode.INVALID_ROOM);
      case 7 -> {
        String t = random.nextBoolean() ? "send_message" : "online_users";
        Obj obj = new Obj().put("type", str(t)).put("payload", "{\"content\":\"x\",\"room_id\":" + str(room) + "}");
        if (random.nextBoolean()) obj.put("room", random.nextBoolean() ? "\"\"" : "null");
        yield new Case("defect", obj.render(), null, ErrorCode.MISSING_ROOM);
      }
      case 8 -> new Case("defect", new Obj().put("type", str(random.nextBoolean() ? "typing" : "stop_typing"))
          .put("payload", random.nextBoolean() ? "{}" : "{\"room_id\":\"\"}").render(), null, ErrorCode.MISSING_ROOM);
      case 9 -> new Case("defect", new Obj().put("type", str("send_message")).put("room", str(room))
          .put("payload", switch (random.nextInt(4)) {
            case 0 -> "{}";
            case 1 -> "{\"content\":\"\"}";
            case 2 -> "{\"content\":" + wrongJsonType(false) + "}";
            default -> "{\"content\":\"hi\",\"reply_to\":" + wrongJsonType(false) + "}";
          }).render(), null, ErrorCode.INVALID_PAYLOAD);
      case 10 -> new Case("defect", new Obj().put("type", str(type.equals("ping") || type.startsWith("join")
              || type.startsWith("leave") ? "send_message" : type))
          .put("room", str(invalidRoom())).put("payload", "{\"content\":\"x\"}").render(), null, ErrorCode.INVALID_ROOM);
      case 11 -> new Case("defect", switch (random.nextInt(5)) {
        case 0 -> "[" + valid.text() + "]";
        case 1 -> str(valid.text());
        case 2 -> hugeNumber(50);
        case 3 -> random.nextBoolean() ? "null" : "";
        default -> space() + "true";
      }, null, ErrorCode.INVALID_FORMAT);
      case 12 -> new Case("defect", valid.text() + (random.nextBoolean() ? valid.text() : " x"), null,
          ErrorCode.INVALID_FORMAT);
      case 13 -> new Case("defect", valid.text().replaceFirst("\\{", "{\"deep\":" + nested(40 + random.nextInt(300)) + ","),
          null, ErrorCode.INVALID_FORMAT);
      case 14 -> new Case("defect", valid.text().replaceFirst("\\{", "{\"n\":" + "7".repeat(1001 + random.nextInt(500)) + ","),
          null, ErrorCode.INVALID_FORMAT);
      default -> new Case("defect", valid.text().substring(0, random.nextInt(Math.max(1, valid.text().trim().length() - 1))),
          null, ErrorCode.INVALID_FORMAT);
    };
  }

  private String invalidRoom() {
    return switch (random.nextInt(4)) {
      case 0 -> validRoom() + "x".repeat(65);
      case 1 -> "a b";
      case 2 -> validRoom() + text(3).replaceAll("[A-Za-z0-9_.:-]", "/") + "/";
      default -> "room\u00e9";
    };
  }

  // ---- mutations ------------------------------------------------------------------------------------

  public String mutate(String text) {
    StringBuilder out = new StringBuilder(text);
    for (int n = 1 + random.nextInt(4); n > 0; n--) {
      int at = out.length() == 0 ? 0 : random.nextInt(out.length() + 1);
      switch (random.nextInt(6)) {
        case 0 -> { if (at < out.length()) out.delete(at, Math.min(out.length(), at + 1 + random.nextInt(8))); }
        case 1 -> out.insert(at, JSON_NOISE[random.nextInt(JSON_NOISE.length)]);
        case 2 -> { if (at < out.length()) out.setCharAt(at, (char) random.nextInt(0x10000)); }
        case 3 -> {
          int end = Math.min(out.length(), at + 1 + random.nextInt(40));
          out.insert(at, out.substring(at, end));
        }
        case 4 -> out.setLength(at);
        default -> out.insert(at, new String(Character.toChars(randomScalar())));
      }
    }
    return out.toString();
  }

  /** Byte-level mutations of a frame's UTF-8: invalid sequences, truncations, flips. */
  public byte[] mutateBytes(byte[] utf8) {
    List<Byte> bytes = new ArrayList<>(utf8.length + 8);
    for (byte b : utf8) bytes.add(b);
    byte[][] invalid = {
        {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xE0, (byte) 0x80, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
        {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xFF}, {(byte) 0xFE}, {(byte) 0x80},
        {(byte) 0xC3}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xF0, (byte) 0x9F, (byte) 0x98}};
    for (int n = 1 + random.nextInt(3); n > 0; n--) {
      int at = bytes.isEmpty() ? 0 : random.nextInt(bytes.size() + 1);
      switch (random.nextInt(4)) {
        case 0 -> { for (byte b : invalid[random.nextInt(invalid.length)]) bytes.add(at++, b); }
        case 1 -> { if (at < bytes.size()) bytes.set(at, (byte) (bytes.get(at) ^ (1 << random.nextInt(8)))); }
        case 2 -> { if (at < bytes.size()) bytes.remove(at); }
        default -> bytes.add(at, (byte) random.nextInt(256));
      }
    }
    byte[] out = new byte[bytes.size()];
    for (int i = 0; i < out.length; i++) out[i] = bytes.get(i);
    return out;
  }

  /**
   * The fuzz seed: {@code -Dparley.fuzz.seed=<n>}, or {@code random} for a fresh one; a fixed
   * default, so that a build fails or passes the same way every time.
   */
  public static long seed() {
    String configured = System.getProperty("parley.fuzz.seed", "20261126");
    return configured.equals("random") ? System.nanoTime() : Long.parseLong(configured);
  }

  /** A frame in printable ASCII for reports (consoles mangle the rest), cut at 600 chars. */
  public static String printable(String text) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < Math.min(600, text.length()); i++) {
      char c = text.charAt(i);
      if (c >= 0x20 && c < 0x7F) out.append(c);
      else out.append(String.format("<U+%04X>", (int) c));
    }
    return text.length() <= 600 ? out.toString() : out + "... (" + text.length() + " chars)";
  }

  public SplittableRandom random() {
    return random;
  }

  public static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
