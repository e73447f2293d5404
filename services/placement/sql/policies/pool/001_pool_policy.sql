-- State of the candidate-pool policy: what casework shared, what intake says about the
-- employer-disclosure consent, and who left for good. The pool itself is the
-- CandidateProfilePublished/Withdrawn events this policy appends.
CREATE TABLE IF NOT EXISTS pool_shares (
    participant_id uuid PRIMARY KEY,
    agency         text NOT NULL,
    project        text NOT NULL,
    profile        jsonb NOT NULL,
    shared_on      date NOT NULL
);
CREATE TABLE IF NOT EXISTS pool_consents (
    participant_id uuid NOT NULL,
    consent_id     uuid NOT NULL,
    active         boolean NOT NULL,
    PRIMARY KEY (participant_id, consent_id)
);
CREATE TABLE IF NOT EXISTS pool_closed (
    participant_id uuid PRIMARY KEY,
    reason         text NOT NULL
);
