-- The rehab applications of each case as the carrier's work queue needs them (issue 15 item 10):
-- where each went, since when, and whether the carrier has decided. Health data: no text here.
CREATE TABLE IF NOT EXISTS case_rehab_applications (
    application_id uuid PRIMARY KEY,
    case_id        uuid NOT NULL,
    carrier        text NOT NULL,
    kind           text NOT NULL,
    filed_on       date NOT NULL,
    status         text NOT NULL DEFAULT 'filed'
);
CREATE INDEX IF NOT EXISTS case_rehab_applications_queue ON case_rehab_applications (carrier, status, filed_on);
