ALTER TABLE cases ADD COLUMN IF NOT EXISTS phase text;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS phase_since date;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS case_manager text;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS employment_id uuid;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS employed_since date;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS exited_on date;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS exit_reason text;
CREATE INDEX IF NOT EXISTS cases_manager ON cases (case_manager);
CREATE INDEX IF NOT EXISTS cases_agency ON cases (agency);

CREATE TABLE IF NOT EXISTS case_team (
    case_id uuid NOT NULL,
    member  text NOT NULL,
    role    text NOT NULL,
    agency  text NOT NULL,
    PRIMARY KEY (case_id, member)
);
CREATE INDEX IF NOT EXISTS case_team_member ON case_team (member);

CREATE TABLE IF NOT EXISTS case_appointments (
    appointment_id uuid PRIMARY KEY,
    case_id        uuid NOT NULL,
    scheduled_for  date NOT NULL,
    with_member    text NOT NULL,
    kind           text NOT NULL,
    status         text NOT NULL DEFAULT 'scheduled'
);
CREATE INDEX IF NOT EXISTS case_appointments_case ON case_appointments (case_id, scheduled_for);
