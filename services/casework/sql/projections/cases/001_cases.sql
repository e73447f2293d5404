CREATE TABLE IF NOT EXISTS cases (
    case_id        uuid PRIMARY KEY,
    participant_id uuid NOT NULL UNIQUE,
    agency         text NOT NULL,
    project        text NOT NULL,
    opened_on      date NOT NULL,
    status         text NOT NULL DEFAULT 'open'
);
