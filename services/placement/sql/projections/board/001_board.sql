-- placement's read models, built from its own topic. No diagnoses anywhere; candidates are
-- participant ids with the capacity profile shared under consent.
CREATE TABLE IF NOT EXISTS employers (
    employer_id               uuid PRIMARY KEY,
    agency                    text NOT NULL,
    company                   text NOT NULL,
    sector                    text NOT NULL,
    size                      text NOT NULL,
    region                    text NOT NULL,
    sealed_contacts           text NOT NULL,
    contacts_erased           boolean NOT NULL DEFAULT false,
    offers_work_trials        boolean NOT NULL,
    offers_adapted_workplaces boolean NOT NULL,
    acquired_on               date NOT NULL,
    last_contact_on           date,
    next_contact_on           date
);
CREATE TABLE IF NOT EXISTS employer_contacts (
    contact_id      uuid PRIMARY KEY,
    employer_id     uuid NOT NULL,
    agency          text NOT NULL,
    contacted_on    date NOT NULL,
    channel         text NOT NULL,
    topic           text NOT NULL,
    sealed_notes    text NOT NULL,
    next_contact_on date
);
CREATE INDEX IF NOT EXISTS employer_contacts_employer ON employer_contacts (employer_id, contacted_on);
CREATE TABLE IF NOT EXISTS vacancies (
    vacancy_id           uuid PRIMARY KEY,
    employer_id          uuid NOT NULL,
    agency               text NOT NULL,
    title                text NOT NULL,
    tasks                text NOT NULL,
    hours_per_week       double precision NOT NULL,
    flexible_hours       boolean NOT NULL,
    demands              jsonb NOT NULL,
    possible_adaptations jsonb NOT NULL,
    positions            integer NOT NULL,
    status               text NOT NULL,
    recorded_on          date NOT NULL,
    closed_on            date,
    close_reason         text
);
CREATE INDEX IF NOT EXISTS vacancies_agency_status ON vacancies (agency, status);
CREATE TABLE IF NOT EXISTS production_orders (
    order_id           uuid PRIMARY KEY,
    employer_id        uuid NOT NULL,
    agency             text NOT NULL,
    description        text NOT NULL,
    quantity           integer NOT NULL,
    accepted_on        date NOT NULL,
    due_on             date,
    status             text NOT NULL,
    completed_on       date,
    delivered_quantity integer
);
CREATE TABLE IF NOT EXISTS candidates (
    participant_id uuid PRIMARY KEY,
    agency         text NOT NULL,
    project        text NOT NULL,
    profile        jsonb NOT NULL,
    published_on   date NOT NULL
);
CREATE TABLE IF NOT EXISTS proposals (
    proposal_id    uuid PRIMARY KEY,
    participant_id uuid NOT NULL,
    vacancy_id     uuid NOT NULL,
    employer_id    uuid NOT NULL,
    agency         text NOT NULL,
    proposed_on    date NOT NULL,
    match_score    integer,
    status         text NOT NULL,
    declined_by    text,
    reason         text
);
CREATE INDEX IF NOT EXISTS proposals_participant ON proposals (participant_id);
CREATE TABLE IF NOT EXISTS work_trials (
    trial_id       uuid PRIMARY KEY,
    participant_id uuid NOT NULL,
    employer_id    uuid NOT NULL,
    vacancy_id     uuid,
    agency         text NOT NULL,
    started_on     date NOT NULL,
    planned_end    date,
    status         text NOT NULL,
    ended_on       date,
    outcome        text,
    reason         text
);
CREATE TABLE IF NOT EXISTS adaptation_requests (
    request_id     uuid PRIMARY KEY,
    participant_id uuid NOT NULL,
    employer_id    uuid NOT NULL,
    agency         text NOT NULL,
    adaptation     text NOT NULL,
    requested_on   date NOT NULL,
    funding        text
);
CREATE TABLE IF NOT EXISTS wage_subsidies (
    subsidy_id         uuid PRIMARY KEY,
    participant_id     uuid NOT NULL,
    employment_id      uuid NOT NULL,
    agency             text NOT NULL,
    instrument         text NOT NULL,
    granted_on         date NOT NULL,
    months             integer NOT NULL,
    percent_first_year integer NOT NULL
);
CREATE TABLE IF NOT EXISTS employments (
    employment_id        uuid PRIMARY KEY,
    participant_id       uuid NOT NULL,
    employer_id          uuid,
    agency               text NOT NULL,
    project              text NOT NULL,
    type                 text NOT NULL,
    subsidised           boolean NOT NULL,
    fully_qualifying     boolean NOT NULL,
    hours_per_week       double precision NOT NULL,
    started_on           date NOT NULL,
    ended_on             date,
    end_reason           text,
    aftercare_started_on date,
    aftercare_ended_on   date
);
CREATE INDEX IF NOT EXISTS employments_participant ON employments (participant_id);
CREATE TABLE IF NOT EXISTS follow_ups (
    employment_id  uuid NOT NULL,
    months         integer NOT NULL,
    participant_id uuid NOT NULL,
    verified_on    date NOT NULL,
    still_employed boolean NOT NULL,
    PRIMARY KEY (employment_id, months)
);
