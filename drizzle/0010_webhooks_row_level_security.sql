-- Row-level security for the webhook tables, as for every tenant table (0001): a request sees
-- and changes its own tenant's endpoints, events and deliveries only.
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_events, webhook_deliveries TO orders_app;
--> statement-breakpoint
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON webhook_endpoints
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
--> statement-breakpoint
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON webhook_events
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
--> statement-breakpoint
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON webhook_deliveries
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
--> statement-breakpoint
-- The delivery worker (src/webhooks/worker.ts) runs outside any tenant, and connects as whatever
-- role the app uses, which need not be the role that runs these migrations (as for the
-- idempotency expiry job, 0008). So it works through the SECURITY DEFINER functions below,
-- which run as their owner, the migrating role: these policies let that role (when it is the
-- tables' owner, to whom FORCE applies unless it is a superuser) read every tenant's events and
-- endpoints and claim and update their deliveries, and nothing else. orders_app is not a
-- member of that role, so requests never match them.
DO $$
BEGIN
  EXECUTE format(
    'CREATE POLICY delivery_worker ON webhook_endpoints FOR SELECT TO %I USING (true)',
    current_user
  );
  EXECUTE format(
    'CREATE POLICY delivery_worker ON webhook_events FOR SELECT TO %I USING (true)',
    current_user
  );
  EXECUTE format(
    'CREATE POLICY delivery_worker_read ON webhook_deliveries FOR SELECT TO %I USING (true)',
    current_user
  );
  EXECUTE format(
    'CREATE POLICY delivery_worker_update ON webhook_deliveries FOR UPDATE TO %I USING (true) WITH CHECK (true)',
    current_user
  );
END
$$;
--> statement-breakpoint
-- Claims up to batch_size due deliveries of enabled endpoints for lease_ms (a lease, not a
-- status: a worker that dies leaves a lease that expires), counting the attempt, and returns
-- what sending them needs. SKIP LOCKED: concurrent workers never claim the same row.
CREATE OR REPLACE FUNCTION claim_webhook_deliveries(batch_size integer, lease_ms integer, token text)
RETURNS TABLE (
  delivery_id text,
  attempt integer,
  message_id text,
  message_type text,
  body text,
  endpoint_url text,
  signing_secret text,
  previous_signing_secret text
)
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  WITH due AS (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.locked_until IS NULL OR d.locked_until <= now())
      AND EXISTS (
        SELECT 1 FROM webhook_endpoints ep
        WHERE ep.tenant_id = d.tenant_id AND ep.id = d.endpoint_id AND ep.enabled
      )
    ORDER BY d.next_attempt_at
    LIMIT batch_size
    FOR UPDATE OF d SKIP LOCKED
  ), claimed AS (
    UPDATE webhook_deliveries d
    SET locked_until = now() + make_interval(secs => lease_ms / 1000.0),
      lease_token = token, attempts = d.attempts + 1
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.tenant_id, d.event_id, d.endpoint_id, d.attempts
  )
  SELECT c.id, c.attempts, c.event_id, e.type, e.payload, ep.url, ep.secret,
    CASE WHEN ep.previous_secret_expires_at > now() THEN ep.previous_secret END
  FROM claimed c
  JOIN webhook_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id
  JOIN webhook_endpoints ep ON ep.tenant_id = c.tenant_id AND ep.id = c.endpoint_id
$$;
--> statement-breakpoint
-- Records an attempt's outcome and ends the lease; fenced by the lease token, so a worker whose
-- lease expired (and was claimed again) cannot overwrite the newer attempt. Returns 1 or 0.
CREATE OR REPLACE FUNCTION record_webhook_attempt(
  claimed_id text,
  token text,
  new_status text,
  next_at timestamptz,
  response integer,
  failure text
)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  WITH updated AS (
    UPDATE webhook_deliveries
    SET status = new_status::webhook_delivery_status, next_attempt_at = next_at,
      last_attempt_at = date_trunc('milliseconds', now()), response_status = response,
      last_error = failure, locked_until = NULL, lease_token = NULL
    WHERE id = claimed_id AND lease_token = token
    RETURNING 1
  )
  SELECT count(*)::integer FROM updated
$$;
--> statement-breakpoint
-- The outbox lag: the age in seconds of the oldest due delivery, 0 when none is due.
CREATE OR REPLACE FUNCTION webhook_outbox_lag_seconds()
RETURNS double precision
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::double precision
  FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
$$;
