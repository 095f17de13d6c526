"""The fast paths of the exchange centre and the reports give exactly what the plain rules give.

* The reports read running totals of the daily totals; on random flows delivered in random order
  (late days, messages repeating known serials, an account registered after its flows arrived,
  initialisation dates inside the period) every figure equals a straightforward aggregate over
  the flows, for every user's scope.
* The import's fast line check is never laxer than the line rules: every malformed value is
  refused with the rule's message and its line, and nothing is written; values the rules accept
  are imported even where the fast check is stricter.
* Imports of one bank run one after another, so concurrent deliveries keep the running totals
  right; the rows the flows table no longer checks row by row are guarded from the other side.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import threading
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from fmis.bankaccounts import functions as F
from fmis.bankaccounts import selectors, services
from fmis.bankaccounts.models import AccountDay, BankAccount, BankFlow, Currency, ImportBatch
from fmis.bankaccounts.tests.conftest import READER_FUNCTIONS, do_import, flows_csv, register
from fmis.banksim import flows as sim
from fmis.platform.errors import ValidationFailed

D0 = dt.date(2026, 3, 2)
DAYS = [D0 + dt.timedelta(days=i) for i in range(8)]
ACCT = "6222000000000001"


def _message(bank_code: str, day: dt.date, flows: list[sim.Flow]) -> bytes:
    return b"".join(sim.iter_flows_csv(bank_code, day, flows))


def _flow(account_no: str, serial: str, day: dt.date, direction: str, amount: Decimal, currency: str,
          second: int = 0) -> sim.Flow:
    return sim.Flow(account_no, serial, dt.datetime.combine(day, dt.time(9)) + dt.timedelta(seconds=second),
                    direction, amount, currency, Decimal("0.00"), "对方单位", "6200000000001", "摘要")


def _random_world(world, rng: random.Random) -> list[BankAccount]:
    """Accounts across agencies, banks and currencies; random flows over eight days delivered in a
    random order, some messages repeating known lines; one account registered afterwards."""
    agencies = [world.unit, world.dept, world.county_dept]
    banks = [world.bank, world.bank2]
    accounts, specs = [], []
    for i in range(10):
        agency, bank = agencies[i % 3], banks[i % 2]
        currency = "USD" if i % 4 == 3 else "CNY"
        opening = {"fiscal": Decimal(rng.randint(0, 500_000)) / 100} if i % 3 else None
        specs.append((agency, bank, f"62220000000010{i:02d}", currency, opening))
    late = specs.pop()  # registered only after its flows have arrived
    for agency, bank, number, currency, opening in specs:
        accounts.append(register(world, agency=agency, bank=bank, number=number, currency=currency, opening=opening,
                                 opened_on=dt.date(2026, 1, 5)))
    # initialisation dates inside the period: flows up to that day are part of the initial balance
    for acct in accounts[1:4]:
        services.set_opening_balance(user=world.treasury, account_id=acct.pk, opening=services.OpeningItems(
            initialized_on=rng.choice(DAYS), items={"fiscal": Decimal(rng.randint(0, 90_000)) / 100}))
    numbers = {b.code: [(n, c) for _a, bk, n, c, _o in [*specs, late] if bk.code == b.code] for b in banks}
    messages = []
    serial = 0
    for day in DAYS:
        for bank in banks:
            flows = []
            for number, currency in numbers[bank.code]:
                for _k in range(rng.randint(0, 3)):
                    serial += 1
                    flows.append(_flow(number, f"R{serial:06d}", day, rng.choice("CD"),
                                       Decimal(rng.randint(1, 2_000_000)) / 100, currency, serial % 3600))
            if flows:
                messages.append((bank.code, day, flows))
                if rng.random() < 0.3:  # a second message of the day repeating some of the lines
                    extra = [_flow(flows[0].account_no, f"X{serial:06d}", day, "C", Decimal("1.23"),
                                   flows[0].currency)]
                    messages.append((bank.code, day, flows[: len(flows) // 2] + extra))
    rng.shuffle(messages)
    for code, day, flows in messages:
        do_import(world.treasury, _message(code, day, flows))
    agency, bank, number, currency, opening = late
    accounts.append(register(world, agency=agency, bank=bank, number=number, currency=currency, opening=opening,
                             opened_on=dt.date(2026, 1, 5)))
    return accounts


def _expected(user, function: str, date_from: dt.date, date_to: dt.date) -> dict[int, tuple]:
    """Per visible account: (income, expenditure, balance), straight from the flows."""
    out = {}
    visible = BankAccount.objects.restrict(user, function).filter(status="active", opened_on__lte=date_to)
    for acct in visible:
        income = expenditure = net = Decimal("0.00")
        for f in BankFlow.objects.filter(account=acct):
            signed = f.amount if f.direction == "C" else -f.amount
            if date_from <= f.tx_date <= date_to:
                if f.direction == "C":
                    income += f.amount
                else:
                    expenditure += f.amount
            if f.tx_date <= date_to and (acct.initialized_on is None or f.tx_date > acct.initialized_on):
                net += signed
        out[acct.pk] = (income, expenditure, acct.opening_balance + net)
    return out


def _grouped(expected: dict[int, tuple], key) -> dict[tuple, list]:
    groups: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    for acct in BankAccount.objects.filter(pk__in=list(expected)).select_related("agency", "department", "bank"):
        g = groups[key(acct)]
        inc, exp, bal = expected[acct.pk]
        g[0] += 1
        g[1] += inc
        g[2] += exp
        g[3] += bal
    return groups


def _cur(code: str) -> str:
    return str(Currency(code).label)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [11, 29])
def test_reports_equal_a_plain_aggregate_over_the_flows(world, make_role, make_user, seed):
    rng = random.Random(seed)
    accounts = _random_world(world, rng)
    assert BankFlow.objects.filter(account__isnull=True).count() == 0  # the late account was relinked
    assert AccountDay.objects.filter(account=accounts[-1]).exists()
    cashier = make_user("cashier", roles=[make_role("cashier", READER_FUNCTIONS,
                                                    rules=[("agency", "own_agency_tree", [])])],
                        agency=world.dept, password=None)
    users = [world.treasury, world.province_reader, world.county_reader, cashier]
    windows = [(DAYS[0], DAYS[-1]), (DAYS[2], DAYS[5]), (DAYS[3], DAYS[3]), (D0 - dt.timedelta(days=9), DAYS[1]),
               (DAYS[-1] + dt.timedelta(days=1), DAYS[-1] + dt.timedelta(days=3))]
    for user in users:
        for date_from, date_to in windows:
            f = selectors.Filters(date_from=date_from, date_to=date_to)
            where = (user.username, date_from, date_to)

            exp = _expected(user, F.REPORT_UNIT, date_from, date_to)
            want = _grouped(exp, lambda a: (a.agency.code, a.agency.name, _cur(a.currency)))
            got = selectors.report_unit(user=user, filters=f).rows
            assert got == [[*k, *v] for k, v in sorted(want.items(), key=lambda kv: (kv[0][0], kv[0][2]))], where

            exp = _expected(user, F.REPORT_DEPT, date_from, date_to)
            want = _grouped(exp, lambda a: (a.department.code, a.department.name, _cur(a.currency)))
            got = selectors.report_department(user=user, filters=f).rows
            assert got == [[*k, *v] for k, v in sorted(want.items(), key=lambda kv: (kv[0][0], kv[0][2]))], where

            exp = _expected(user, F.REPORT_BANK, date_from, date_to)
            want = _grouped(exp, lambda a: (a.bank.code, a.bank.name, _cur(a.currency)))
            got = selectors.report_bank(user=user, filters=f).rows
            assert got == [[*k, *v] for k, v in sorted(want.items(), key=lambda kv: (kv[0][0], kv[0][2]))], where

            exp = _expected(user, F.REPORT_BALANCES, date_from, date_to)
            got = selectors.report_balances(user=user, filters=f).rows
            by_number = {a.number: exp[a.pk] for a in BankAccount.objects.filter(pk__in=list(exp))}
            assert {r[2]: tuple(r[9:12]) for r in got} == by_number, where
            for acct_id, (_inc, _exp, balance) in exp.items():
                assert selectors.balance_of(user=world.treasury, account_id=acct_id, day=date_to) == balance
    # the balance filters of the unit report select on the same figures
    f = selectors.Filters(date_from=DAYS[0], date_to=DAYS[-1], balance_gt=Decimal(1000))
    rows = selectors.report_unit(user=world.treasury, filters=f).rows
    assert rows and all(r[6] > Decimal(1000) for r in rows)


@pytest.mark.django_db
def test_running_totals_follow_late_deliveries_and_repeats(world):
    acct = register(world, opening={"fiscal": Decimal("100.00")}, opened_on=dt.date(2026, 1, 1))
    d1, d2, d3 = DAYS[:3]
    do_import(world.treasury, flows_csv("901", d3, [(ACCT, "S3", "C", "30.00")]))
    do_import(world.treasury, flows_csv("901", d1, [(ACCT, "S1", "C", "10.00")]))  # late
    do_import(world.treasury, flows_csv("901", d2, [(ACCT, "S2", "D", "2.50")]))  # late
    # a second message of d2 repeating S2 and adding S4
    do_import(world.treasury, flows_csv("901", d2, [(ACCT, "S2", "D", "2.50"), (ACCT, "S4", "C", "1.00")]))
    rows = list(AccountDay.objects.filter(account=acct).order_by("day")
                .values_list("day", "income", "expenditure", "flows", "cum_income", "cum_expenditure"))
    assert rows == [(d1, Decimal("10.00"), Decimal("0.00"), 1, Decimal("10.00"), Decimal("0.00")),
                    (d2, Decimal("1.00"), Decimal("2.50"), 2, Decimal("11.00"), Decimal("2.50")),
                    (d3, Decimal("30.00"), Decimal("0.00"), 1, Decimal("41.00"), Decimal("2.50"))]
    assert selectors.balance_of(user=world.treasury, account_id=acct.pk, day=d2) == Decimal("108.50")


def _counts():
    return (BankFlow.objects.count(), AccountDay.objects.count(), ImportBatch.objects.count(),
            list(AccountDay.objects.order_by("pk").values_list("cum_income", "cum_expenditure")))


# (field value, where it goes, what the refusal says)
MALFORMED = [
    ("amount", "007.50", "不是有效的数字"), ("amount", ".5", "不是有效的数字"), ("amount", "5.", "不是有效的数字"),
    ("amount", "1..2", "不是有效的数字"), ("amount", "+5", "不是有效的数字"), ("amount", " 5", "不是有效的数字"),
    ("amount", "1.234", "不是有效的数字"), ("amount", "1e5", "不是有效的数字"), ("amount", "0", "大于零"),
    ("amount", "0.00", "大于零"), ("amount", "-3", "负数"), ("amount", "", "不是有效的数字"),
    ("amount", "1234567890123456789", "不是有效的数字"),
    ("balance", "-", "余额"), ("balance", "--5", "余额"), ("balance", "05", "余额"), ("balance", "1.2.3", "余额"),
    ("balance", "5-", "余额"), ("balance", "1234567890123456789", "余额"),
    ("time", "2026-03-02T24:00:00", "业务日期"), ("time", "2026-03-02T10:60:00", "交易时间"),
    ("time", "2026-03-02T9:00:00", "交易时间"), ("time", "2026-03-02X10:00:00", "交易时间"),
    ("time", "2026-03-03T10:00:00", "业务日期"), ("time", "2026-02-30T10:00:00", "交易时间"),
    ("account", "6222-00000000001", "账号"), ("account", "6222", "账号"), ("account", "6" * 33, "账号"),
    ("serial", "S 1", "流水号"), ("serial", "S" * 65, "流水号"), ("serial", "", "流水号"),
    ("direction", "X", "收支方向"), ("direction", "", "收支方向"), ("direction", "CD", "收支方向"),
    ("currency", "cny", "币种"), ("currency", "CN", "币种"), ("currency", "CNYY", "币种"),
    ("summary", "长" * 201, "摘要"),
]


def _csv_line(**over) -> str:
    v = {"account": ACCT, "serial": "S9", "time": "2026-03-02T10:00:00", "direction": "C", "amount": "10.00",
         "currency": "CNY", "balance": "", "summary": "摘要"}
    v.update(over)
    return (f"{v['account']},{v['serial']},{v['time']},{v['direction']},{v['amount']},{v['currency']},"
            f"{v['balance']},对方单位,6200000000001,{v['summary']}\n")


def _csv(lines: list[str]) -> bytes:
    return (f"# fmis-bank-message; type=flows; version=1.0; bank=901; date={D0.isoformat()}; encoding=UTF-8\n"
            f"{sim.FLOW_HEADER}\n" + "".join(lines)).encode("utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "words"), MALFORMED)
def test_the_fast_check_is_never_laxer_than_the_line_rules(world, field, value, words):
    register(world, opened_on=dt.date(2026, 1, 1))
    do_import(world.treasury, _csv([_csv_line(serial="S1")]))
    before = _counts()
    lines = [_csv_line(serial=f"S{i}") for i in range(2, 5)] + [_csv_line(**{"serial": "S5", field: value})]
    with pytest.raises(ValidationFailed) as exc:
        do_import(world.treasury, _csv(lines))
    assert exc.value.code == "bankaccounts.lines_invalid", exc.value.message
    assert words in exc.value.message and exc.value.line == 6, exc.value.message
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [("amount", "0.05"), ("amount", "0.5"), ("amount", "123456789012.99"),
                                              ("balance", "-12.50"), ("balance", "0"), ("balance", "-0.01"),
                                              ("time", "2026-03-02 23:59:59"), ("time", "2026-03-02T10:00:60"),
                                              ("amount", "12345678901234567.5")])
def test_values_the_rules_accept_are_imported(world, field, value):
    acct = register(world, opened_on=dt.date(2026, 1, 1))
    r = do_import(world.treasury, _csv([_csv_line(serial="S1"), _csv_line(serial="S2", **{field: value})]))
    assert r.inserted == 2
    day = AccountDay.objects.get(account=acct, day=D0)
    amount = Decimal(value) if field == "amount" else Decimal("10.00")
    assert (day.income, day.cum_income, day.flows) == (Decimal("10.00") + amount, Decimal("10.00") + amount, 2)


@pytest.mark.django_db
def test_closed_account_and_currency_lines_are_refused_whole(world):
    register(world, opened_on=dt.date(2026, 1, 1))
    register(world, number="6222000000000002", currency="USD", opened_on=dt.date(2026, 1, 1))
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        do_import(world.treasury, _csv([_csv_line(serial="S1"), _csv_line(serial="S2", account="6222000000000002")]))
    assert exc.value.code == "bankaccounts.lines_invalid" and exc.value.line == 4
    assert "币种 CNY 与登记账户 6222000000000002 的币种 USD 不符" in exc.value.message
    assert _counts() == before


@pytest.mark.django_db
def test_a_serial_known_from_another_day_is_refused_and_writes_nothing(world):
    register(world, opened_on=dt.date(2026, 1, 1))
    do_import(world.treasury, flows_csv("901", DAYS[0], [(ACCT, "S1", "C", "10.00")]))
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        do_import(world.treasury, flows_csv("901", DAYS[1], [(ACCT, "S2", "C", "1.00"), (ACCT, "S1", "C", "10.00")]))
    assert exc.value.code == "bankaccounts.serial_conflict" and exc.value.line == 4
    assert _counts() == before


@pytest.mark.django_db
def test_rows_behind_the_unchecked_references_cannot_be_deleted(world):
    acct = register(world, opened_on=dt.date(2026, 1, 1))
    r = do_import(world.treasury, flows_csv("901", D0, [(ACCT, "S1", "C", "10.00")]))
    for sql, arg in (("DELETE FROM bankaccounts_bankaccount WHERE id = %s", acct.pk),
                     ("DELETE FROM bankaccounts_importbatch WHERE id = %s", r.batch_id),
                     ("UPDATE bankaccounts_bankaccount SET id = id + 100000 WHERE id = %s", acct.pk)):
        with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic(), \
                connection.cursor() as cur:
            cur.execute(sql, [arg])
    # an account without flows, and a batch that inserted nothing, are not held
    other = register(world, number="6222000000000002", opened_on=dt.date(2026, 1, 1))
    with connection.cursor() as cur:
        cur.execute("UPDATE bankaccounts_bankaccount SET name = '改名' WHERE id = %s", [acct.pk])
        cur.execute("DELETE FROM bankaccounts_accountchange WHERE account_id = %s", [other.pk])
        cur.execute("DELETE FROM bankaccounts_bankaccount WHERE id = %s", [other.pk])
    assert not BankAccount.objects.filter(pk=other.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_bank_keep_the_running_totals(world):
    acct = register(world, opened_on=dt.date(2026, 1, 1))
    register(world, number="6222000000000009", bank=world.bank2, opened_on=dt.date(2026, 1, 1))
    messages = [flows_csv("901", day, [(ACCT, f"S{i}{k}", "C", f"{i + 1}.00") for k in range(30)])
                for i, day in enumerate(DAYS[:4])]
    messages.append(flows_csv("902", DAYS[0], [("6222000000000009", "T1", "D", "5.00")]))
    errors: list[Exception] = []
    barrier = threading.Barrier(len(messages))

    def run(data: bytes) -> None:
        try:
            barrier.wait()
            services.import_message(user=world.treasury, stream=io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(m,)) for m in reversed(messages)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = list(AccountDay.objects.filter(account=acct).order_by("day").values_list("day", "income", "cum_income"))
    running, want = Decimal(0), []
    for i, day in enumerate(DAYS[:4]):
        running += 30 * Decimal(i + 1)
        want.append((day, 30 * Decimal(i + 1), running))
    assert rows == want
