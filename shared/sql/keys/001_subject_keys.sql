-- Wrapped per-subject data keys (envelope encryption): each row is the subject's AES-256 key
-- sealed by the KEK named in kek_id, which is held outside the database (file or HSM).
-- An erased subject keeps its row with wrapped = NULL, so no new key is ever made for them.
CREATE TABLE IF NOT EXISTS keys.subject_keys (
    subject_id text PRIMARY KEY,
    kek_id     text,
    wrapped    bytea,
    erased_at  timestamptz,
    CHECK ((kek_id IS NULL) = (wrapped IS NULL))
);
CREATE INDEX IF NOT EXISTS subject_keys_kek ON keys.subject_keys (kek_id);
