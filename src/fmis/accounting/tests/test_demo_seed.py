"""The demo books: one primary account set per demo unit, deterministic and idempotent, whose
balances agree with their posted machine vouchers after the demo quota arrived."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fmis.accounting import demo
from fmis.accounting.models import AccountSet, Voucher
from fmis.accounting.services import check_balances
from fmis.indicators import demo as indicators_demo
from fmis.orgs import demo as orgs_demo


def snapshot() -> list[tuple]:
    return list(AccountSet.objects.order_by("code").values_list("code", "name", "agency__code", "start_year",
                                                                "is_primary", "machine_auto_post"))


@pytest.mark.django_db
def test_demo_books_are_deterministic_idempotent_and_receive_the_quota():
    orgs_demo.seed(scale="small")
    units = indicators_demo.unit_agency_codes("small")
    assert demo.seed_demo(scale="small", write=None) == {"created": len(units), "opened": 0,
                                                         "openings": len(units)}
    rows = snapshot()
    assert sorted(r[2] for r in rows) == sorted(units)
    year = timezone.localdate().year
    assert all(r[0] == demo.account_set_code(r[2]) and r[3] == year and r[4] and r[5] for r in rows)
    aset = AccountSet.objects.get(code=demo.account_set_code(units[0]))
    assert aset.periods.filter(year=year, is_adjustment=False).count() == 12
    assert aset.accounts.filter(code="1011").exists() and aset.accounts.filter(code="8001").exists()
    assert demo.seed_demo(scale="small", write=None) == {"created": 0, "opened": 0, "openings": 0}
    assert snapshot() == rows
    # the openings are posted, balanced per basis and in every period's balance rows
    from fmis.accounting.models import Balance, FiscalYear
    from fmis.accounting.services import opening_check

    assert FiscalYear.objects.filter(year=year, opening_status="posted").count() == len(units)
    assert opening_check(aset, year).balanced
    bank = demo.opening_figures(units[0])[0][1]
    assert Balance.objects.get(account_set=aset, account__code="1002", period__year=year, period__number=12
                               ).opening == bank

    # the indicators' confirmation posts the authorized quota into the books (direct payment
    # posts only when paid), and every balance agrees with the posted lines
    indicators_demo.seed_demo(scale="small", write=None)
    assert snapshot() == rows
    for aset in AccountSet.objects.all():
        assert check_balances(aset.pk) == []
        machine = Voucher.objects.filter(account_set=aset, is_machine=True)
        assert machine.count() == 1
        v = machine.get()
        assert v.status == "posted"
        assert v.lines.filter(account__code="1011", debit__gt=0).exists()
