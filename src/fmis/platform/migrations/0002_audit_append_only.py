from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION platform_audit_append_only() RETURNS trigger AS $$
BEGIN
  -- the test suite empties tables between transactional tests; it opts in per connection
  IF TG_OP = 'TRUNCATE' AND current_setting('fmis.allow_truncate', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER platform_auditrecord_append_only
  BEFORE UPDATE OR DELETE ON platform_auditrecord
  FOR EACH ROW EXECUTE FUNCTION platform_audit_append_only();
CREATE TRIGGER platform_auditrecord_no_truncate
  BEFORE TRUNCATE ON platform_auditrecord
  FOR EACH STATEMENT EXECUTE FUNCTION platform_audit_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS platform_auditrecord_no_truncate ON platform_auditrecord;
DROP TRIGGER IF EXISTS platform_auditrecord_append_only ON platform_auditrecord;
DROP FUNCTION IF EXISTS platform_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("platform", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
