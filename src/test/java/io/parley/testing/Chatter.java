package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;

/**
 * A connected user for process-level tests, whose frames a background thread sorts as they come:
 * replies by request id (with the time they arrived), received messages and presence events by
 * room. Sending never blocks on replies.
 */
public final class Chatter implements AutoCloseable {
  /** A reply and when it arrived ({@link System#nanoTime}). */
  public record Reply(JsonNode frame, long at) {}

  public final String user;
  public final WsClient socket;
  private final TestProbe<?> waiter;
  private final Map<String, Reply> replies = new ConcurrentHashMap<>();
  /** Every new_message as received, by room, in order. */
  private final Map<String, List<JsonNode>> messages = new ConcurrentHashMap<>();
  /** Every user_joined / user_left as received, by room, in order. */
  private final Map<String, List<JsonNode>> presence = new ConcurrentHashMap<>();
  private final AtomicBoolean reading = new AtomicBoolean(true);

  public Chatter(String user, URI uri, TestProbe<?> waiter) {
    this.user = user;
    this.waiter = waiter;
    this.socket = WsClient.connected(uri);
    Thread reader = new Thread(this::read, "chatter-" + user);
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    while (reading.get()) {
      JsonNode frame = socket.poll(Duration.ofMillis(100));
      if (frame == null) continue;
      String type = frame.path("type").asText();
      String room = frame.path("room").asText();
      if (type.equals("new_message")) {
        messages.computeIfAbsent(room, r -> new CopyOnWriteArrayList<>()).add(frame);
      } else if (type.equals("user_joined") || type.equals("user_left")) {
        presence.computeIfAbsent(room, r -> new CopyOnWriteArrayList<>()).add(frame);
      } else if (frame.has("id")) {
        replies.put(frame.path("id").asText(), new Reply(frame, System.nanoTime()));
      }
    }
  }

  /** Sends a request frame; false when the socket is gone. */
  public boolean send(String frame) {
    try {
      socket.send(frame);
      return true;
    } catch (RuntimeException closed) {
      return false;
    }
  }

  public void join(String room, Duration within) {
    String id = "join-" + room;
    send("{\"type\":\"join_room\",\"id\":\"" + id + "\",\"payload\":{\"room_id\":\"" + room + "\"}}");
    assertThat(awaitReply(id, within).path("type").asText()).as("%s joins %s", user, room).isEqualTo("room_info");
  }

  /** Sends {@code content} to {@code room} as request {@code id}. */
  public boolean post(String room, String id, String content) {
    return send("{\"type\":\"send_message\",\"room\":\"" + room + "\",\"id\":\"" + id
        + "\",\"payload\":{\"content\":\"" + content + "\"}}");
  }

  public Reply reply(String id) {
    return replies.get(id);
  }

  /** The replies to requests whose id starts with {@code prefix}. */
  public List<JsonNode> replies(String prefix) {
    return replies.entrySet().stream().filter(reply -> reply.getKey().startsWith(prefix))
        .map(reply -> reply.getValue().frame()).toList();
  }

  public JsonNode awaitReply(String id, Duration within) {
    return waiter.awaitAssert(within, () -> {
      Reply reply = replies.get(id);
      assertThat(reply).as("%s: reply to %s", user, id).isNotNull();
      return reply.frame();
    });
  }

  public List<JsonNode> messages(String room) {
    return messages.getOrDefault(room, List.of());
  }

  public List<JsonNode> presence(String room) {
    return presence.getOrDefault(room, List.of());
  }

  public boolean hasReceived(String room, Predicate<String> messageId) {
    return messages(room).stream().anyMatch(frame -> messageId.test(frame.path("id").asText()));
  }

  /** Message ids received more than once in a room. */
  public Set<String> duplicates(String room) {
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Set<String> twice = ConcurrentHashMap.newKeySet();
    for (JsonNode frame : messages(room)) {
      if (!seen.add(frame.path("id").asText())) twice.add(frame.path("id").asText());
    }
    return twice;
  }

  @Override
  public void close() {
    reading.set(false);
    socket.close();
  }
}
