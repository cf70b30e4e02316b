-- Version 9: bulk seal registrations. A batch is audited by one event committing to the
-- Merkle root of its items; the items (JCS texts, the Merkle leaves) are kept to serve
-- inclusion proofs. Written once, never changed.
CREATE TABLE seal_batches (
    batch_id TEXT COLLATE "C" PRIMARY KEY,
    actor    TEXT NOT NULL,
    at_ns    BIGINT NOT NULL,
    root     TEXT NOT NULL,
    size     BIGINT NOT NULL
);
CREATE TABLE seal_batch_items (
    batch_id TEXT COLLATE "C" NOT NULL REFERENCES seal_batches (batch_id),
    idx      BIGINT NOT NULL,
    line     BIGINT NOT NULL,
    uid      TEXT NOT NULL,
    item     TEXT NOT NULL,
    PRIMARY KEY (batch_id, idx)
);
