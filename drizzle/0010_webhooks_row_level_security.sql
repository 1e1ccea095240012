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
-- The delivery worker (src/webhooks/worker.ts) runs outside any tenant, as the connecting role
-- (the owner, to whom FORCE applies unless it is a superuser), like the idempotency expiry job
-- (0003): it reads every tenant's events and endpoints and claims and updates their
-- deliveries, and may neither insert nor delete anything. orders_app is not a member of that
-- role, so requests never match these policies.
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
