"""Hierarchy rules the data-scope filters depend on, enforced by the database.

Scope rules such as "own region and below" and "own agency and below" select rows by code prefix,
so a child must sit inside its parent's code subtree:

* a region below a province or city starts with ``region_prefix(parent.code)`` (the same function
  as ``fmis.platform.codes.region_prefix``) and differs from it;
* a subordinate agency's code starts with its supervising department's code and is longer, and
  both belong to the same region.

A trigger raises ``check_violation`` naming the rule, so services can map a race to a clear error.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION orgs_region_prefix(code text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE p text := code;
BEGIN
  WHILE length(p) > 2 AND right(p, 2) = '00' LOOP
    p := left(p, length(p) - 2);
  END LOOP;
  RETURN p;
END $$;

CREATE OR REPLACE FUNCTION orgs_region_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE p record;
BEGIN
  IF NEW.parent_id IS NOT NULL THEN
    SELECT code, level INTO p FROM orgs_region WHERE id = NEW.parent_id;
    IF FOUND AND p.level > 0
       AND NOT (starts_with(NEW.code, orgs_region_prefix(p.code)) AND NEW.code <> p.code) THEN
      RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'orgs_region_parent_prefix',
        MESSAGE = format('region %s is outside the code subtree of its parent %s', NEW.code, p.code);
    END IF;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.code <> OLD.code AND NEW.level > 0 AND EXISTS (
      SELECT 1 FROM orgs_region c
       WHERE c.parent_id = NEW.id
         AND NOT (starts_with(c.code, orgs_region_prefix(NEW.code)) AND c.code <> NEW.code)) THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'orgs_region_parent_prefix',
      MESSAGE = format('region %s has children outside its new code', NEW.code);
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER orgs_region_check BEFORE INSERT OR UPDATE OF code, parent_id, level ON orgs_region
FOR EACH ROW EXECUTE FUNCTION orgs_region_check();

CREATE OR REPLACE FUNCTION orgs_agency_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE p record;
BEGIN
  IF NEW.parent_id IS NOT NULL THEN
    SELECT code, region_id INTO p FROM orgs_agency WHERE id = NEW.parent_id;
    IF FOUND THEN
      IF p.region_id <> NEW.region_id THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'orgs_agency_parent_region',
          MESSAGE = format('agency %s is not in the region of its supervising department %s', NEW.code, p.code);
      END IF;
      IF NOT (starts_with(NEW.code, p.code) AND length(NEW.code) > length(p.code)) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'orgs_agency_parent_prefix',
          MESSAGE = format('agency %s does not extend the code of its supervising department %s', NEW.code, p.code);
      END IF;
    END IF;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW.code <> OLD.code OR NEW.region_id <> OLD.region_id) AND EXISTS (
      SELECT 1 FROM orgs_agency c
       WHERE c.parent_id = NEW.id
         AND (c.region_id <> NEW.region_id OR NOT starts_with(c.code, NEW.code)
              OR length(c.code) <= length(NEW.code))) THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'orgs_agency_parent_prefix',
      MESSAGE = format('agency %s has subordinates that no longer fit under it', NEW.code);
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER orgs_agency_check BEFORE INSERT OR UPDATE OF code, parent_id, region_id ON orgs_agency
FOR EACH ROW EXECUTE FUNCTION orgs_agency_check();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS orgs_agency_check ON orgs_agency;
DROP FUNCTION IF EXISTS orgs_agency_check();
DROP TRIGGER IF EXISTS orgs_region_check ON orgs_region;
DROP FUNCTION IF EXISTS orgs_region_check();
DROP FUNCTION IF EXISTS orgs_region_prefix(text);
"""


class Migration(migrations.Migration):
    dependencies = (("orgs", "0002_integrity"),)

    operations = (migrations.RunSQL(FORWARD, BACKWARD),)
