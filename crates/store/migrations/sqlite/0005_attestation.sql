-- Version 5: a verifier token carries the DID it acts for (bound when the token is made, never
-- taken from a request); the policy in force and every policy version ever installed are
-- durable, so anti-rollback holds across restarts and across servers sharing the database.
ALTER TABLE api_tokens ADD COLUMN verifier_did TEXT;
CREATE TABLE policies (
    policy_id    TEXT NOT NULL,
    version      BIGINT NOT NULL,
    document     TEXT NOT NULL,
    installed_ns BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version)
);
CREATE TABLE policy_in_force (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    policy_id TEXT NOT NULL,
    version   BIGINT NOT NULL,
    revision  BIGINT NOT NULL
);
-- A lot's latest evidence of being intact (its sign-off, then each valid attestation), so that
-- lots whose evidence lapsed are found without reading every lot.
ALTER TABLE lots ADD COLUMN evidence_ns BIGINT;
CREATE INDEX lots_evidence ON lots (evidence_ns) WHERE active;
