-- intake's retention read model: what the daily retention task and the DPO's list of upcoming
-- deletions need per participant (no identity), the exits casework reports, and legal holds.
CREATE TABLE IF NOT EXISTS retention_records (
    participant_id uuid PRIMARY KEY,
    agency         text NOT NULL,
    project        text NOT NULL,
    status         text NOT NULL,
    ended_on       date
);
CREATE INDEX IF NOT EXISTS retention_records_agency ON retention_records (agency, status);

-- casework's ParticipantExited (its own topic may run ahead of or behind intake's)
CREATE TABLE IF NOT EXISTS retention_exits (
    participant_id uuid PRIMARY KEY,
    exited_on      date NOT NULL
);

CREATE TABLE IF NOT EXISTS legal_holds (
    hold_id        uuid PRIMARY KEY,
    participant_id uuid NOT NULL,
    placed_on      date NOT NULL,
    until          date NOT NULL,
    lifted_on      date,
    placed_by      text NOT NULL,
    sealed_reason  text NOT NULL
);
CREATE INDEX IF NOT EXISTS legal_holds_participant ON legal_holds (participant_id);
