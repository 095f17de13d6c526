"""The simulated core-banking adapter: deterministic, idempotent on the request id, every result recorded."""

from __future__ import annotations

import pytest

from fmis.bankside.core_banking import CoreBanking, CoreConflict


def make() -> CoreBanking:
    c = CoreBanking("B001")
    c.open("A", balance=1_000)
    c.open("B")
    c.open("U", currency="USD")
    return c


def test_debit_and_credit_move_balances_and_record_results():
    c = make()
    d = c.debit(request_id="r1", account_no="A", amount=300, currency="CNY")
    k = c.credit(request_id="r2", account_no="B", amount=300, currency="CNY")
    assert (d.status, d.core_serial, k.status, k.core_serial) == ("ok", "B001C0000000001", "ok", "B001C0000000002")
    assert (c.balance("A"), c.balance("B")) == (700, 300)
    assert c.journal == [d, k]
    assert d.as_args() == {"request_id": "r1", "status": "ok", "core_serial": "B001C0000000001", "message": "",
                           "amount": 300}


def test_repeated_request_returns_the_recorded_result_without_applying_again():
    c = make()
    first = c.debit(request_id="r1", account_no="A", amount=300, currency="CNY")
    again = c.debit(request_id="r1", account_no="A", amount=300, currency="CNY")
    assert again == first and c.balance("A") == 700 and len(c.journal) == 1
    with pytest.raises(CoreConflict) as exc:
        c.debit(request_id="r1", account_no="A", amount=301, currency="CNY")
    assert exc.value.code == "core.request_conflict"
    with pytest.raises(CoreConflict):
        c.credit(request_id="r1", account_no="A", amount=300, currency="CNY")
    assert c.balance("A") == 700 and len(c.journal) == 1


@pytest.mark.parametrize(("kw", "code"), [
    ({"account_no": "A", "amount": 1_001, "currency": "CNY"}, "core.insufficient_funds"),
    ({"account_no": "Z", "amount": 1, "currency": "CNY"}, "core.account_unknown"),
    ({"account_no": "U", "amount": 1, "currency": "CNY"}, "core.currency_mismatch"),
    ({"account_no": "A", "amount": 0, "currency": "CNY"}, "core.amount_invalid"),
])
def test_refused_debits_are_failed_results_that_change_nothing(kw, code):
    c = make()
    r = c.debit(request_id="r1", **kw)
    assert (r.status, r.code, r.core_serial) == ("failed", code, "")
    assert r.message
    assert c.balance("A") == 1_000 and c.journal == [r]
    # the failure is recorded too: the same request gets the same answer even once it could succeed
    c.accounts["A"].balance = 10_000
    assert c.debit(request_id="r1", **kw) == r


def test_frozen_account_refuses():
    c = make()
    c.accounts["A"].frozen = True
    assert c.debit(request_id="r1", account_no="A", amount=1, currency="CNY").code == "core.account_frozen"


def test_refund_reverses_a_debit_once():
    c = make()
    c.debit(request_id="d1", account_no="A", amount=400, currency="CNY")
    r = c.refund(request_id="f1", original_request_id="d1")
    assert (r.status, r.account_no, r.amount) == ("ok", "A", 400)
    assert c.balance("A") == 1_000
    assert c.refund(request_id="f1", original_request_id="d1") == r and c.balance("A") == 1_000
    twice = c.refund(request_id="f2", original_request_id="d1")
    assert (twice.status, twice.code) == ("failed", "core.already_refunded")
    assert c.refund(request_id="f3", original_request_id="nope").code == "core.refund_no_debit"
    with pytest.raises(CoreConflict):
        c.refund(request_id="f1", original_request_id="other")
    assert c.balance("A") == 1_000


def test_same_requests_give_the_same_journal():
    def run() -> list:
        c = make()
        c.debit(request_id="a", account_no="A", amount=5, currency="CNY")
        c.debit(request_id="b", account_no="A", amount=5_000, currency="CNY")
        c.credit(request_id="c", account_no="B", amount=7, currency="CNY")
        c.refund(request_id="d", original_request_id="a")
        return c.journal

    assert run() == run()


def test_opening_checks():
    c = make()
    with pytest.raises(ValueError):
        c.open("A")
    with pytest.raises(ValueError):
        c.open("N", balance=-1)
