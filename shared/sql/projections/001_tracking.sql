-- Consumer positions, stored in the same transaction as the projection updates they cover.
CREATE TABLE IF NOT EXISTS projection_offsets (
    projection text    NOT NULL,
    topic      text    NOT NULL,
    partition  integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (projection, topic, partition)
);
-- Highest applied version per stream: duplicates are skipped, gaps are detected.
CREATE TABLE IF NOT EXISTS projection_streams (
    projection text    NOT NULL,
    stream_id  text    NOT NULL,
    version    integer NOT NULL,
    PRIMARY KEY (projection, stream_id)
);
-- Gaps seen in a stream's versions: reported (metric, log, this table), never silently accepted.
CREATE TABLE IF NOT EXISTS projection_gaps (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    projection  text        NOT NULL,
    stream_id   text        NOT NULL,
    expected    integer     NOT NULL,
    received    integer     NOT NULL,
    event_id    uuid        NOT NULL,
    detected_at timestamptz NOT NULL DEFAULT now()
);
