-- Row-level security for api_keys and audit_events, as for every tenant table (0001). Keys may
-- be created and revoked (an UPDATE) by requests, never deleted; audit events only appended.
GRANT SELECT, INSERT, UPDATE ON api_keys TO orders_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_events TO orders_app;
--> statement-breakpoint
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON api_keys
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
--> statement-breakpoint
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON audit_events
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
--> statement-breakpoint
-- A request's API key is looked up by its secret's hash before the tenant is known. The
-- function below runs as its owner, the migrating role, to which FORCE'd RLS applies too: this
-- policy shows that role the one row whose hash the function is looking up, nothing else.
DO $$
BEGIN
  EXECUTE format(
    'CREATE POLICY secret_lookup ON api_keys FOR SELECT TO %I USING (secret_hash = current_setting(''app.api_key_lookup'', true))',
    current_user
  );
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION api_key_by_secret_hash(hash text)
RETURNS TABLE (id text, tenant_id text, name text, scopes text[], expires_at timestamptz, revoked_at timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
  PERFORM set_config('app.api_key_lookup', hash, true);
  RETURN QUERY
    SELECT k.id, k.tenant_id, k.name, k.scopes, k.expires_at, k.revoked_at
    FROM api_keys k WHERE k.secret_hash = hash;
  PERFORM set_config('app.api_key_lookup', '', true);
END
$$;
--> statement-breakpoint
-- Part of every request's set-up statement (plugins/tenant-transaction.ts), so it costs no
-- round trip: false when the caller's user was erased or its API key revoked or expired since
-- its token or key was checked. Runs as the owner with the request's tenant set, under the
-- ordinary tenant_isolation policies.
CREATE OR REPLACE FUNCTION request_principal_active(tenant text, user_id text, api_key_id text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF tenant = '' THEN
    RETURN true;
  END IF;
  PERFORM set_config('app.tenant_id', tenant, true);
  IF user_id <> '' AND EXISTS (
    SELECT 1 FROM users u WHERE u.tenant_id = tenant AND u.id = user_id AND u.erased_at IS NOT NULL
  ) THEN
    RETURN false;
  END IF;
  IF api_key_id <> '' AND NOT EXISTS (
    SELECT 1 FROM api_keys k
    WHERE k.tenant_id = tenant AND k.id = api_key_id AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
  ) THEN
    RETURN false;
  END IF;
  RETURN true;
END
$$;
--> statement-breakpoint
-- `lastUsedAt`, written outside any request transaction (at most once a minute per key).
CREATE OR REPLACE FUNCTION touch_api_key(tenant text, api_key_id text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
  PERFORM set_config('app.tenant_id', tenant, true);
  UPDATE api_keys SET last_used_at = date_trunc('milliseconds', now())
  WHERE api_keys.tenant_id = tenant AND api_keys.id = api_key_id
    AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
END
$$;
