-- Row-level security for idempotency_keys, as for every tenant table (0001).
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO orders_app;
--> statement-breakpoint
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON idempotency_keys
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
--> statement-breakpoint
-- The expiry job (deleteExpiredIdempotencyKeys) runs outside any tenant, as the connecting
-- role (the owner, to whom FORCE applies unless it is a superuser): it may delete expired
-- keys of every tenant, and nothing else. orders_app is not a member of that role, so
-- requests never match this policy.
DO $$
BEGIN
  EXECUTE format(
    'CREATE POLICY expired_cleanup ON idempotency_keys FOR DELETE TO %I USING (expires_at < now())',
    current_user
  );
END
$$;
