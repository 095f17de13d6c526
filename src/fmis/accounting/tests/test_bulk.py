"""凭证批量导入: set-based loading and posting keeps every invariant of the per-voucher path."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections

from fmis.accounting import bulk, services
from fmis.accounting.bulk import BulkLine
from fmis.accounting.models import Balance, Period, Voucher, VoucherLine
from fmis.accounting.tests.conftest import YEAR, build_books
from fmis.accounting.tests.test_worked_entries import PAIRS
from fmis.platform.errors import NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord

D = Decimal
MAR = dt.date(YEAR, 3, 15)


def to_bulk(vouchers, *, prefix="v", on=MAR):
    """LineInput lists (as the worked-entry tests write them) → BulkLines, one ref per voucher."""
    out = []
    for i, lines in enumerate(vouchers, start=1):
        for li in lines:
            out.append(BulkLine(voucher_ref=f"{prefix}{i}", date=on, account_code=li.account_code, debit=li.debit,
                                credit=li.credit, summary=li.summary, aux=dict(li.aux)))
    return out


def worked_vouchers():
    """Every worked entry of the notes, with its date."""
    return [(on, lines) for _row, _t, on, vouchers in PAIRS for lines in vouchers]


def worked_bulk():
    out = []
    for i, (on, lines) in enumerate(worked_vouchers(), start=1):
        out += to_bulk([lines], prefix=f"w{i:02d}-", on=on)
    return out


def balance_table(aset):
    return sorted((b.period.number, b.account.code, b.aux_hash, b.opening, b.debit, b.credit, b.cum_debit,
                   b.cum_credit, b.closing)
                  for b in Balance.objects.filter(account_set=aset).select_related("period", "account"))


def counts(aset):
    return (Voucher.objects.filter(account_set=aset).count(),
            VoucherLine.objects.filter(voucher__account_set=aset).count(),
            Balance.objects.filter(account_set=aset).count(), AuditRecord.objects.count())


@pytest.fixture
def second_set(books):
    return services.create_account_set(
        data=services.AccountSetInput(code="1002", name="对照账套", start_year=YEAR, agency_id=books.agency.pk,
                                      is_primary=False), user=books.admin)


pytestmark = pytest.mark.django_db


def test_bulk_posting_equals_per_voucher_posting(books, second_set):
    # the same worked entries: by hand into one account set, in bulk into the other
    for on, lines in worked_vouchers():
        books.post(lines, on=on)
    res = bulk.import_vouchers(account_set_id=second_set.pk, lines=worked_bulk(), batch_key="worked", user=books.admin)
    assert res.created and res.posted and res.vouchers == len(worked_vouchers())
    assert res.lines == sum(len(lines) for _on, lines in worked_vouchers())
    assert balance_table(second_set) == balance_table(books.aset)
    assert services.check_balances(second_set.pk) == []
    # posted, numbered 1..n per period without gaps, in date order
    for p in Period.objects.filter(account_set=second_set):
        numbers = list(Voucher.objects.filter(period=p).order_by("number").values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
    assert set(Voucher.objects.filter(account_set=second_set).values_list("status", flat=True)) == {"posted"}
    v = Voucher.objects.filter(account_set=second_set).order_by("id").first()
    assert (v.entered_by_id, v.audited_by_id, v.posted_by_id) == (None, books.admin.pk, books.admin.pk)
    assert (v.source_type, v.source_id) == (bulk.SOURCE_TYPE, "worked")
    # one audit record for the batch
    recs = AuditRecord.objects.filter(action="accounting.voucher.bulk_import")
    assert recs.count() == 1
    assert recs.get().after["vouchers"] == res.vouchers


def test_bulk_continues_numbers_and_balances_after_hand_posting(books):
    books.post([  # a hand-posted voucher first
        services.LineInput("1011", debit=D("100"), summary="到账"), services.LineInput("4001", credit=D("100"), summary="到账"),
        services.LineInput("800101", debit=D("100"), summary="到账"),
        services.LineInput("600101", credit=D("100"), summary="到账")])
    lines = to_bulk([[services.LineInput("5001", debit=D("30"), summary="办公费"),
                      services.LineInput("1011", credit=D("30"), summary=""),
                      services.LineInput("720101", debit=D("30"), summary=""),
                      services.LineInput("800101", credit=D("30"), summary="")]] * 3)
    res = bulk.import_vouchers(account_set_id=books.aset.pk, lines=lines, batch_key="b1", user=books.admin)
    numbers = sorted(Voucher.objects.filter(account_set=books.aset).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4]
    assert services.check_balances(books.aset.pk) == []
    # an empty line summary takes the voucher's first one
    assert set(VoucherLine.objects.filter(voucher_id=res.first_voucher_id).values_list("summary", flat=True)) == {"办公费"}
    # later vouchers by hand go on from the bulk's numbers
    v = books.post([services.LineInput("5001", debit=D("1"), summary="x"), services.LineInput("1011", credit=D("1"),
                                                                                                  summary="x")])
    assert v.number == 5 and services.check_balances(books.aset.pk) == []


def test_same_batch_key_changes_nothing(books):
    lines = worked_bulk()
    first = bulk.import_vouchers(account_set_id=books.aset.pk, lines=lines, batch_key="k1", user=books.admin)
    before = counts(books.aset), balance_table(books.aset)
    again = bulk.import_vouchers(account_set_id=books.aset.pk, lines=lines, batch_key="k1", user=books.admin)
    assert not again.created
    assert (again.vouchers, again.lines, again.first_voucher_id) == (first.vouchers, first.lines, first.first_voucher_id)
    assert (counts(books.aset), balance_table(books.aset)) == before


def _refused(books, lines, key="bad"):
    before = counts(books.aset), balance_table(books.aset)
    with pytest.raises(ValidationFailed) as exc:
        bulk.import_vouchers(account_set_id=books.aset.pk, lines=lines, batch_key=key, user=books.admin)
    assert (counts(books.aset), balance_table(books.aset)) == before
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounting_vouchercounter c JOIN accounting_period p ON p.id = c.period_id "
                    "WHERE p.account_set_id = %s AND c.last > 0", [books.aset.pk])
        assert cur.fetchone()[0] == len({(v.period_id, v.series) for v in Voucher.objects.filter(account_set=books.aset)})
    return exc.value


def good(prefix="g", n=1, on=MAR):
    return to_bulk([[services.LineInput("1011", debit=D("10"), summary="到账"),
                     services.LineInput("4001", credit=D("10"), summary="到账"),
                     services.LineInput("800101", debit=D("10"), summary="到账"),
                     services.LineInput("600101", credit=D("10"), summary="到账")]] * n, prefix=prefix, on=on)


def test_unbalanced_budgetary_lines_refused_naming_voucher_and_line(books):
    bad = good(n=3)
    bad[11].credit = D("9.99")  # third voucher, its budgetary credit line
    err = _refused(books, bad)
    assert err.code == "accounting.bulk_invalid"
    assert err.errors[0]["voucher"] == "g3" and err.errors[0]["line"] == 11  # its first budgetary line
    assert "预算会计分录借贷不平衡" in err.message and "g3" in err.message


def test_non_leaf_unknown_account_closed_period_refused(books):
    bad = good(n=4)
    bad[0].account_code = "1201"        # not a leaf (1201 has sub-accounts)
    bad[4].account_code = "9999"        # unknown
    bad[12].debit, bad[12].credit = D("10"), D("10")  # both sides
    err = _refused(books, bad)
    messages = [e["message"] for e in err.errors]
    assert err.errors[0]["line"] == 1 and "不是末级科目" in messages[0]
    assert any("9999 不存在" in m for m in messages)
    assert any(e["line"] == 13 and "必须且只能填写一个" in e["message"] for e in err.errors)


def test_closed_period_refused(books):
    jan = Period.objects.get(account_set=books.aset, year=YEAR, number=1)
    services.close_period(period_id=jan.pk, user=books.admin)
    err = _refused(books, good(on=dt.date(YEAR, 1, 10)) + good(prefix="m"))
    assert err.errors[0]["line"] == 1 and "已结账" in err.errors[0]["message"]


def test_aux_not_enabled_and_missing_dictionary_value_refused(books):
    lines = good(n=2)
    lines[0].aux = {"project": "P1"}     # 1011 does not carry 项目
    lines[6].aux = {"fund_type": "99"}   # 800101 carries 资金性质, but 99 is not a value
    err = _refused(books, lines)
    assert err.errors[0]["line"] == 1 and "未启用辅助核算" in err.errors[0]["message"]
    assert any(e["line"] == 7 and e["field"] == "aux" for e in err.errors)


def test_malformed_money_and_header_mismatch_refused(books):
    lines = good(n=2)
    lines[1].debit, lines[1].credit = "", "abc"
    err = _refused(books, lines)
    assert err.errors[0]["line"] == 2 and "金额格式不正确" in err.errors[0]["message"]
    lines = good(n=2)
    lines[5].date = dt.date(YEAR, 3, 16)
    err = _refused(books, lines)
    assert err.errors[0]["line"] == 6 and "必须一致" in err.errors[0]["message"]


def test_out_of_scope_account_set_is_not_found(books):
    with pytest.raises(NotFound):
        bulk.import_vouchers(account_set_id=books.aset.pk, lines=good(), batch_key="x", user=books.outsider)
    assert not Voucher.objects.filter(account_set=books.aset).exists()


def test_without_post_function_refused(books, make_role, make_user):
    role = make_role("acc_entry_only", ["accounting.set.view", "accounting.voucher.view", "accounting.voucher.create"],
                     rules=[("agency", "own_agency", [])])
    clerk = make_user("clerk", roles=[role], agency=books.agency)
    before = counts(books.aset)
    with pytest.raises(PermissionDenied):
        bulk.import_vouchers(account_set_id=books.aset.pk, lines=good(), batch_key="x", user=clerk)
    # entering only (no posting) is within the clerk's functions
    res = bulk.import_vouchers(account_set_id=books.aset.pk, lines=good(n=2), batch_key="x", user=clerk, post=False)
    assert counts(books.aset)[0] == before[0] + 2 and not res.posted
    v = Voucher.objects.get(pk=res.first_voucher_id)
    assert v.status == "entered" and v.entered_by_id == clerk.pk
    assert Balance.objects.filter(account_set=books.aset).count() == 0
    # the normal review follows: audited by someone else, posted, balances exact
    services.audit_voucher(voucher_id=v.pk, user=books.auditor)
    services.post_voucher(voucher_id=v.pk, user=books.auditor)
    assert services.check_balances(books.aset.pk) == []


def test_posted_bulk_vouchers_are_guarded_like_any_other(books):
    res = bulk.import_vouchers(account_set_id=books.aset.pk, lines=good(), batch_key="g", user=books.admin)
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        VoucherLine.objects.filter(voucher_id=res.first_voucher_id, line_no=1).update(debit=D("11"))
    # and a reversal works on them
    rv = services.reverse_voucher(voucher_id=res.first_voucher_id, user=books.entrant, date=MAR)
    services.audit_voucher(voucher_id=rv.pk, user=books.auditor)
    services.post_voucher(voucher_id=rv.pk, user=books.auditor)
    assert services.check_balances(books.aset.pk) == []


@pytest.mark.django_db(transaction=True)
def test_parallel_bulk_and_hand_posting_keep_numbers_and_balances(dictionary, make_region, make_agency, make_role,
                                                                  make_user):
    b = build_books(make_region, make_agency, make_role, make_user)
    start = threading.Barrier(6)

    def run(i):
        start.wait()
        try:
            if i < 3:
                bulk.import_vouchers(account_set_id=b.aset.pk, lines=good(prefix=f"t{i}-", n=20), batch_key=f"p{i}",
                                     user=b.admin)
            elif i < 5:
                for _ in range(5):
                    b.post([services.LineInput("5001", debit=D("2"), summary="x"),
                            services.LineInput("1011", credit=D("2"), summary="x"),
                            services.LineInput("720101", debit=D("2"), summary="x"),
                            services.LineInput("800101", credit=D("2"), summary="x")])
            else:  # the same batch key as thread 0: imported once only
                bulk.import_vouchers(account_set_id=b.aset.pk, lines=good(prefix="t0-", n=20), batch_key="p0",
                                     user=b.admin)
            return "ok"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(run, range(6)))
    assert results == ["ok"] * 6
    numbers = sorted(Voucher.objects.filter(account_set=b.aset).values_list("number", flat=True))
    assert numbers == list(range(1, 3 * 20 + 2 * 5 + 1))
    assert Voucher.objects.filter(account_set=b.aset, source_id="p0").count() == 20
    assert services.check_balances(b.aset.pk) == []
    with connection.cursor() as cur:
        cur.execute("SELECT sum(last) FROM accounting_vouchercounter c JOIN accounting_period p ON p.id = c.period_id "
                    "WHERE p.account_set_id = %s", [b.aset.pk])
        assert cur.fetchone()[0] == len(numbers)


CSV = ("凭证编号,日期,摘要,科目编码,借方金额,贷方金额,支出功能分类,政府支出经济分类\n"
       "A1,2026-03-05,付办公费,5001,30.00,,2010101,50201\n"
       "A1,2026-03-05,,1011,,30.00,,\n"
       "A1,2026-03-05,,720101,30.00,,2010101,50201\n"
       "A1,2026-03-05,,800101,,30.00,,\n"
       "A2,2026-03-06,折旧,5001,2.00,,,\n"
       "A2,2026-03-06,折旧,1602,,2.00,,\n")


def test_csv_file_import_is_idempotent_by_content(books):
    content = CSV.encode("utf-8-sig")
    res = bulk.import_file(account_set_id=books.aset.pk, content=content, filename="v.csv", user=books.admin)
    assert (res.created, res.vouchers, res.lines) == (True, 2, 6)
    line = VoucherLine.objects.get(voucher_id=res.first_voucher_id, line_no=1)
    assert line.aux == {"func": "2010101", "gov_eco": "50201"} and line.summary == "付办公费"
    assert services.check_balances(books.aset.pk) == []
    again = bulk.import_file(account_set_id=books.aset.pk, content=content, filename="v.csv", user=books.admin)
    assert not again.created and Voucher.objects.filter(account_set=books.aset).count() == 2
    # the same content in GB18030 (as Excel saves CSV on Chinese Windows) reads the same
    other = bulk.read_file(CSV.encode("gb18030"), "v.csv")
    assert [(x.voucher_ref, x.account_code, x.debit) for x in other] == [
        (x.voucher_ref, x.account_code, x.debit) for x in bulk.read_file(content, "v.csv")]


def test_malformed_file_names_rows_and_imports_nothing(books):
    bad = CSV.replace("2026-03-06,折旧,5001,2.00", "2026-13-06,折旧,5001,2.00").replace("30.00,,2010101", "3x,,2010101", 1)
    before = counts(books.aset)
    with pytest.raises(ValidationFailed) as exc:
        bulk.import_file(account_set_id=books.aset.pk, content=bad.encode(), filename="v.csv", user=books.admin)
    assert [e["line"] for e in exc.value.errors] == [2, 6]
    assert counts(books.aset) == before
    with pytest.raises(ValidationFailed) as exc:
        bulk.import_file(account_set_id=books.aset.pk, content="凭证编号,日期\nA,2026-03-01\n".encode(),
                         filename="v.csv", user=books.admin)
    assert exc.value.code == "import.missing_columns"


def test_import_screen_with_xlsx(books, client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from fmis.platform.xlsx import build_workbook

    rows = [r.split(",") for r in CSV.strip().splitlines()[1:]]
    content = build_workbook(CSV.splitlines()[0].split(","), rows)
    client.force_login(books.entrant)
    url = reverse("accounting:voucher_import")
    assert client.get(url).status_code == 200
    assert client.get(url, {"template": "xlsx"})["Content-Type"].startswith("application/vnd.openxmlformats")
    resp = client.post(url, {"file": SimpleUploadedFile("v.xlsx", content), "post": "1"})
    assert resp.status_code == 302
    vs = Voucher.objects.filter(account_set=books.aset)
    assert vs.count() == 2 and set(vs.values_list("status", flat=True)) == {"posted"}
    assert services.check_balances(books.aset.pk) == []
    bad = client.post(url, {"file": SimpleUploadedFile("b.csv", CSV.replace("1602,,2.00", "1602,,2.50").encode())})
    html = bad.content.decode()
    assert bad.status_code == 200 and "借贷不平衡" in html and "A2" in html and vs.count() == 2
