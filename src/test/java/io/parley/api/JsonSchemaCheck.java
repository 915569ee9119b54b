package io.parley.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Checks a JSON value against a schema of an OpenAPI 3.1 document, for the keywords that
 * docs/api.yaml uses: {@code $ref} (to {@code #/components/schemas/...}), {@code type},
 * {@code const}, {@code enum}, {@code required}, {@code properties}, {@code items}, {@code oneOf},
 * and the bounds of strings, numbers and arrays. A keyword it does not know is a problem too, so
 * that the document cannot say more than this check reads.
 */
final class JsonSchemaCheck {
  private static final List<String> KNOWN = List.of("$ref", "type", "const", "enum", "required", "properties",
      "items", "oneOf", "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "pattern",
      "description", "default", "format");

  private final JsonNode document;

  JsonSchemaCheck(JsonNode document) {
    this.document = document;
  }

  /** What is wrong with {@code value} against {@code schema}; empty when it conforms. */
  List<String> problems(JsonNode value, JsonNode schema) {
    List<String> problems = new ArrayList<>();
    check(value, schema, "$", problems);
    return problems;
  }

  private void check(JsonNode value, JsonNode schema, String at, List<String> problems) {
    for (Iterator<String> keys = schema.fieldNames(); keys.hasNext(); ) {
      String key = keys.next();
      if (!KNOWN.contains(key)) problems.add(at + ": the schema uses '" + key + "', which this check does not read");
    }
    if (schema.has("$ref")) {
      check(value, resolve(schema.get("$ref").textValue()), at, problems);
      return;
    }
    if (schema.has("type") && !hasType(value, schema.get("type").textValue())) {
      problems.add(at + ": " + value + " is not of type " + schema.get("type").textValue());
      return;
    }
    if (schema.has("const") && !schema.get("const").equals(value)) problems.add(at + ": must be " + schema.get("const"));
    if (schema.has("enum")) {
      boolean listed = false;
      for (JsonNode option : schema.get("enum")) listed |= option.equals(value);
      if (!listed) problems.add(at + ": " + value + " is not one of " + schema.get("enum"));
    }
    if (value.isTextual()) checkString(value.textValue(), schema, at, problems);
    if (value.isNumber()) {
      if (schema.has("minimum") && value.decimalValue().compareTo(schema.get("minimum").decimalValue()) < 0
          || schema.has("maximum") && value.decimalValue().compareTo(schema.get("maximum").decimalValue()) > 0) {
        problems.add(at + ": " + value + " is out of range");
      }
    }
    if (value.isArray()) {
      if (schema.has("minItems") && value.size() < schema.get("minItems").intValue()
          || schema.has("maxItems") && value.size() > schema.get("maxItems").intValue()) {
        problems.add(at + ": " + value.size() + " items is out of range");
      }
      if (schema.has("items")) {
        for (int i = 0; i < value.size(); i++) check(value.get(i), schema.get("items"), at + "[" + i + "]", problems);
      }
    }
    if (value.isObject()) {
      if (schema.has("required")) {
        for (JsonNode name : schema.get("required")) {
          if (!value.has(name.textValue())) problems.add(at + ": '" + name.textValue() + "' is missing");
        }
      }
      if (schema.has("properties")) {
        for (Iterator<Map.Entry<String, JsonNode>> it = schema.get("properties").fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> property = it.next();
          if (value.has(property.getKey())) {
            check(value.get(property.getKey()), property.getValue(), at + "." + property.getKey(), problems);
          }
        }
      }
    }
    if (schema.has("oneOf")) {
      int matching = 0;
      for (JsonNode option : schema.get("oneOf")) if (problems(value, option).isEmpty()) matching++;
      if (matching != 1) problems.add(at + ": matches " + matching + " of the oneOf schemas, not exactly one");
    }
  }

  private static void checkString(String value, JsonNode schema, String at, List<String> problems) {
    if (schema.has("minLength") && value.length() < schema.get("minLength").intValue()
        || schema.has("maxLength") && value.length() > schema.get("maxLength").intValue()) {
      problems.add(at + ": '" + value + "' has a length out of range");
    }
    if (schema.has("pattern") && !Pattern.compile(schema.get("pattern").textValue()).matcher(value).find()) {
      problems.add(at + ": '" + value + "' does not match " + schema.get("pattern").textValue());
    }
  }

  private static boolean hasType(JsonNode value, String type) {
    return switch (type) {
      case "object" -> value.isObject();
      case "array" -> value.isArray();
      case "string" -> value.isTextual();
      case "integer" -> value.isIntegralNumber();
      case "number" -> value.isNumber();
      case "boolean" -> value.isBoolean();
      case "null" -> value.isNull();
      default -> false;
    };
  }

  /** A local reference, such as {@code #/components/schemas/Error}. */
  JsonNode resolve(String ref) {
    JsonNode target = document.at(ref.substring(1));
    if (target.isMissingNode()) throw new AssertionError("dangling $ref " + ref);
    return target;
  }
}
