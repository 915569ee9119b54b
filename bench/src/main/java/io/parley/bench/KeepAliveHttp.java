package io.parley.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection for POSTs with a JSON body, blocking, one call at a time: as
 * little client work per call as possible, so that the generator leaves the CPU to the server.
 * Reads each answer whole (its Content-Length), and returns its status.
 */
final class KeepAliveHttp implements AutoCloseable {
  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;
  private final String head;
  private final StringBuilder line = new StringBuilder();

  KeepAliveHttp(InetSocketAddress server, String headers) throws IOException {
    socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.connect(server, 5000);
    socket.setSoTimeout(30_000);
    out = new BufferedOutputStream(socket.getOutputStream(), 4096);
    in = new BufferedInputStream(socket.getInputStream(), 8192);
    head = "Host: " + server.getHostString() + ":" + server.getPort() + "\r\n"
        + "Content-Type: application/json\r\n" + headers;
  }

  /** POSTs {@code body} to {@code path}; returns the HTTP status once the whole answer is read. */
  int post(String path, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    out.write(("POST " + path + " HTTP/1.1\r\n" + head + "Content-Length: " + bytes.length + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.write(bytes);
    out.flush();
    String status = readLine();
    int code = Integer.parseInt(status.substring(9, 12));
    long length = -1;
    for (String header = readLine(); !header.isEmpty(); header = readLine()) {
      if (header.regionMatches(true, 0, "Content-Length:", 0, 15)) length = Long.parseLong(header.substring(15).trim());
    }
    if (length < 0) throw new IOException("no Content-Length in the answer (" + status + ")");
    for (long left = length; left > 0; ) {
      long skipped = in.skip(left);
      if (skipped <= 0) {
        if (in.read() < 0) throw new IOException("connection closed in the body");
        skipped = 1;
      }
      left -= skipped;
    }
    return code;
  }

  private String readLine() throws IOException {
    line.setLength(0);
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) throw new IOException("connection closed");
      if (c != '\r') line.append((char) c);
    }
    return line.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
