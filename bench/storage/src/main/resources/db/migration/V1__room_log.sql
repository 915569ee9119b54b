-- The room log, one set of migrations for H2 (MODE=PostgreSQL) and PostgreSQL.
-- Only types and statements both accept: VARCHAR without a length (H2 2.x: up to 1,000,000
-- characters, not a CLOB as TEXT would be there), BIGINT, TIMESTAMP WITH TIME ZONE.

-- One row per room that ever had a message. last_seq is the room's newest seq: it outlives
-- trimming, so a seq is never reused within an epoch.
CREATE TABLE rooms (
    room_id    VARCHAR(64) NOT NULL PRIMARY KEY,
    epoch      VARCHAR(64) NOT NULL,
    last_seq   BIGINT      NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Every stored new_message exactly as delivered; the primary key is the room's order.
CREATE TABLE messages (
    room_id     VARCHAR(64)  NOT NULL,
    seq         BIGINT       NOT NULL,
    message_id  VARCHAR(64)  NOT NULL,
    sender_id   VARCHAR(256) NOT NULL,
    sender_name VARCHAR(256) NOT NULL,
    payload     VARCHAR      NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (room_id, seq)
);
-- the age rule of retention finds old messages without reading every room
CREATE INDEX messages_created_at ON messages (created_at);

-- Server API idempotency: the first result of a key in a room, kept 24 h. Its own table, so that
-- retention trimming a busy room's messages does not forget a key that is still within 24 h.
CREATE TABLE idempotency_keys (
    room_id         VARCHAR(64)  NOT NULL,
    idempotency_key VARCHAR(128) NOT NULL,
    seq             BIGINT       NOT NULL,
    message_id      VARCHAR(64)  NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (room_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
