-- Who takes part in each project as casework last configured it (coordinating agency first);
-- referrals and project retention rules are for these agencies (NULL: replay pending, the closed list holds)
ALTER TABLE project_rules ADD COLUMN IF NOT EXISTS members text[];
