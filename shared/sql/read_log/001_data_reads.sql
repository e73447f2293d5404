-- The audited reads of a participant's protected data in intake (identity, referral reason),
-- placement and reporting (subject access, GDPR Art. 15): who (subject, role, agency), whose
-- (participant and the agency owning them), what, when, correlation id; written and listed by
-- shared/read_log.py. Casework keeps the same log for health data as health_data_reads.
-- Append-only (append_only: shared/sql/eventstore/910_append_only.sql).
CREATE TABLE IF NOT EXISTS data_reads (
    id                 bigserial   PRIMARY KEY,
    read_id            uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    read_at            timestamptz NOT NULL DEFAULT now(),
    subject            text        NOT NULL,
    role               text        NOT NULL,
    agency             text        NOT NULL,
    participant_id     uuid        NOT NULL,
    participant_agency text        NOT NULL,
    what               text        NOT NULL,
    correlation_id     uuid
);
CREATE INDEX IF NOT EXISTS data_reads_participant ON data_reads (participant_id, read_at);
CREATE INDEX IF NOT EXISTS data_reads_agency ON data_reads (participant_agency, read_at);
SELECT append_only('data_reads');
