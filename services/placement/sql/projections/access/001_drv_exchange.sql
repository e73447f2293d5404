-- drv-exchange consents per participant (from intake): DRV advisers see a candidate only
-- while one is active.
CREATE TABLE IF NOT EXISTS drv_exchange_consents (
    participant_id uuid NOT NULL,
    consent_id     uuid NOT NULL,
    scope          text,
    active         boolean NOT NULL,
    expires_on     date,
    PRIMARY KEY (participant_id, consent_id)
);
