-- Per-participant keys that seal identity and health data inside intake's events.
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id text PRIMARY KEY,
    key        bytea,
    erased_at  timestamptz
);
