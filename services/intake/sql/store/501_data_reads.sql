-- Every read of a participant's identity or referral reason (services/intake/views.py,
-- participant_detail): who (subject, role, agency), whose (participant and its running agency),
-- what, when, correlation id. The same shape as casework's health_data_reads, with a read_id
-- for publishing it as a stream later. Append-only: a trigger refuses UPDATE and DELETE, on
-- this table and on monitoring_disclosures (append_only: shared/sql/eventstore/910_append_only.sql).
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
SELECT append_only('monitoring_disclosures');
