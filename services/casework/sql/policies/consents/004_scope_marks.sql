-- From v2 on, a medical release's doctor and an objection's scope are sealed under intake's key:
-- casework keeps their words' keyed digests (shared.consent.name_marks) to match a report's
-- doctor against them. v1 rows keep their scope in clear (scope_marks NULL).
ALTER TABLE consents ADD COLUMN IF NOT EXISTS scope_marks text[];
ALTER TABLE objections ADD COLUMN IF NOT EXISTS scope_marks text[];
