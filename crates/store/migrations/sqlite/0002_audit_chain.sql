-- Version 2: the event sequence becomes the audit log (seed 003 §5.4). Each event row keeps
-- its signed, hash-chained audit entry (JCS text, one export line); the head row keeps the
-- chain hash of the last entry so the next one can link to it.
ALTER TABLE events ADD COLUMN entry TEXT;
ALTER TABLE event_head ADD COLUMN head_hash TEXT NOT NULL DEFAULT '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000';
