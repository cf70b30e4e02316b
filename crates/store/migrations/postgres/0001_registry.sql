-- Registry schema, version 1 (PostgreSQL). Records are stored whole as JSON text in `record`;
-- the columns beside it exist for lookups, uniqueness and optimistic concurrency. Keys listed
-- in order use the "C" collation: byte order, as SQLite sorts, whatever the database default.
CREATE TABLE seals (
    uid            TEXT PRIMARY KEY,
    state          TEXT NOT NULL,
    key_thumbprint TEXT NOT NULL UNIQUE,
    cert_issuer    TEXT NOT NULL,
    cert_serial    TEXT NOT NULL,
    lot_id         TEXT,
    version        BIGINT NOT NULL,
    record         TEXT NOT NULL,
    UNIQUE (cert_issuer, cert_serial)
);
CREATE TABLE lots (
    lot_id  TEXT COLLATE "C" PRIMARY KEY,
    state   TEXT NOT NULL,
    active  BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    record  TEXT NOT NULL
);
CREATE INDEX lots_active ON lots (lot_id) WHERE active;
CREATE TABLE bindings (
    id               TEXT COLLATE "C" PRIMARY KEY,
    lot_id           TEXT COLLATE "C" NOT NULL,
    number           BIGINT NOT NULL,
    seal_uid         TEXT NOT NULL,
    state            TEXT NOT NULL,
    authority_key_id TEXT NOT NULL,
    suspended        BOOLEAN NOT NULL,
    version          BIGINT NOT NULL,
    record           TEXT NOT NULL,
    UNIQUE (lot_id, number)
);
CREATE INDEX bindings_authority ON bindings (authority_key_id);
CREATE INDEX bindings_suspended ON bindings (id) WHERE suspended;
CREATE TABLE authorities (
    key_id  TEXT PRIMARY KEY,
    number  BIGINT NOT NULL UNIQUE,
    state   TEXT NOT NULL,
    version BIGINT NOT NULL,
    record  TEXT NOT NULL
);
CREATE TABLE inspections (
    id      TEXT PRIMARY KEY,
    lot_id  TEXT NOT NULL,
    at_ns   BIGINT NOT NULL,
    record  TEXT NOT NULL
);
CREATE INDEX inspections_lot ON inspections (lot_id, at_ns);
CREATE TABLE custody (
    id      TEXT PRIMARY KEY,
    lot_id  TEXT NOT NULL,
    at_ns   BIGINT NOT NULL,
    record  TEXT NOT NULL
);
CREATE INDEX custody_lot ON custody (lot_id, at_ns);
CREATE TABLE did_documents (
    lot_id   TEXT NOT NULL,
    version  BIGINT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (lot_id, version)
);
-- The event sequence: gapless, assigned under the single row of event_head.
CREATE TABLE events (
    sequence   BIGINT PRIMARY KEY,
    subject    TEXT NOT NULL,
    event_type TEXT NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject, sequence);
CREATE TABLE event_head (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    next_sequence BIGINT NOT NULL
);
INSERT INTO event_head (singleton, next_sequence) VALUES (1, 0);
