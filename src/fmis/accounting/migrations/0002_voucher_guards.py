"""Database guards of the books (DESIGN.md invariants 1 and 4):

- accounting_voucher_balanced: a deferred constraint trigger; at commit, every voucher that had a
  line inserted, changed or deleted must balance within its financial lines and within its
  budgetary lines. Nothing unbalanced can be committed, whatever path wrote it.
- accounting_voucher_guard: a posted voucher cannot be changed or deleted; the only change allowed
  is un-posting (posted → audited, clearing the poster). Posting, un-posting and entering vouchers
  are refused in a closed period.
- accounting_line_guard: lines can only be written while their voucher is 已录入.
"""

from django.db import migrations

SQL = r"""
CREATE FUNCTION accounting_voucher_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    vid bigint;
    bad record;
BEGIN
    IF TG_OP = 'DELETE' THEN vid := OLD.voucher_id; ELSE vid := NEW.voucher_id; END IF;
    IF NOT EXISTS (SELECT 1 FROM accounting_voucher WHERE id = vid) THEN
        RETURN NULL;
    END IF;
    SELECT basis, sum(debit) AS d, sum(credit) AS c INTO bad
      FROM accounting_voucherline WHERE voucher_id = vid
     GROUP BY basis HAVING sum(debit) <> sum(credit) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'accounting.voucher_unbalanced: voucher % % lines do not balance (debit %, credit %)',
            vid, bad.basis, bad.d, bad.c USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER accounting_voucher_balanced
    AFTER INSERT OR UPDATE OR DELETE ON accounting_voucherline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accounting_voucher_balanced();

CREATE FUNCTION accounting_voucher_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pstatus text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'posted' THEN
            RAISE EXCEPTION 'accounting.voucher_posted: posted voucher % cannot be deleted', OLD.id
                USING ERRCODE = '23514';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT status INTO pstatus FROM accounting_period WHERE id = NEW.period_id;
        IF pstatus <> 'open' THEN
            RAISE EXCEPTION 'accounting.period_closed: period % is closed', NEW.period_id USING ERRCODE = '23514';
        END IF;
        IF NEW.status <> 'entered' THEN
            RAISE EXCEPTION 'accounting.voucher_insert_status: a voucher is inserted as entered'
                USING ERRCODE = '23514';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status = 'posted' THEN
        IF NEW.status = 'posted' THEN
            RAISE EXCEPTION 'accounting.voucher_posted: posted voucher % cannot be changed', OLD.id
                USING ERRCODE = '23514';
        END IF;
        IF NEW.status <> 'audited' OR NEW.posted_by_id IS NOT NULL OR NEW.posted_at IS NOT NULL
           OR (to_jsonb(NEW) - 'status' - 'posted_by_id' - 'posted_at')
              IS DISTINCT FROM (to_jsonb(OLD) - 'status' - 'posted_by_id' - 'posted_at') THEN
            RAISE EXCEPTION 'accounting.voucher_posted: posted voucher % can only be un-posted', OLD.id
                USING ERRCODE = '23514';
        END IF;
    END IF;
    IF (NEW.status = 'posted') <> (OLD.status = 'posted') OR NEW.period_id <> OLD.period_id THEN
        SELECT status INTO pstatus FROM accounting_period WHERE id = NEW.period_id;
        IF pstatus <> 'open' THEN
            RAISE EXCEPTION 'accounting.period_closed: period % is closed', NEW.period_id USING ERRCODE = '23514';
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounting_voucher_guard
    BEFORE INSERT OR UPDATE OR DELETE ON accounting_voucher
    FOR EACH ROW EXECUTE FUNCTION accounting_voucher_guard();

CREATE FUNCTION accounting_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    vstatus text;
    vid bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN vid := OLD.voucher_id; ELSE vid := NEW.voucher_id; END IF;
    SELECT status INTO vstatus FROM accounting_voucher WHERE id = vid;
    IF vstatus IS NOT NULL AND vstatus <> 'entered' THEN
        RAISE EXCEPTION 'accounting.voucher_not_editable: lines of % voucher % cannot be changed', vstatus, vid
            USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.voucher_id <> OLD.voucher_id THEN
        RAISE EXCEPTION 'accounting.line_moved: a line cannot move to another voucher' USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounting_line_guard
    BEFORE INSERT OR UPDATE OR DELETE ON accounting_voucherline
    FOR EACH ROW EXECUTE FUNCTION accounting_line_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounting_line_guard ON accounting_voucherline;
DROP FUNCTION IF EXISTS accounting_line_guard();
DROP TRIGGER IF EXISTS accounting_voucher_guard ON accounting_voucher;
DROP FUNCTION IF EXISTS accounting_voucher_guard();
DROP TRIGGER IF EXISTS accounting_voucher_balanced ON accounting_voucherline;
DROP FUNCTION IF EXISTS accounting_voucher_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
