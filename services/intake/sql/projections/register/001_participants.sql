-- intake's read model of its own topic: the register per agency and the consents that may expire.
CREATE TABLE IF NOT EXISTS participants (
    participant_id uuid PRIMARY KEY,
    agency         text NOT NULL,
    source_agency  text NOT NULL,
    project        text NOT NULL,
    status         text NOT NULL,
    referred_on    date NOT NULL,
    eligible       boolean,
    start_date     date
);
CREATE INDEX IF NOT EXISTS participants_agency ON participants (agency, status);

CREATE TABLE IF NOT EXISTS participant_consents (
    consent_id     uuid PRIMARY KEY,
    participant_id uuid NOT NULL,
    purpose        text NOT NULL,
    scope          text,
    granted_on     date NOT NULL,
    expires_on     date,
    status         text NOT NULL DEFAULT 'active',
    ended_on       date
);
CREATE INDEX IF NOT EXISTS participant_consents_due ON participant_consents (expires_on) WHERE status = 'active';
