-- A case's id is its participant's id: facts no longer join case events to CaseOpened, so the
-- case column (and its index) go. Harmless to re-apply.
DROP INDEX IF EXISTS facts_case;
ALTER TABLE facts DROP COLUMN IF EXISTS case_id;
