-- The health-data read log is append-only, as the event store is: a trigger refuses UPDATE and
-- DELETE (append_only: shared/sql/eventstore/910_append_only.sql). Each row has a read_id (the
-- event id it would carry if published as a stream).
ALTER TABLE health_data_reads ADD COLUMN IF NOT EXISTS read_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX IF NOT EXISTS health_data_reads_read_id ON health_data_reads (read_id);
SELECT append_only('health_data_reads');
