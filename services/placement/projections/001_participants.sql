-- Participants placement knows exist (no health data, no identity): later the candidate pool.
CREATE TABLE IF NOT EXISTS known_participants (
    participant_id uuid PRIMARY KEY,
    agency         text NOT NULL,
    project        text NOT NULL,
    enrolled_on    date NOT NULL
);
