-- Objections under § 76 SGB X (from intake.events): data that came from doctors is not passed on
-- to other agencies while one is on record.
CREATE TABLE IF NOT EXISTS objections (
    participant_id uuid NOT NULL,
    recorded_on    date NOT NULL,
    scope          text NOT NULL
);
CREATE INDEX IF NOT EXISTS objections_participant ON objections (participant_id);
