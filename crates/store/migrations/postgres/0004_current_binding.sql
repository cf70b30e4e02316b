-- Version 4: a lot's current binding as a column, so that a lot, its binding and its seal are
-- read in one query (every attestation needs all three).
ALTER TABLE lots ADD COLUMN current_binding TEXT COLLATE "C";
UPDATE lots SET current_binding = (record::json ->> 'bindingId');
