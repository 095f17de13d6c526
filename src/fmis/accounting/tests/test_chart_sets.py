"""Account sets, periods and the standard chart."""

from __future__ import annotations

import itertools

import pytest

from fmis.accounting import chart, services
from fmis.accounting.models import Account, AccountSet, Period
from fmis.accounting.tests.conftest import cr, dr
from fmis.platform.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db


def test_standard_chart_has_77_financial_and_26_budgetary_accounts():
    top = [e for e in chart.standard_chart() if e.parent is None]
    assert len([e for e in top if e.basis == "financial"]) == 77
    assert len([e for e in top if e.basis == "budgetary"]) == 26
    codes = {e.code for e in chart.standard_chart()}
    assert not codes & set(chart.NOT_IN_CHART)


def test_account_set_gets_periods_chart_and_category(books):
    aset = books.aset
    periods = list(Period.objects.filter(account_set=aset).order_by("number"))
    assert [p.number for p in periods] == list(range(1, 14))
    for a, b in itertools.pairwise(periods[:12]):
        assert (b.start_date - a.end_date).days == 1
    assert periods[12].is_adjustment and periods[12].start_date == periods[12].end_date == periods[11].end_date
    acc = {a.code: a for a in Account.objects.filter(account_set=aset)}
    assert acc["800101"].full_name == "资金结存/零余额账户用款额度" and acc["800101"].level == 2
    assert not acc["8001"].is_leaf and acc["800103"].is_leaf
    assert acc["8001"].direction == "debit" and acc["8101"].direction == "credit"
    assert acc["1602"].direction == "credit" and acc["1601"].direction == "debit"
    assert acc["1002"].property == "bank" and acc["1212"].property == "current"
    assert acc["7201"].basis == "budgetary" and acc["5001"].basis == "financial"
    assert set(acc["720101"].aux_elements) <= set(acc["7201"].aux_elements)
    assert [c.code for c in aset.categories.all()] == ["01"]
    # loading again adds nothing
    assert services.reload_standard_chart(account_set_id=aset.pk, user=books.admin) == 0


def test_account_set_scope_and_bad_input(books):
    assert list(AccountSet.objects.restrict(books.entrant, "accounting.set.view")) == [books.aset]
    assert list(AccountSet.objects.restrict(books.outsider, "accounting.set.view")) == []
    with pytest.raises(ValidationFailed) as exc:
        services.create_account_set(data=services.AccountSetInput(code="X2", name="n", start_year=2026,
                                                                  agency_id=books.other_agency.pk,
                                                                  code_format="3-2-2"), user=books.admin)
    assert exc.value.code == "accounting.code_format_unfit"
    with pytest.raises(Conflict) as exc:
        services.create_account_set(data=services.AccountSetInput(code="1002", name="n", start_year=2026,
                                                                  agency_id=books.agency.pk), user=books.admin)
    assert exc.value.code == "accounting.set_primary_exists"
    assert AccountSet.objects.count() == 1
    with pytest.raises(NotFound):
        services.reload_standard_chart(account_set_id=books.aset.pk, user=books.outsider)


def test_open_next_year_keeps_periods_continuous(books):
    services.open_year(account_set_id=books.aset.pk, year=2027, user=books.admin)
    dec = Period.objects.get(account_set=books.aset, year=2026, number=12)
    jan = Period.objects.get(account_set=books.aset, year=2027, number=1)
    assert (jan.start_date - dec.end_date).days == 1
    with pytest.raises(ValidationFailed):
        services.open_year(account_set_id=books.aset.pk, year=2029, user=books.admin)


