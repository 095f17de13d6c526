"""Many payments of one merchant submitted in parallel through the outbox: the account is never
overdrawn, and its statement still reconciles with the ledger's bookkeeping and balance."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from fmis.bankside import statements
from fmis.bankside.models import Payment, StatementLine
from fmis.bankside.tests.test_bundle import BANK, _pay, world  # noqa: F401 - the fixture


@pytest.mark.django_db(transaction=True)
def test_parallel_payments_never_overdraw_and_the_statement_reconciles(world):  # noqa: F811
    from fmis.bankside import ledger
    from fmis.bankside.ledger import Acting
    from fmis.transfers.models import LedgerTx, MemberKey

    world.run(
        (BANK, "bankside.register_merchant", {"merchant_no": "M3", "name": "三号单位", "agency_code": "990003",
                                              "agency_name": "三号单位", "account_no": "A-M3", "currency": "CNY",
                                              "managed": True}),
        ("990000", "bankside.set_rule", {"merchant_no": "M3", "business_type": "utilities"}),
        (BANK, "bankside.fund", {"account_no": "A-M3", "amount": 10_000, "currency": "CNY", "reference": "Q3",
                                 "date": "2026-11-20"}),
    )
    key = MemberKey.objects.get(role="bank")
    acting = Acting(key.identity_id, key.region, "bank", world.signers[BANK])

    def submit(i: int) -> str:
        try:
            return ledger.submit(user=world.reader, acting=acting, ledger_function="bankside.pay",
                                 args=_pay(100 + i, merchant_no="M3", amount=500, date="2026-11-21"),
                                 action="bankside.pay")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(submit, range(40)))  # 20,000 fen asked, 10,000 available
    world.local.flush()
    world.local.apply_pending()

    outcomes = dict(LedgerTx.objects.filter(tx_id__in=ids).values_list("tx_id", "reason"))
    assert len(outcomes) == 40
    paid = [t for t, reason in outcomes.items() if reason == ""]
    assert len(paid) == 20 and set(outcomes.values()) == {"", "bank.insufficient_funds"}
    assert Payment.objects.filter(ledger_id__in=ids).count() == 20

    st = statements.projected_statement(StatementLine.objects.all(), account_no="A-M3", day=dt.date(2026, 11, 21),
                                        previous_days=1)
    assert (st.increase, st.decrease, st.closing, st.line_count) == (10_000, 10_000, 0, 21)
    assert min(ln.balance for ln in st.iter_lines()) == 0  # never below zero along the way
    assert statements.reconcile_with_ledger("A-M3", "2026-11-20", "2026-11-21") == []
    assert statements.reconcile_with_ledger("C1", "2026-11-20", "2026-11-21") == []
