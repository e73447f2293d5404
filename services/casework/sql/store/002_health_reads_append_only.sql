-- The health-data read log is append-only, as the event store is: a trigger refuses UPDATE and
-- DELETE. Each row has a read_id (the event id it would carry if published as a stream).
ALTER TABLE health_data_reads ADD COLUMN IF NOT EXISTS read_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX IF NOT EXISTS health_data_reads_read_id ON health_data_reads (read_id);
CREATE OR REPLACE FUNCTION reads_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
DROP TRIGGER IF EXISTS health_data_reads_no_update ON health_data_reads;
CREATE TRIGGER health_data_reads_no_update BEFORE UPDATE OR DELETE ON health_data_reads
    FOR EACH ROW EXECUTE FUNCTION reads_are_append_only();
