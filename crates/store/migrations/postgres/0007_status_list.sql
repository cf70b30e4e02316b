-- Version 7: each binding's slot in the revocation status lists (BEA `credentialStatus`),
-- allocated once when the binding is made and never reused; NULL for older bindings.
ALTER TABLE bindings ADD COLUMN status_index BIGINT;
CREATE UNIQUE INDEX bindings_status_index ON bindings (status_index);
