-- One row per consumed event that a KPI needs: the business date, the recording time at the
-- source (for frozen reports and corrections) and only the non-identifying codes.
CREATE TABLE IF NOT EXISTS facts (
    event_id       uuid        PRIMARY KEY,
    event_type     text        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    participant_id uuid,
    case_id        uuid,
    on_date        date        NOT NULL,
    data           jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS facts_case ON facts (case_id) WHERE event_type = 'CaseOpened';
CREATE INDEX IF NOT EXISTS facts_participant ON facts (participant_id);
