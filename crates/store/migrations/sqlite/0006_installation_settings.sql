-- Version 6: installation-wide settings fixed at the first start (e.g. the did:web host every
-- lot DID is named under). A row is written once and never changed by the software.
CREATE TABLE installation_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
