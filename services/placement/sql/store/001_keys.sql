-- Per-employer keys sealing contact persons and contact notes (erasure = destroy the key).
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id text PRIMARY KEY,
    key        bytea,
    erased_at  timestamptz
);
