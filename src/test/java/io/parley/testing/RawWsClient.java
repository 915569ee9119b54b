package io.parley.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client written against RFC 6455 by hand, for what well-behaved clients never do:
 * unmasked or fragmented frames, bad UTF-8, lying length headers, not answering pings. Also reads
 * refused upgrades as plain HTTP (status, headers, body).
 */
public final class RawWsClient implements AutoCloseable {
  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CONTINUATION = 0x0;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;

  /** An HTTP answer to an upgrade request; {@code client} is set when it was 101. */
  public record Reply(int status, Map<String, String> headers, String body, RawWsClient client) {}

  public record Frame(int opcode, boolean fin, byte[] payload) {
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    public int closeCode() {
      return payload.length < 2 ? 1005 : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  private RawWsClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  /** Sends an upgrade request for {@code pathAndQuery} with extra headers. */
  public static Reply upgrade(int port, String pathAndQuery, Map<String, String> headers)
      throws IOException {
    return upgrade(port, pathAndQuery, headers, 0);
  }

  /**
   * As {@link #upgrade(int, String, Map)}, with the socket's receive buffer set to {@code
   * receiveBuffer} bytes before it connects (0: the system's default), for clients that stop
   * reading.
   */
  public static Reply upgrade(int port, String pathAndQuery, Map<String, String> headers, int receiveBuffer)
      throws IOException {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("Host", "127.0.0.1:" + port);
    all.put("Upgrade", "websocket");
    all.put("Connection", "Upgrade");
    byte[] key = new byte[16];
    ThreadLocalRandom.current().nextBytes(key);
    all.put("Sec-WebSocket-Key", Base64.getEncoder().encodeToString(key));
    all.put("Sec-WebSocket-Version", "13");
    all.putAll(headers);
    return request(port, "GET " + pathAndQuery, all, receiveBuffer);
  }

  /** A plain HTTP request (no upgrade headers unless given). */
  public static Reply request(int port, String methodAndPath, Map<String, String> headers)
      throws IOException {
    return request(port, methodAndPath, headers, 0);
  }

  private static Reply request(int port, String methodAndPath, Map<String, String> headers, int receiveBuffer)
      throws IOException {
    Socket socket = new Socket();
    socket.setTcpNoDelay(true); // a frame's header and payload are separate writes
    if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
    socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), (int) WsClient.WAIT.toMillis());
    socket.setSoTimeout((int) WsClient.WAIT.toMillis());
    StringBuilder request = new StringBuilder(methodAndPath).append(" HTTP/1.1\r\n");
    if (!headers.containsKey("Host")) request.append("Host: 127.0.0.1:").append(port).append("\r\n");
    headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
    request.append("\r\n");
    socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.UTF_8));

    InputStream in = socket.getInputStream();
    String head = readHead(in);
    String[] lines = head.split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> replyHeaders = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      replyHeaders.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
          lines[i].substring(colon + 1).trim());
    }
    if (status == 101) return new Reply(status, replyHeaders, "", new RawWsClient(socket));
    int length = Integer.parseInt(replyHeaders.getOrDefault("content-length", "0"));
    byte[] body = in.readNBytes(length);
    socket.close();
    return new Reply(status, replyHeaders, new String(body, StandardCharsets.UTF_8), null);
  }

  /** An HTTP response's status line and headers, up to the empty line. */
  static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) throw new IOException("connection closed in the response head");
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  public void sendText(String text) throws IOException {
    sendFrame(TEXT, text.getBytes(StandardCharsets.UTF_8), true, true);
  }

  /** One frame; clients must mask, so {@code masked=false} breaks the protocol on purpose. */
  public void sendFrame(int opcode, byte[] payload, boolean fin, boolean masked) throws IOException {
    byte[] mask = sendHeader(opcode, payload.length, fin, masked);
    byte[] body = payload.clone();
    if (masked) for (int i = 0; i < body.length; i++) body[i] ^= mask[i % 4];
    out.write(body);
    out.flush();
  }

  /**
   * Only a frame header announcing {@code length} bytes, with its masking key when masked (which
   * it returns), and no payload.
   */
  public byte[] sendHeader(int opcode, long length, boolean fin, boolean masked) throws IOException {
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    header.write((fin ? 0x80 : 0) | opcode);
    int maskBit = masked ? 0x80 : 0;
    if (length < 126) {
      header.write(maskBit | (int) length);
    } else if (length <= 0xFFFF) {
      header.write(maskBit | 126);
      header.write((int) (length >>> 8));
      header.write((int) length);
    } else {
      header.write(maskBit | 127);
      for (int shift = 56; shift >= 0; shift -= 8) header.write((int) (length >>> shift));
    }
    byte[] mask = new byte[4];
    if (masked) {
      ThreadLocalRandom.current().nextBytes(mask);
      header.write(mask);
    }
    out.write(header.toByteArray());
    out.flush();
    return mask;
  }

  /** The next frame from the server, or null when none arrives within {@code timeout}. */
  public Frame readFrame(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    try {
      int first = in.readUnsignedByte();
      int second = in.readUnsignedByte();
      long length = second & 0x7F;
      if (length == 126) length = in.readUnsignedShort();
      else if (length == 127) length = in.readLong();
      byte[] payload = new byte[(int) length];
      in.readFully(payload);
      return new Frame(first & 0x0F, (first & 0x80) != 0, payload);
    } catch (SocketTimeoutException e) {
      return null;
    }
  }

  /** Reads frames (answering nothing) until the server's close frame; its code, or -1 on EOF. */
  public int awaitCloseCode(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Frame frame;
      try {
        frame = readFrame(Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime())));
      } catch (java.io.EOFException e) {
        return -1;
      }
      if (frame != null && frame.opcode() == CLOSE) return frame.closeCode();
    }
    throw new AssertionError("no close frame within " + timeout);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
