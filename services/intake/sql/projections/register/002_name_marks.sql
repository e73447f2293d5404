-- The blind index of participants' names (search by name without a name in the database): one
-- row per word of first and last name, its keyed digest (shared.consent.name_marks, key
-- ``name_index_key``, not in any database). Made by the register from the sealed identity it
-- opens with the participant's key; an erasure deletes the rows (and a rebuild finds no key).
CREATE TABLE IF NOT EXISTS participant_name_marks (
    participant_id uuid NOT NULL,
    mark           text NOT NULL,
    PRIMARY KEY (participant_id, mark)
);
CREATE INDEX IF NOT EXISTS participant_name_marks_mark ON participant_name_marks (mark);
