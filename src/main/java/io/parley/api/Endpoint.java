package io.parley.api;

import java.util.Arrays;
import java.util.Optional;

/** The server API's calls: each is {@code POST /api/<name>}, and its name labels its metrics. */
enum Endpoint {
  PUBLISH("publish"),
  BROADCAST("broadcast"),
  HISTORY("history"),
  PRESENCE("presence"),
  DISCONNECT("disconnect");

  final String call;

  Endpoint(String call) {
    this.call = call;
  }

  /** The path it answers at. */
  String path() {
    return "/api/" + call;
  }

  static Optional<Endpoint> at(String path) {
    return Arrays.stream(values()).filter(endpoint -> endpoint.path().equals(path)).findFirst();
  }
}
