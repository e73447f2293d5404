-- Logs kept beside the event store (who read which protected data, what was disclosed) are
-- append-only, as the event store is: append_only('<table>') gives a table the trigger
-- <table>_no_update that refuses UPDATE and DELETE. Every service database has it (this folder
-- runs before a service's own sql/store), so the services' migrations only name their tables.
CREATE OR REPLACE FUNCTION reads_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;

CREATE OR REPLACE FUNCTION append_only(log regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    guard text := (SELECT relname FROM pg_class WHERE oid = log) || '_no_update';
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', guard, log);
    EXECUTE format(
        'CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION reads_are_append_only()',
        guard, log
    );
END $$;
