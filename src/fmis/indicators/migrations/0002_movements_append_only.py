from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION indicators_movement_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' AND current_setting('fmis.allow_truncate', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'indicator movements are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER indicators_movement_append_only
  BEFORE UPDATE OR DELETE ON indicators_movement
  FOR EACH ROW EXECUTE FUNCTION indicators_movement_append_only();
CREATE TRIGGER indicators_movement_no_truncate
  BEFORE TRUNCATE ON indicators_movement
  FOR EACH STATEMENT EXECUTE FUNCTION indicators_movement_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS indicators_movement_no_truncate ON indicators_movement;
DROP TRIGGER IF EXISTS indicators_movement_append_only ON indicators_movement;
DROP FUNCTION IF EXISTS indicators_movement_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("indicators", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
