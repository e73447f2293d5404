-- What reporting knows of each project's plan (casework's ProjectConfigured: the last one holds)
CREATE TABLE IF NOT EXISTS project_plans (
    project             text PRIMARY KEY,
    coordinating_agency text NOT NULL,
    partner_agencies    text[] NOT NULL,
    starts_on           date NOT NULL,
    ends_on             date NOT NULL,
    participant_target  integer NOT NULL,
    budget              jsonb NOT NULL,
    caseload_cap        integer,
    configured_on       date NOT NULL
);

-- Enrolments (intake's ParticipantEnrolled), no participant id: they are only counted
CREATE TABLE IF NOT EXISTS plan_enrolments (
    event_id    uuid PRIMARY KEY,
    project     text NOT NULL,
    agency      text NOT NULL,
    enrolled_on date NOT NULL
);
CREATE INDEX IF NOT EXISTS plan_enrolments_project ON plan_enrolments (project, enrolled_on);

-- Interventions and their costs; participant_key is a hash (projections.erasure_key), replaced
-- on erasure, only used to count the participants behind a spend cell (small cells suppressed)
CREATE TABLE IF NOT EXISTS plan_interventions (
    intervention_id uuid PRIMARY KEY,
    project         text NOT NULL,
    agency          text NOT NULL,
    participant_key bytea NOT NULL,
    category        text NOT NULL,
    planned_cost    numeric,
    cost            numeric,
    completed_on    date
);
CREATE INDEX IF NOT EXISTS plan_interventions_project ON plan_interventions (project, completed_on);

-- Wage subsidies (placement's WageSubsidyGranted): they carry no amount, only months
CREATE TABLE IF NOT EXISTS plan_subsidies (
    subsidy_id      uuid PRIMARY KEY,
    project         text NOT NULL,
    agency          text NOT NULL,
    participant_key bytea NOT NULL,
    instrument      text NOT NULL,
    granted_on      date NOT NULL,
    months          integer NOT NULL
);
