-- Participants already erased, so that their events arriving later (from another topic, e.g. the
-- case opened by casework after intake's erasure overtook it) get the pseudonym too. Keyed by a
-- hash of the participant id, not the id itself.
CREATE TABLE IF NOT EXISTS erased_participants (
    participant_key bytea PRIMARY KEY,
    pseudonym uuid NOT NULL
);
