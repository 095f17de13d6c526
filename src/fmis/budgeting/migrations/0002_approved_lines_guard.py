from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION budgeting_line_approved_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.amount_approved IS NOT NULL THEN
      RAISE EXCEPTION 'budget line % is approved and cannot be deleted', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.amount_approved IS NOT NULL AND
     (NEW.round_id, NEW.agency_id, NEW.department_id, NEW.kind, NEW.project_id, NEW.func_code, NEW.gov_eco_code,
      NEW.dept_eco_code, NEW.fund_type, NEW.amount_applied, NEW.amount_reviewed, NEW.amount_compiled,
      NEW.amount_approved)
     IS DISTINCT FROM
     (OLD.round_id, OLD.agency_id, OLD.department_id, OLD.kind, OLD.project_id, OLD.func_code, OLD.gov_eco_code,
      OLD.dept_eco_code, OLD.fund_type, OLD.amount_applied, OLD.amount_reviewed, OLD.amount_compiled,
      OLD.amount_approved) THEN
    RAISE EXCEPTION 'budget line % is approved and cannot be changed', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.indicator_id IS NOT NULL AND NEW.indicator_id IS DISTINCT FROM OLD.indicator_id THEN
    RAISE EXCEPTION 'budget line % has issued its indicator', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER budgeting_line_approved_guard
  BEFORE UPDATE OR DELETE ON budgeting_budgetline
  FOR EACH ROW EXECUTE FUNCTION budgeting_line_approved_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS budgeting_line_approved_guard ON budgeting_budgetline;
DROP FUNCTION IF EXISTS budgeting_line_approved_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("budgeting", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
