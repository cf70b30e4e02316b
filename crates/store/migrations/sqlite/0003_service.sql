-- Version 3: what the HTTP service keeps. API tokens are stored as SHA-256 hashes of their
-- secrets only; challenges are single-use (their nonces unique), across server processes.
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    created_ns  BIGINT NOT NULL,
    expires_ns  BIGINT,
    revoked     BOOLEAN NOT NULL
);
CREATE TABLE challenges (
    id         TEXT PRIMARY KEY,
    nonce      TEXT NOT NULL UNIQUE,
    lot_id     TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    request    TEXT NOT NULL,
    issued_ns  BIGINT NOT NULL,
    expires_ns BIGINT NOT NULL,
    used       BOOLEAN NOT NULL
);
CREATE INDEX challenges_expiry ON challenges (expires_ns);
