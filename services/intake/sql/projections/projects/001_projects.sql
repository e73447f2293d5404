-- What intake needs of each project's configuration (casework's ProjectConfigured, the last one holds)
CREATE TABLE IF NOT EXISTS project_rules (
    project               text PRIMARY KEY,
    info_meeting_required boolean NOT NULL
);
