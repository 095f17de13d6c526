"""Many payments for one merchant account submitted in parallel through the services, on the live
local node: the account is never overdrawn, every refusal is for insufficient funds, the projected
balance is the funds less the valid payments, and the statement reconciles with the ledger."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from fmis.bankside import selectors, services, statements
from fmis.bankside.models import Merchant, Payment, StatementLine
from fmis.bankside.tests.test_services import DAY, env, info, setup_business  # noqa: F401
from fmis.transfers import local

AMOUNT = Decimal("37.50")


def _submit_all(op, numbers, *, flush_every: int | None = None):
    """Each thread submits its payments (its own database connection); optionally a flush while
    others are still submitting."""

    def one(n: int) -> str:
        try:
            out = services.pay(user=op, apply=False, **info(n, amount=AMOUNT))
            if flush_every and n % flush_every == 0:
                local.flush()
            return out.tx_id
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, numbers))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flush_every", [None, 7])
def test_parallel_payments_never_overdraw_the_merchant_account(env, flush_every):  # noqa: F811
    setup_business(env, funded=Decimal("500.00"))
    tx_ids = _submit_all(env["op"], range(100, 124), flush_every=flush_every)  # 900.00 asked, 500.00 funded
    local.flush()
    outcomes = [services.ledger.outcome(t) for t in tx_ids]
    valid = [o for o in outcomes if o.status == "valid"]
    refused = [o for o in outcomes if o.status == "invalid"]
    assert len(valid) + len(refused) == len(tx_ids)  # nothing left pending
    assert len(valid) == 13 and refused  # 13 × 37.50 = 487.50 ≤ 500.00 < 14 × 37.50
    assert {o.reason for o in refused} == {"bank.insufficient_funds"}
    paid = Payment.objects.filter(ledger_id__in=[o.tx_id for o in valid])
    assert paid.count() == len(valid) and not Payment.objects.filter(ledger_id__in=[o.tx_id for o in refused])
    balance = Merchant.objects.get(merchant_no="M1").balance
    assert balance == Decimal("500.00") - AMOUNT * len(valid) >= 0
    assert not StatementLine.objects.filter(account_no="A-M1", balance__lt=0).exists()
    st = selectors.statement(user=env["fin"], account_no="A-M1", day=DAY)
    assert (st.opening, st.increase, st.decrease) == (0, 50_000, 3_750 * len(valid))
    assert st.closing == int(balance * 100)
    assert statements.reconcile_with_ledger("A-M1", DAY, DAY) == []
    customer = selectors.statement(user=env["fin"], account_no="C1", day=DAY)
    assert customer.closing == 3_750 * len(valid)
