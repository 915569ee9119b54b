package io.parley.app;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Optional;

/**
 * The two sockets a node listens on: HTTP and the cluster's (Artery). A socket that cannot be
 * bound (its port taken, its address not this machine's) stops the start with one line that
 * names it and the variable that moves it.
 */
final class Listeners {
  private Listeners() {}

  /** One listening socket; {@code moveWith} names the variables that change it. */
  record Listener(String what, String host, int port, String moveWith) {
    String address() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    StartFailure cannotBind(String why, Throwable cause) {
      return new StartFailure(
          "cannot listen for " + what + " on " + address() + ": " + why + "; set " + moveWith + " to move it", cause);
    }
  }

  static Listener http(ParleySettings settings) {
    return new Listener("HTTP", settings.http().host(), settings.http().port(),
        "PARLEY_HTTP_PORT (or PARLEY_HTTP_HOST)");
  }

  /** Artery listens on its bind address, which defaults to the canonical one. */
  static Listener cluster(Config config) {
    Config artery = config.getConfig("pekko.remote.artery");
    String bindHost = artery.getString("bind.hostname");
    String bindPort = artery.getString("bind.port");
    return new Listener("the cluster (Artery)",
        bindHost.isEmpty() ? artery.getString("canonical.hostname") : bindHost,
        bindPort.isEmpty() ? artery.getInt("canonical.port") : Integer.parseInt(bindPort),
        bindPort.isEmpty() ? "PARLEY_CLUSTER_PORT" : "PARLEY_CLUSTER_BIND_PORT");
  }

  /**
   * Binds each fixed port once and lets it go, so that a taken port stops the node before it
   * starts anything (joining a cluster only to leave it again). A port taken between this check
   * and the real bind is still reported, by {@link #explain}.
   */
  static void checkFree(List<Listener> listeners) {
    for (Listener listener : listeners) {
      if (listener.port() == 0) continue;
      InetSocketAddress address = new InetSocketAddress(listener.host(), listener.port());
      if (address.isUnresolved()) throw listener.cannotBind("unknown host", null);
      try (ServerSocket probe = new ServerSocket()) {
        probe.setReuseAddress(true);
        probe.bind(address);
      } catch (IOException e) {
        throw listener.cannotBind(why(e), e);
      }
    }
  }

  /** A StartFailure for a failed start whose cause is a bind failure of this listener. */
  static Optional<StartFailure> explain(Throwable failure, Listener listener) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof BindException bind) return Optional.of(listener.cannotBind(why(bind), failure));
    }
    return Optional.empty();
  }

  /** "Address already in use", without the "[/127.0.0.1:8080] " that Pekko puts before it. */
  private static String why(IOException e) {
    String message = String.valueOf(e.getMessage());
    return message.startsWith("[") && message.contains("] ")
        ? message.substring(message.indexOf("] ") + 2)
        : message;
  }
}
