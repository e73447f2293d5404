-- Each participant's journey, folded from their own facts (``journey.build_participants``) in
-- the same transaction as the facts, so a KPI request of the present reads one row per person
-- instead of decoding and folding every fact. The first fact's recording time and id keep the
-- fold's order of journeys; an erasure moves the journey to the pseudonym, as it moves the facts.
CREATE TABLE IF NOT EXISTS journeys (
    participant_id    uuid        PRIMARY KEY,
    first_recorded_at timestamptz NOT NULL,
    first_event_id    uuid        NOT NULL,
    data              jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS journeys_order ON journeys (first_recorded_at, first_event_id);
-- the quarters with facts, without reading them all
CREATE INDEX IF NOT EXISTS facts_on_date ON facts (on_date);
-- Upgrading a schema that already has facts: their participants' journeys are folded by the
-- next batches (``projections.record``, a few thousand per batch); until none is pending, the
-- requests fold the facts as before.
CREATE TABLE IF NOT EXISTS journeys_pending (participant_id uuid PRIMARY KEY);
INSERT INTO journeys_pending SELECT DISTINCT participant_id FROM facts WHERE participant_id IS NOT NULL
ON CONFLICT DO NOTHING;
