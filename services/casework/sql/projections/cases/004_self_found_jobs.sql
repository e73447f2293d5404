-- Jobs participants found without placement, for the follow-ups due (shared.followups' rule).
CREATE TABLE IF NOT EXISTS case_jobs (
    employment_id uuid PRIMARY KEY,
    case_id       uuid NOT NULL,
    started_on    date NOT NULL,
    ended_on      date,
    verified      integer[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS case_jobs_case ON case_jobs (case_id);
