-- § 76 objections are dated and withdrawable: each has its id (v1 events get theirs from the
-- upcaster) and the day its withdrawal takes effect. It holds from recorded_on up to, excluding,
-- withdrawn_on (consent_active's boundaries).
ALTER TABLE objections ADD COLUMN IF NOT EXISTS objection_id uuid;
ALTER TABLE objections ADD COLUMN IF NOT EXISTS withdrawn_on date;
CREATE UNIQUE INDEX IF NOT EXISTS objections_id ON objections (objection_id);
