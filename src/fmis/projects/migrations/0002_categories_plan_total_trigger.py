"""The project category tree, and a deferred constraint trigger: at commit, every project's yearly
plan amounts lie within its start and end year and add up to its total amount."""

from django.db import migrations


def load_categories(apps, schema_editor):
    from fmis.projects.categories import ensure_categories

    ensure_categories(apps.get_model("projects", "ProjectCategory"))


CHECK_SQL = """
CREATE FUNCTION projects_check_plan_total() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
    p record;
    plan_sum numeric(20,2);
    outside integer;
BEGIN
    IF TG_TABLE_NAME = 'projects_project' THEN
        pid := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        pid := OLD.project_id;
    ELSE
        pid := NEW.project_id;
    END IF;
    SELECT id, code, total_amount, start_year, end_year INTO p FROM projects_project WHERE id = pid;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(sum(amount), 0), count(*) FILTER (WHERE year < p.start_year OR year > p.end_year)
      INTO plan_sum, outside FROM projects_projectplan WHERE project_id = pid;
    IF outside > 0 THEN
        RAISE EXCEPTION 'project %: plan years outside % to %', p.code, p.start_year, p.end_year
            USING ERRCODE = '23514', CONSTRAINT = 'proj_plan_within_years';
    END IF;
    IF plan_sum <> p.total_amount THEN
        RAISE EXCEPTION 'project %: yearly plans add up to %, total is %', p.code, plan_sum, p.total_amount
            USING ERRCODE = '23514', CONSTRAINT = 'proj_plan_sum_total';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER projects_plan_total_on_plan
    AFTER INSERT OR UPDATE OR DELETE ON projects_projectplan
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION projects_check_plan_total();
CREATE CONSTRAINT TRIGGER projects_plan_total_on_project
    AFTER INSERT OR UPDATE OF total_amount, start_year, end_year ON projects_project
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION projects_check_plan_total();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS projects_plan_total_on_project ON projects_project;
DROP TRIGGER IF EXISTS projects_plan_total_on_plan ON projects_projectplan;
DROP FUNCTION IF EXISTS projects_check_plan_total();
"""


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]

    operations = [
        migrations.RunPython(load_categories, migrations.RunPython.noop),
        migrations.RunSQL(CHECK_SQL, DROP_SQL),
    ]
