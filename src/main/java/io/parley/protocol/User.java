package io.parley.protocol;


/** A user as the token names it and as frames show it: {@code {"id","name"}}. */
public record User(String id, String name) {}
