-- Version 7: signed reserve reports. The report key is certified once (one row); each report
-- is kept exactly as published, numbered by a primary key (two concurrent publishers cannot
-- both take a number), with its leaves so that proofs can be served later.
CREATE TABLE report_key (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    kid          TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    certified_ns BIGINT NOT NULL
);
CREATE TABLE reports (
    number       BIGINT PRIMARY KEY,
    generated_ns BIGINT NOT NULL,
    sum_root     TEXT NOT NULL,
    rfc9162_root TEXT NOT NULL,
    digest       TEXT NOT NULL,
    lot_count    BIGINT NOT NULL,
    document     TEXT NOT NULL
);
CREATE TABLE report_leaves (
    report_number BIGINT NOT NULL REFERENCES reports (number),
    lot_id        TEXT COLLATE "C" NOT NULL,
    leaf          TEXT NOT NULL,
    PRIMARY KEY (report_number, lot_id)
);
-- The last valid attestation of each active lot's seal is found by (subject, type).
CREATE INDEX events_subject_type ON events (subject, event_type, sequence);
