-- persisted_operations is global, not per tenant (see src/db/schema.ts), so it has no RLS.
-- The request role may look operations up and register new ones, but never change or delete
-- one: an id must always name the same document, and a removal is an operator's decision.
GRANT SELECT, INSERT ON persisted_operations TO orders_app;
