-- WorkplaceAdaptationRequested v2: the adaptation is sealed under placement's key for the
-- participant; the row keeps the ciphertext (the views open it), v1 rows their clear text.
ALTER TABLE adaptation_requests ALTER COLUMN adaptation DROP NOT NULL;
ALTER TABLE adaptation_requests ADD COLUMN IF NOT EXISTS sealed_adaptation text NOT NULL DEFAULT '';
