CREATE TABLE IF NOT EXISTS funnel_counts (
    agency  text   NOT NULL,
    project text   NOT NULL,
    metric  text   NOT NULL,
    count   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (agency, project, metric)
);
