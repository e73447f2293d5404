-- Each project's member agencies as casework last configured it (ProjectConfigured; coordinating
-- agency first): who are project partners for employers, vacancies, orders and the DRV's candidates
CREATE TABLE IF NOT EXISTS project_members (
    project text PRIMARY KEY,
    members text[] NOT NULL
);
