-- The consent-validity rule of shared/consent.py, for read models that filter in SQL:
-- active from granted_on up to, excluding, the first of expires_on and ended_on.
CREATE OR REPLACE FUNCTION public.consent_active(granted_on date, expires_on date, ended_on date, day date)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT granted_on <= day
       AND (ended_on IS NULL OR day < ended_on)
       AND (expires_on IS NULL OR day < expires_on)
$$;
