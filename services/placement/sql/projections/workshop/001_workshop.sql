-- The Produktionswerkstatt: who is enrolled (from intake), who works on which production order,
-- and each day's attendance and hours. Erased participants are remembered only by a hash, so
-- a late order event of theirs is not written again.
CREATE TABLE IF NOT EXISTS workshop_enrolled (
    participant_id uuid PRIMARY KEY,
    agency         text NOT NULL,
    project        text NOT NULL,
    enrolled_on    date NOT NULL
);
CREATE TABLE IF NOT EXISTS order_participants (
    order_id       uuid NOT NULL,
    participant_id uuid NOT NULL,
    order_agency   text NOT NULL,
    agency         text NOT NULL,
    assigned_on    date NOT NULL,
    released_on    date,
    PRIMARY KEY (order_id, participant_id)
);
CREATE INDEX IF NOT EXISTS order_participants_participant ON order_participants (participant_id);
CREATE TABLE IF NOT EXISTS order_attendance (
    order_id       uuid NOT NULL,
    participant_id uuid NOT NULL,
    worked_on      date NOT NULL,
    attendance     text NOT NULL,
    hours          double precision NOT NULL,
    PRIMARY KEY (order_id, participant_id, worked_on)
);
CREATE INDEX IF NOT EXISTS order_attendance_participant ON order_attendance (participant_id);
CREATE TABLE IF NOT EXISTS workshop_erased (participant_key bytea PRIMARY KEY);
