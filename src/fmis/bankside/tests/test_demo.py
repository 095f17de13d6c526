"""The demo seed of the agent-bank business: every branch of seed 004 on the demo consortium,
statements that reconcile with the ledger, and idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from fmis.transfers import local


@pytest.mark.django_db(transaction=True)
def test_demo_seed_runs_every_branch_and_reconciles():
    from fmis.bankside import demo, statements
    from fmis.bankside.models import Merchant, Payment, PreApplication
    from fmis.orgs import demo as orgs_demo
    from fmis.transfers import demo as transfers_demo
    from fmis.transfers.tests.conftest import _empty_ledger_tables

    local.reset()
    _empty_ledger_tables()
    try:
        orgs_demo.seed(scale="small", with_dictionary=False)
        assert transfers_demo.seed_demo(scale="small")["created"] == 1
        out = demo.seed_demo(scale="small")
        assert out["created"] == 1 and out["merchants"] == 6
        assert {(p.branch, p.status) for p in Payment.objects.all()} >= {
            ("ledger", "paid"), ("suspense", "paid"), ("suspense", "suspense_booked"), ("core", "paid")}
        assert set(PreApplication.objects.values_list("status", flat=True)) == {"approved", "submitted", "rejected"}
        today = max(Payment.objects.values_list("date", flat=True))
        for m in Merchant.objects.filter(managed=True):
            assert statements.reconcile_with_ledger(m.account_no, today - dt.timedelta(days=7), today) == []
        assert demo.seed_demo(scale="small") == {"created": 0}
    finally:
        local.reset()
        _empty_ledger_tables()
