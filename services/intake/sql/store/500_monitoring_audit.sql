-- Every request for monitoring identities (services/intake/views.py, monitoring_identities): who asked, for
-- whom, which participant ids, which were released. Append-only.
CREATE TABLE IF NOT EXISTS monitoring_disclosures (
    id             bigserial   PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    service        text        NOT NULL,
    on_behalf_of   text        NOT NULL,
    agency         text        NOT NULL,
    half_year      text        NOT NULL,
    outcome        text        NOT NULL,
    requested      uuid[]      NOT NULL,
    released       uuid[]      NOT NULL,
    correlation_id uuid
);
