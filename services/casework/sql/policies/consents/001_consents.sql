-- Consents casework tracks from intake.events: drv-exchange opens a case to the partner
-- agency, employer-disclosure lets the capacity profile go to placement, medical-release
-- covers incoming medical reports, and expiring ones show up as tasks.
CREATE TABLE IF NOT EXISTS consents (
    consent_id     uuid PRIMARY KEY,
    participant_id uuid NOT NULL,
    purpose        text NOT NULL,
    scope          text,
    granted_on     date NOT NULL,
    expires_on     date,
    status         text NOT NULL DEFAULT 'active',
    ended_on       date
);
CREATE INDEX IF NOT EXISTS consents_participant ON consents (participant_id, purpose);
