-- The staff directory as every service knows it, from intake's staff events (shared.staff).
-- No names: they are sealed under intake's keys and stay there.
CREATE TABLE IF NOT EXISTS staff_members (
    agency        text NOT NULL,
    subject       text NOT NULL,
    roles         text[] NOT NULL,
    projects      text[] NOT NULL,
    registered_on date NOT NULL,
    left_on       date,
    PRIMARY KEY (agency, subject)
);
