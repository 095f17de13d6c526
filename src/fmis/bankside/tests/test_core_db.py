"""The persisted simulated core banking under concurrency: parallel debits never overdraw an
account, and a request repeated in parallel is applied once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from fmis.bankside.core_banking import db_core
from fmis.bankside.models import CoreEntry
from fmis.platform.money import to_fen


def _in_thread(fn):
    def run(arg):
        try:
            return fn(arg)
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
def test_parallel_debits_never_overdraw_a_core_account():
    core = db_core("901")
    core.open("ACC", balance=100_000)  # 1,000.00
    debit = _in_thread(lambda n: core.debit(request_id=f"d{n}", account_no="ACC", amount=3_750, currency="CNY"))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(debit, range(40)))  # 1,500.00 asked
    ok = [r for r in results if r.status == "ok"]
    assert len(ok) == 26 and {r.code for r in results if r.status == "failed"} == {"core.insufficient_funds"}
    assert core.balance("ACC") == 100_000 - 3_750 * 26 >= 0
    entries = CoreEntry.objects.filter(bank="901", operation="debit", status="ok")
    assert sum(to_fen(e.amount) for e in entries) == 3_750 * 26
    assert len({r.core_serial for r in ok}) == 26


@pytest.mark.django_db(transaction=True)
def test_a_request_repeated_in_parallel_is_applied_once():
    core = db_core("901")
    core.open("ACC", balance=10_000)
    debit = _in_thread(lambda _n: core.debit(request_id="pay-S1", account_no="ACC", amount=1_000, currency="CNY"))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(debit, range(16)))
    assert len(set(results)) == 1 and results[0].status == "ok"
    assert core.balance("ACC") == 9_000
    assert CoreEntry.objects.filter(bank="901", request_id="pay-S1").count() == 1
