-- The expiry job (deleteExpiredIdempotencyKeys) connects as whatever role the app uses, which
-- need not be the role that ran the migrations, the one policy expired_cleanup (0003) names.
-- This function runs as its owner, the migrating role, and deletes expired keys only, so the
-- job works whichever role calls it; that is also why any role may call it.
CREATE OR REPLACE FUNCTION delete_expired_idempotency_keys(batch_size integer)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  WITH deleted AS (
    DELETE FROM idempotency_keys
    WHERE ctid IN (
      SELECT ctid FROM idempotency_keys
      WHERE expires_at < now()
      LIMIT batch_size
      FOR UPDATE SKIP LOCKED
    )
    RETURNING 1
  )
  SELECT count(*)::integer FROM deleted
$$;
