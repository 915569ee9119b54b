-- The room log: one row per room (its epoch and the last seq it ever gave, which survives
-- trimming) and its kept messages, each stored as the new_message frame it was delivered as.
-- The same SQL runs on PostgreSQL and on H2 (MODE=PostgreSQL).
create table rooms (
  room_id  varchar(64) primary key,
  epoch    varchar(64) not null,
  last_seq bigint      not null
);

create table messages (
  room_id    varchar(64)              not null,
  seq        bigint                   not null,
  message_id varchar(64)              not null,
  created_at timestamp with time zone not null,
  frame      text                     not null,
  -- a seq is never given twice in a room, whoever writes
  primary key (room_id, seq)
);

create index messages_by_age on messages (created_at);

-- Server API publishes with an idempotency key: the first result, for 24 hours.
create table idempotency_keys (
  room_id    varchar(64)              not null,
  idem_key   varchar(128)             not null,
  message_id varchar(64)              not null,
  seq        bigint                   not null,
  created_at timestamp with time zone not null,
  primary key (room_id, idem_key)
);

create index idempotency_keys_by_age on idempotency_keys (created_at);
