-- The service's event store; also its outbox (the relay reads it, nothing else is written twice).
CREATE TABLE IF NOT EXISTS events (
    position      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Transaction that inserted the row. The relay only reads below the oldest in-flight
    -- transaction, so an event that commits late can never be skipped.
    xid           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id      uuid        NOT NULL UNIQUE,
    stream_id     text        NOT NULL,
    stream_type   text        NOT NULL,
    version       integer     NOT NULL CHECK (version >= 1),
    event_type    text        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    hash          text        NOT NULL,
    envelope      bytea       NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE INDEX IF NOT EXISTS events_xid_position ON events (xid, position);
CREATE INDEX IF NOT EXISTS events_type ON events (event_type);

-- Where the outbox relay got to, as (transaction id, position).
CREATE TABLE IF NOT EXISTS relay_checkpoint (
    topic         text   PRIMARY KEY,
    last_xid      xid8   NOT NULL,
    last_position bigint NOT NULL
);

-- Events are facts: forbid rewriting history in place.
CREATE OR REPLACE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END $$;
DROP TRIGGER IF EXISTS events_no_update ON events;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();

-- Command idempotency keys: a retried POST with the same key returns the first answer.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash text        NOT NULL,
    status_code  integer     NOT NULL,
    response     bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
