"""The exchange centre at volume: the flows table drops its row-by-row foreign key checks (the
import guarantees the references by construction; triggers guard the referenced rows), compares
account and serial numbers byte-wise, and the daily totals carry running totals so the reports
read a few index entries per account instead of aggregating every day of the period."""

import django.db.models.deletion
import fmis.platform.fields
from django.db import migrations, models

# running totals of the daily totals already there
BACKFILL = """
UPDATE bankaccounts_accountday d SET cum_income = x.ci, cum_expenditure = x.ce
FROM (SELECT id, SUM(income) OVER w AS ci, SUM(expenditure) OVER w AS ce FROM bankaccounts_accountday
      WINDOW w AS (PARTITION BY account_id ORDER BY day)) x
WHERE x.id = d.id
"""

# the referenced side of the foreign keys the flows table no longer checks row by row
GUARDS = """
CREATE FUNCTION bankacc_guard_account_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM bankaccounts_bankflow WHERE account_id = OLD.id)
       OR EXISTS (SELECT 1 FROM bankaccounts_accountday WHERE account_id = OLD.id) THEN
        RAISE EXCEPTION 'bank account % has flows and cannot be deleted or renumbered', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER bankacc_account_guard BEFORE DELETE OR UPDATE OF id ON bankaccounts_bankaccount
    FOR EACH ROW EXECUTE FUNCTION bankacc_guard_account_delete();

CREATE FUNCTION bankacc_guard_batch_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF OLD.kind = 'flows' AND OLD.inserted > 0 THEN
        RAISE EXCEPTION 'import batch % inserted flows and cannot be deleted or renumbered', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER bankacc_batch_guard BEFORE DELETE OR UPDATE OF id ON bankaccounts_importbatch
    FOR EACH ROW EXECUTE FUNCTION bankacc_guard_batch_delete();
"""
UNGUARD = """
DROP TRIGGER IF EXISTS bankacc_account_guard ON bankaccounts_bankaccount;
DROP TRIGGER IF EXISTS bankacc_batch_guard ON bankaccounts_importbatch;
DROP FUNCTION IF EXISTS bankacc_guard_account_delete();
DROP FUNCTION IF EXISTS bankacc_guard_batch_delete();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('bankaccounts', '0001_initial'),
        ('orgs', '0003_hierarchy_triggers'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='accountday',
            name='bankacc_day_uniq',
        ),
        migrations.RemoveIndex(
            model_name='accountday',
            name='bankacc_day_day_idx',
        ),
        migrations.AddField(
            model_name='accountday',
            name='cum_expenditure',
            field=fmis.platform.fields.MoneyField(default=0, help_text='该账户截至当日（含）的全部支出', verbose_name='累计支出'),
        ),
        migrations.AddField(
            model_name='accountday',
            name='cum_income',
            field=fmis.platform.fields.MoneyField(default=0, help_text='该账户截至当日（含）的全部收入', verbose_name='累计收入'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='accountday',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bankaccounts.bankaccount', verbose_name='银行账户'),
        ),
        migrations.AlterField(
            model_name='bankflow',
            name='account',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text='为空表示该账号未在财政登记', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='flows', to='bankaccounts.bankaccount', verbose_name='登记账户'),
        ),
        migrations.AlterField(
            model_name='bankflow',
            name='account_no',
            field=models.CharField(db_collation='C', max_length=32, verbose_name='账号'),
        ),
        migrations.AlterField(
            model_name='bankflow',
            name='bank',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='orgs.bank', verbose_name='银行'),
        ),
        migrations.AlterField(
            model_name='bankflow',
            name='batch',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bankaccounts.importbatch', verbose_name='交换批次'),
        ),
        migrations.AlterField(
            model_name='bankflow',
            name='serial_no',
            field=models.CharField(db_collation='C', max_length=64, verbose_name='银行流水号'),
        ),
        migrations.AddConstraint(
            model_name='accountday',
            constraint=models.UniqueConstraint(fields=('account', 'day'), include=('cum_income', 'cum_expenditure'), name='bankacc_day_uniq'),
        ),
        migrations.AddConstraint(
            model_name='accountday',
            constraint=models.CheckConstraint(condition=models.Q(('expenditure__gte', 0), ('income__gte', 0)), name='bankacc_day_nonnegative'),
        ),
        migrations.RemoveIndex(
            model_name='bankflow',
            name='bankacc_flow_account_day_idx',
        ),
        migrations.AddIndex(
            model_name='bankflow',
            index=models.Index(fields=['tx_date', 'account'], name='bankacc_flow_day_account_idx'),
        ),
        migrations.RunSQL(GUARDS, UNGUARD),
    ]
