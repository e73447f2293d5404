-- The hash of the last applied event per stream: the next one's prev_hash must name it, so a
-- forged or altered event on the bus is caught by every consumer (NULL: not known yet).
ALTER TABLE projection_streams ADD COLUMN IF NOT EXISTS hash text;

-- Records a projection could not apply (undecodable, contract, tampered, handler) and the later
-- records of their streams parked behind them, in the same transaction as the positions that
-- step past them. An operator retries them after a fix or skips them with a reason.
CREATE TABLE IF NOT EXISTS parked (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    projection text        NOT NULL,
    topic      text        NOT NULL,
    partition  integer     NOT NULL,
    "offset"   bigint      NOT NULL,
    stream_id  text,
    event_id   uuid,
    reason     text        NOT NULL CHECK (reason IN ('undecodable', 'contract', 'tampered', 'handler', 'behind-parked')),
    error      text        NOT NULL,
    record     bytea       NOT NULL,
    record_key bytea,
    parked_at  timestamptz NOT NULL DEFAULT now(),
    state      text        NOT NULL DEFAULT 'parked' CHECK (state IN ('parked', 'retried', 'skipped')),
    UNIQUE (projection, topic, partition, "offset")
);
-- The runner asks, for every batch, which of its streams have a record still parked.
CREATE INDEX IF NOT EXISTS parked_open_streams ON parked (projection, stream_id) WHERE state = 'parked';
