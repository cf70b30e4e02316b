-- Version 9: bulk seal registrations. A batch is audited by one event committing to the
-- Merkle root of its items; the items (JCS texts, the Merkle leaves) are kept to serve
-- inclusion proofs. Written once, never changed.
CREATE TABLE seal_batches (
    batch_id TEXT PRIMARY KEY,
    actor    TEXT NOT NULL,
    at_ns    INTEGER NOT NULL,
    root     TEXT NOT NULL,
    size     INTEGER NOT NULL
);
CREATE TABLE seal_batch_items (
    batch_id TEXT NOT NULL REFERENCES seal_batches (batch_id),
    idx      INTEGER NOT NULL,
    line     INTEGER NOT NULL,
    uid      TEXT NOT NULL,
    item     TEXT NOT NULL,
    PRIMARY KEY (batch_id, idx)
);