def test_chart_maintenance_rules(books):
    aset_id = books.aset.pk
    acc = services.add_account(account_set_id=aset_id, code="500101", name="办公费", user=books.entrant,
                               aux_elements=["func", "gov_eco"])
    assert acc.full_name == "业务活动费用/办公费" and acc.level == 2 and acc.direction == "debit"
    assert not Account.objects.get(account_set_id=aset_id, code="5001").is_leaf
    with pytest.raises(ValidationFailed) as exc:
        services.add_account(account_set_id=aset_id, code="500102", name="x", user=books.entrant,
                             aux_elements=["counterparty"])
    assert exc.value.code == "accounting.aux_not_subset"
    with pytest.raises(ValidationFailed):
        services.add_account(account_set_id=aset_id, code="5001011", name="x", user=books.entrant)
    # used accounts keep their direction; referenced accounts cannot be deleted
    books.post([dr("500101", 10), cr("1002", 10)])
    with pytest.raises(Conflict) as exc:
        services.update_account(account_id=acc.pk, direction="credit", user=books.entrant)
    assert exc.value.code == "accounting.account_used"
    with pytest.raises(Conflict):
        services.delete_account(account_id=acc.pk, user=books.entrant)
    with pytest.raises(Conflict):
        services.add_account(account_set_id=aset_id, code="100201", name="工行", user=books.entrant)
    # removing an element from a parent removes it from the children
    services.add_account(account_set_id=aset_id, code="510101", name="x", user=books.entrant,
                         aux_elements=["func", "project"])
    services.update_account(account_id=Account.objects.get(account_set_id=aset_id, code="5101").pk,
                            aux_elements=["func", "gov_eco"], user=books.entrant)
    assert Account.objects.get(account_set_id=aset_id, code="510101").aux_elements == ["func"]
    renamed = services.update_account(account_id=Account.objects.get(account_set_id=aset_id, code="5101").pk,
                                      name="管理费用", user=books.entrant)
    assert renamed.full_name == "管理费用"
    assert Account.objects.get(account_set_id=aset_id, code="510101").full_name == "管理费用/x"
    child = Account.objects.get(account_set_id=aset_id, code="510101")
    services.delete_account(account_id=child.pk, user=books.entrant)
    assert Account.objects.get(account_set_id=aset_id, code="5101").is_leaf


def test_export_import_copy_round_trip(books):
    services.add_account(account_set_id=books.aset.pk, code="500101", name="办公费", user=books.admin,
                         aux_elements=["func"])
    services.add_category(account_set_id=books.aset.pk, code="02", name="收款凭证", word="收", user=books.admin)
    services.add_aux_item(account_set_id=books.aset.pk, element="project", code="P01", name="项目一",
                          user=books.admin)
    data = services.export_account_set(books.aset)
    copy = services.copy_account_set(account_set_id=books.aset.pk, code="2001", name="副本",
                                     agency_id=books.other_agency.pk, user=books.admin, is_primary=True)
    assert services.export_account_set(copy)["accounts"] == data["accounts"]
    assert {c.code for c in copy.categories.all()} == {"01", "02"}
    assert copy.aux_items.get().code == "P01"
    # re-importing the same file changes nothing
    n_accounts = Account.objects.count()
    again, added = services.import_account_set(data={**data, "account_set": {**data["account_set"], "code": "2001"}},
                                               user=books.admin, agency_id=books.other_agency.pk)
    assert again.pk == copy.pk and added == 0 and Account.objects.count() == n_accounts


def test_malformed_import_writes_nothing(books):
    data = services.export_account_set(books.aset)
    data["account_set"]["code"] = "3001"
    data["accounts"].append({"code": "999901", "name": "x", "direction": "debit"})
    data["accounts"].append({"code": "500102", "name": "y", "direction": "sideways"})
    n_sets, n_accounts = AccountSet.objects.count(), Account.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.import_account_set(data=data, user=books.admin, region_id=books.region.pk, is_primary=False)
    assert exc.value.code == "accounting.import_invalid" and len(exc.value.errors) == 2
    assert {e["line"] for e in exc.value.errors} == {len(data["accounts"]) - 1, len(data["accounts"])}
    assert (AccountSet.objects.count(), Account.objects.count()) == (n_sets, n_accounts)
    with pytest.raises(ValidationFailed):
        services.import_account_set(data={"format": "other"}, user=books.admin, region_id=books.region.pk)
