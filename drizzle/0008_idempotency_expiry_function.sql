-- The expiry job (deleteExpiredIdempotencyKeys) connects as whatever role the app uses, which
-- need not be the role that ran the migrations, the one policy expired_cleanup (0003) names.
-- This function runs as its owner, the migrating role, and deletes expired keys only, so the
-- job works whichever role calls it; that is also why any role may call it.
--
-- Under FORCE'd row-level security the owner needs more than 0003's DELETE policy: a DELETE
-- whose WHERE reads rows is also held to SELECT policies, and FOR UPDATE to UPDATE policies.
-- This one gives the migrating role those, on expired keys only.
DO $$
BEGIN
  EXECUTE format(
    'CREATE POLICY expired_cleanup_access ON idempotency_keys FOR ALL TO %I USING (expires_at < now())',
    current_user
  );
END
$$;
--> statement-breakpoint
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
