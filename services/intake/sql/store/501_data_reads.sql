-- Every read of a participant's identity or referral reason (services/intake/views.py,
-- participant_detail) goes to data_reads (shared/sql/read_log/001_data_reads.sql, which runs
-- before this folder). The monitoring disclosures are append-only too.
SELECT append_only('monitoring_disclosures');
