-- Per-participant keys that seal health data and free text inside casework's events.
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id text PRIMARY KEY,
    key        bytea,
    erased_at  timestamptz
);

-- Every read of health data: who (subject, role, agency), which case, what, when.
-- Written by the HTTP layer when it returns health data; queried by auditors and DPOs.
CREATE TABLE IF NOT EXISTS health_data_reads (
    id           bigserial PRIMARY KEY,
    read_at      timestamptz NOT NULL DEFAULT now(),
    subject      text NOT NULL,
    role         text NOT NULL,
    agency       text NOT NULL,
    case_id      uuid NOT NULL,
    case_agency  text NOT NULL,
    what         text NOT NULL,
    correlation_id uuid
);
CREATE INDEX IF NOT EXISTS health_data_reads_case ON health_data_reads (case_id, read_at);
CREATE INDEX IF NOT EXISTS health_data_reads_agency ON health_data_reads (case_agency, read_at);
