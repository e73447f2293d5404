-- The dates the consent rule needs (consent_active(granted_on, expires_on, ended_on, day)).
-- Rows written before these columns existed keep their old meaning: active ones count as
-- granted, ended ones as ended (a rebuild of the projection fills the real dates).
ALTER TABLE drv_exchange_consents ADD COLUMN IF NOT EXISTS granted_on date;
ALTER TABLE drv_exchange_consents ADD COLUMN IF NOT EXISTS ended_on date;
UPDATE drv_exchange_consents SET granted_on = '-infinity' WHERE granted_on IS NULL AND active;
UPDATE drv_exchange_consents SET ended_on = '-infinity' WHERE ended_on IS NULL AND NOT active;
