"""The exchange centre: idempotent, all-or-nothing imports of flows and balances, and every kind
of malformed message refused into the exception log with nothing imported."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from fmis.bankaccounts import services
from fmis.bankaccounts.models import AccountDay, BankFlow, ExceptionMessage, ImportBatch, ReportedBalance
from fmis.bankaccounts.tests.conftest import do_import, flows_csv, register
from fmis.banksim import flows as sim
from fmis.platform.errors import PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)
ACCT = "6222000000000001"


def _counts():
    return (BankFlow.objects.count(), AccountDay.objects.count(), ImportBatch.objects.count(),
            ReportedBalance.objects.count())


def _refused(user, data: bytes, code: str | None = None, **kw) -> ExceptionMessage:
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        do_import(user, data, **kw)
    if code:
        assert exc.value.code == code, exc.value.message
    assert _counts() == before  # nothing imported
    entry = ExceptionMessage.objects.get(pk=exc.value.params["exception_id"])
    assert entry.code == exc.value.code and entry.reason.startswith(exc.value.message.split("（已记入")[0][:20])
    return entry


def test_same_daily_file_twice_changes_nothing(world):
    acct = register(world, opening={"fiscal": Decimal("1000.00")})
    data = flows_csv("901", DAY, [(ACCT, "S1", "C", "500.00"), (ACCT, "S2", "D", "120.50"),
                                  ("6222999900000001", "S3", "C", "7.00")])
    r1 = do_import(world.treasury, data, filename="a.csv")
    assert (r1.lines, r1.inserted, r1.redelivered) == (3, 3, False)
    day = AccountDay.objects.get(account=acct, day=DAY)
    assert (day.income, day.expenditure, day.flows) == (Decimal("500.00"), Decimal("120.50"), 2)
    snapshot = _counts()
    r2 = do_import(world.treasury, data, filename="a-again.csv")
    assert (r2.inserted, r2.redelivered, r2.batch_id) == (0, True, r1.batch_id)
    assert _counts() == snapshot
    # a different message repeating known flows: harmless, only the new one counts
    r3 = do_import(world.treasury, flows_csv("901", DAY, [(ACCT, "S2", "D", "120.50"), (ACCT, "S4", "D", "9.50")]))
    assert (r3.inserted, r3.duplicates) == (1, 1)
    day.refresh_from_db()
    assert (day.expenditure, day.flows) == (Decimal("130.00"), 3)


def test_one_bad_line_imports_nothing_and_is_logged(world):
    register(world)
    rows = [(ACCT, f"S{i}", "C", "10.00") for i in range(1, 6)]
    rows[3] = (ACCT, "S4", "C", "12.3.4")
    entry = _refused(world.treasury, flows_csv("901", DAY, rows), "bankaccounts.lines_invalid")
    assert entry.errors[0]["line"] == 6 and entry.errors[0]["field"] == "amount"
    assert "第 6 行" in entry.reason and entry.bank.code == "901" and entry.business_date == DAY
    assert entry.kind == "flows" and entry.fmt == "csv" and "12.3.4" in entry.raw


@pytest.mark.parametrize(("amount", "words"), [("-5.00", "负数"), ("abc", "不是有效的数字"), ("1e5", "不是有效的数字"),
                                               ("0.00", "大于零"), ("1.234", "不是有效的数字"),
                                               ("1234567890123456789", "不是有效的数字")])
def test_negative_or_non_numeric_amounts_are_refused(world, amount, words):
    entry = _refused(world.treasury, flows_csv("901", DAY, [(ACCT, "S1", "C", amount)]))
    assert words in entry.reason


def test_wrong_serial_direction_date_and_columns(world):
    assert "收支方向" in _refused(world.treasury, flows_csv("901", DAY, [(ACCT, "S1", "X", "1.00")])).reason
    other_day = flows_csv("901", DAY, [(ACCT, "S1", "C", "1.00", "2026-03-05T10:00:00")])
    assert "业务日期不符" in _refused(world.treasury, other_day).reason
    bad_time = flows_csv("901", DAY, [(ACCT, "S1", "C", "1.00", "2026-02-30T10:00:00")])
    assert "交易时间" in _refused(world.treasury, bad_time).reason
    extra = flows_csv("901", DAY, [(ACCT, "S1", "C", "1.00")]).replace(b",\xe6\x91\x98\xe8\xa6\x81\n", b",a,b\n")
    entry = _refused(world.treasury, extra, "bankaccounts.csv_malformed")
    assert entry.errors[0]["line"] == 3


def test_same_serial_with_different_content_is_refused(world):
    register(world)
    do_import(world.treasury, flows_csv("901", DAY, [(ACCT, "S1", "C", "10.00")]))
    entry = _refused(world.treasury, flows_csv("901", DAY, [(ACCT, "S1", "C", "11.00")]), "bankaccounts.serial_conflict")
    assert entry.errors[0]["line"] == 3


def test_gbk_declared_utf8_content_and_the_reverse(world):
    utf8_as_gbk = flows_csv("901", DAY, [(ACCT, "S1", "C", "1.00")]).replace(b"encoding=UTF-8", b"encoding=GBK")
    entry = _refused(world.treasury, utf8_as_gbk, "bankaccounts.encoding_mismatch")
    assert "GBK" in entry.reason and "UTF-8" in entry.reason
    gbk_as_utf8 = flows_csv("901", DAY, [(ACCT, "S1", "C", "1.00")], encoding="GBK").replace(b"encoding=GBK",
                                                                                            b"encoding=UTF-8")
    entry = _refused(world.treasury, gbk_as_utf8, "bankaccounts.encoding_mismatch")
    assert "第 3 行" in entry.reason
    # correctly declared GBK is fine
    r = do_import(world.treasury, flows_csv("901", DAY, [(ACCT, "S1", "C", "1.00")], encoding="GBK"))
    assert r.inserted == 1 and BankFlow.objects.get().counterparty_name == "对方单位"


def _xml(rows: str, *, head: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}'
            f'<BankMessage type="flows" version="1.0" bank="901" date="{DAY}">\n{rows}</BankMessage>\n').encode()


FLOW = '<Flow account="{a}" serial="{s}" time="2026-03-02T09:00:00" direction="D" amount="{m}" currency="CNY"/>\n'


def test_xml_flows_import_and_balances(world):
    acct = register(world, opening={"fiscal": Decimal("100.00")})
    r = do_import(world.treasury, _xml(FLOW.format(a=ACCT, s="X1", m="30.00") + FLOW.format(a=ACCT, s="X2", m="5.00")))
    assert r.inserted == 2 and r.kind == "flows"
    bal = sim.balances_xml("901", DAY, [(ACCT, "CNY", Decimal("65.00"))])
    r = do_import(world.treasury, bal)
    assert r.kind == "balances" and ReportedBalance.objects.get().account == acct
    assert do_import(world.treasury, bal).redelivered
    changed = sim.balances_csv("901", DAY, [(ACCT, "CNY", Decimal("66.00"))])
    _refused(world.treasury, changed, "bankaccounts.balance_conflict")


def test_truncated_xml_is_refused(world):
    data = _xml(FLOW.format(a=ACCT, s="X1", m="30.00") * 3)
    entry = _refused(world.treasury, data[: len(data) - 40], "bankaccounts.xml_truncated")
    assert "不完整" in entry.reason


def test_xml_bomb_and_external_entities_are_refused_before_expansion(world):
    bomb = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n')
    data = _xml(FLOW.format(a=ACCT, s="&lol3;", m="1.00"), head=bomb)
    entry = _refused(world.treasury, data, "bankaccounts.xml_dtd_refused")
    assert "DOCTYPE" in entry.reason
    xxe = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
    _refused(world.treasury, _xml(FLOW.format(a=ACCT, s="&e;", m="1.00"), head=xxe), "bankaccounts.xml_dtd_refused")


def test_xml_unknown_element_attribute_and_negative_amount(world):
    _refused(world.treasury, _xml('<Payment account="1"/>\n'), "bankaccounts.xml_element_unknown")
    _refused(world.treasury, _xml(FLOW.format(a=ACCT, s="X", m="1.00").replace("/>", ' evil="1"/>')),
             "bankaccounts.xml_attribute_unknown")
    entry = _refused(world.treasury, _xml(FLOW.format(a=ACCT, s="X", m="-1.00")), "bankaccounts.lines_invalid")
    assert entry.errors[0]["line"] == 3


def test_a_200_mb_file_is_refused_by_size_without_reading_it(world, tmp_path):
    path = tmp_path / "huge.csv"
    head = flows_csv("901", DAY, [])
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing written
    with open(path, "rb") as fh:
        before = _counts()
        with pytest.raises(ValidationFailed) as exc:
            services.import_message(user=world.treasury, stream=fh, filename="huge.csv")
        assert fh.tell() == 0  # refused before reading
    assert exc.value.code == "bankaccounts.message_too_large" and _counts() == before
    entry = ExceptionMessage.objects.get(pk=exc.value.params["exception_id"])
    assert entry.size == 200 * 1024 * 1024 and "200.0 MB" in entry.reason and entry.raw == ""


def test_an_endless_stream_is_cut_at_the_limit_with_bounded_reading(world):
    class Endless(io.RawIOBase):
        """A stream of valid lines that never ends and cannot tell its size."""

        def __init__(self):
            self.sent = 0
            self.head = flows_csv("901", DAY, [])

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buf):
            chunk = self.head if self.sent == 0 else b"6222000000000001,S,2026-03-02T10:00:00,C,1.00,CNY,,a,b,c\n" * 100
            n = min(len(buf), len(chunk))
            buf[:n] = chunk[:n]
            self.sent += n
            return n

    stream = Endless()
    with pytest.raises(ValidationFailed) as exc:
        services.import_message(user=world.treasury, stream=stream, max_bytes=2 * 1024 * 1024)
    assert exc.value.code == "bankaccounts.message_too_large"
    assert stream.sent <= 2 * 1024 * 1024 + 256 * 1024  # read at most the limit plus one chunk
    entry = ExceptionMessage.objects.get(pk=exc.value.params["exception_id"])
    assert entry.raw_truncated and len(entry.raw) <= 64 * 1024 and entry.bank.code == "901"


def test_headers_unknown_bank_and_format(world):
    _refused(world.treasury, b"hello,world\n", "bankaccounts.format_unknown")
    _refused(world.treasury, flows_csv("999", DAY, []), "bankaccounts.bank_unknown")
    _refused(world.treasury, flows_csv("901", DAY, []).replace(b"version=1.0", b"version=9"),
             "bankaccounts.version_unsupported")
    _refused(world.treasury, flows_csv("901", dt.date.today() + dt.timedelta(days=3), []),
             "bankaccounts.header_date_future")


def test_bank_operator_delivers_only_for_its_own_bank(world):
    register(world)
    r = do_import(world.operator, flows_csv("901", DAY, [(ACCT, "B1", "C", "1.00")]), source="api")
    assert r.inserted == 1
    _refused(world.operator, flows_csv("902", DAY, []), "bankaccounts.bank_not_yours", source="api")
    with pytest.raises(PermissionDenied):
        do_import(world.operator, flows_csv("901", DAY, []), source="file")  # file import is the treasury's


def test_simulator_feed_imports_cleanly_apart_from_its_defects(world):
    accounts = [sim.FeedAccount("901", f"62220000000001{i:02d}", balance=Decimal("5000.00")) for i in range(5)]
    for a in accounts:
        register(world, number=a.account_no)
    days = [DAY + dt.timedelta(days=i) for i in range(3)]
    deliveries = sim.feed(accounts, days, seed=7, gap_rate=0, bad_rate=0,
                          bad=[("901", days[0], "negative_amount"), ("901", days[1], "truncated_xml"),
                               ("901", days[2], "encoding_mismatch")])
    refused = accepted = 0
    for d in deliveries:
        try:
            do_import(world.treasury, d.data, filename=d.filename)
            accepted += 1
        except ValidationFailed:
            refused += 1
    assert refused == 3 and accepted == 6
    assert ExceptionMessage.objects.count() == 3
    # the balances the simulator reported equal the balances the flows imply
    for a in accounts:
        total = sum((f.amount if f.direction == "C" else -f.amount) for f in BankFlow.objects.filter(account_no=a.account_no))
        assert Decimal("5000.00") + total == ReportedBalance.objects.get(account_no=a.account_no, balance_date=days[-1]).balance
