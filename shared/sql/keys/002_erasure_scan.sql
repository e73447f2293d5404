-- How far erasure events on each topic have been re-applied to this database's keys
-- (shared/erasure.py). Restored with the keys, so a restore rewinds it to the backup's time.
CREATE TABLE IF NOT EXISTS keys.erasure_scan (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);
