-- Reads of a participant's reporting facts that are audited (today: subject access, GDPR
-- Art. 15): who (subject, role, agency), whose (participant and its owning agency),
-- what, when, correlation id. The shape of intake's data_reads. Append-only: a trigger refuses
-- UPDATE and DELETE.
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
CREATE OR REPLACE FUNCTION reads_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
DROP TRIGGER IF EXISTS data_reads_no_update ON data_reads;
CREATE TRIGGER data_reads_no_update BEFORE UPDATE OR DELETE ON data_reads
    FOR EACH ROW EXECUTE FUNCTION reads_are_append_only();
