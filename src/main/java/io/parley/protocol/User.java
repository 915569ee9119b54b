package io.parley.protocol;

import io.parley.common.CborSerializable;

/** A user as the token names it and as frames show it: {@code {"id","name"}}. */
public record User(String id, String name) implements CborSerializable {}
