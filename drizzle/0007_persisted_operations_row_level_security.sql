-- Row-level security for persisted_operations, as for every tenant table (0001): a request
-- sees and registers its own tenant's operations only. The grants of 0005 stay: the request
-- role may look operations up and register new ones, never change or delete one.
ALTER TABLE persisted_operations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE persisted_operations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON persisted_operations
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
