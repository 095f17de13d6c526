"""The demo: shared reports of the province's accounting centre, computed on a unit's books by the
unit accountant after the demo quota arrived; deterministic and idempotent."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fmis.accounting import demo as accounting_demo
from fmis.accounting import selectors as acc_selectors
from fmis.accounting.models import AccountSet
from fmis.iam.models import User
from fmis.indicators import demo as indicators_demo
from fmis.orgs import demo as orgs_demo
from fmis.reports import demo, selectors
from fmis.reports.models import CustomReport


@pytest.mark.django_db
def test_demo_reports_compute_on_unit_books():
    orgs_demo.seed(scale="small")
    accounting_demo.seed_demo(scale="small", write=None)
    indicators_demo.seed_demo(scale="small", write=None)
    first = demo.seed_demo(scale="small", write=None)
    assert first["custom_reports"] == 2
    snapshot = list(CustomReport.objects.order_by("code").values_list("code", "name", "cells", "account_set_id"))
    assert demo.seed_demo(scale="small", write=None) == {"statements": 0, "custom_reports": 0}
    assert list(CustomReport.objects.order_by("code").values_list("code", "name", "cells", "account_set_id")) \
        == snapshot
    unit = next(u for u in orgs_demo.plan("small").users if u.role_code == "unit_accountant")
    user = User.objects.get(username=unit.username)
    aset = AccountSet.objects.get(code=accounting_demo.account_set_code(unit.agency_code))
    year, month = timezone.localdate().year, timezone.localdate().month
    report = selectors.custom_reports(user=user).get(code="ZJSZ")
    res = selectors.compute_custom(user=user, report_id=report.pk, account_set_id=aset.pk, year=year, period=month)
    cells = {c["key"]: c for row in res.grid for c in row}
    tb = {r.code: r for r in acc_selectors.trial_balance(user=user, aset_id=aset.pk, year=year, number=month).rows}
    assert not res.errors and cells["C2"]["value"] > 0
    assert cells["C2"]["value"] == tb["6001"].cum_credit and cells["D7"]["value"] == tb["8001"].closing
    bs = selectors.statement(user=user, account_set_id=aset.pk, code="balance_sheet", year=year, period=month)
    assert all(c.ok for c in bs.checks)
