-- An erasure is final (docs/privacy.md): once `erased_at` is set, the row's tombstone and
-- erasure time can never change again, whoever writes: not un-erased, not erased twice into a
-- different state. (Its role may still change; it identifies no one.)
CREATE OR REPLACE FUNCTION users_erasure_is_final()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF OLD.erased_at IS NOT NULL AND (
    NEW.erased_at IS DISTINCT FROM OLD.erased_at OR
    NEW.username IS DISTINCT FROM OLD.username OR
    NEW.email IS DISTINCT FROM OLD.email OR
    NEW.display_name IS DISTINCT FROM OLD.display_name
  ) THEN
    RAISE EXCEPTION 'user % was erased: its personal data cannot change', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER users_erasure_is_final
  BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION users_erasure_is_final();
