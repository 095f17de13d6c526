"""Daily transaction flows and balances as agent banks deliver them to the exchange centre
(docs/bank-flows.md), for the demo, the tests and the benchmarks.

``feed(accounts, days, seed=...)`` plays each bank's day: every account gets a few receipts and
payments of realistic size (appropriations and transfers in, salaries, purchases and fees out, never
below zero), each bank then delivers one flows message and one balances message per day, in XML
or CSV. Some banks send nothing on some days (``gap_rate``), and some messages are defective
(``bad_rate``: a negative amount, a non-numeric amount, a truncated XML document, or GBK bytes
under a UTF-8 declaration), as happens in practice. Only the standard library is used.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import quoteattr

CENT = Decimal("0.01")
FLOW_HEADER = ("account_no,serial_no,tx_time,direction,amount,currency,balance,counterparty_name,"
               "counterparty_account,summary")
BALANCE_HEADER = "account_no,currency,balance"
DEFECTS = ("negative_amount", "non_numeric_amount", "truncated_xml", "encoding_mismatch")

_INCOME = (("财政零余额账户", "财政拨款"), ("上级主管部门", "上级补助"), ("非税收入汇缴户", "事业收入"),
           ("往来单位", "往来款收回"))
_EXPENSE = (("本单位职工工资户", "工资发放"), ("某某办公用品有限公司", "办公用品采购"), ("国网电力公司", "电费"),
            ("自来水公司", "水费"), ("某某物业服务有限公司", "物业费"), ("某某信息技术有限公司", "信息系统运维"),
            ("某某酒店", "会议费"), ("代扣社会保险费", "社保缴费"))


@dataclass
class FeedAccount:
    bank_code: str
    account_no: str
    currency: str = "CNY"
    balance: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Flow:
    account_no: str
    serial_no: str
    tx_time: dt.datetime
    direction: str
    amount: Decimal
    currency: str
    balance: Decimal
    counterparty_name: str
    counterparty_account: str
    summary: str


@dataclass
class Delivery:
    bank_code: str
    day: dt.date
    kind: str  # flows / balances
    fmt: str  # xml / csv
    data: bytes
    defect: str = ""

    @property
    def filename(self) -> str:
        return f"{self.bank_code}_{self.kind}_{self.day:%Y%m%d}.{self.fmt}"


@dataclass
class BankDay:
    flows: list[Flow] = field(default_factory=list)
    balances: list[tuple[str, str, Decimal]] = field(default_factory=list)


def _amount(rng: random.Random, low: float, high: float) -> Decimal:
    # log-uniform: many small payments, a few large ones
    value = Decimal(str(round(10 ** rng.uniform(low, high), 2))).quantize(CENT)
    return max(value, CENT)


def play_day(accounts: Sequence[FeedAccount], day: dt.date, rng: random.Random, *,
             flows_per_account: tuple[int, int] = (0, 6)) -> dict[str, BankDay]:
    """One business day of every account; balances in `accounts` move with the flows."""
    out: dict[str, BankDay] = {}
    seq: dict[str, int] = {}
    for acct in accounts:
        bank = out.setdefault(acct.bank_code, BankDay())
        for _ in range(rng.randint(*flows_per_account)):
            n = seq[acct.bank_code] = seq.get(acct.bank_code, 0) + 1
            at = dt.datetime.combine(day, dt.time(8, 0)) + dt.timedelta(seconds=rng.randint(0, 10 * 3600))
            if acct.balance < Decimal(1000) or rng.random() < 0.3:
                who, what = rng.choice(_INCOME)
                amount, direction = _amount(rng, 3, 6), "C"
                acct.balance += amount
            else:
                who, what = rng.choice(_EXPENSE)
                amount = min(_amount(rng, 1.5, 5), acct.balance)
                if amount <= 0:
                    continue
                direction = "D"
                acct.balance -= amount
            bank.flows.append(Flow(acct.account_no, f"{acct.bank_code}{day:%Y%m%d}{n:08d}", at, direction, amount,
                                   acct.currency, acct.balance, who, f"62{rng.randint(10**14, 10**15 - 1)}", what))
        bank.balances.append((acct.account_no, acct.currency, acct.balance))
    return out


def flows_csv(bank_code: str, day: dt.date, flows: Iterable[Flow], *, encoding: str = "UTF-8") -> bytes:
    return b"".join(iter_flows_csv(bank_code, day, flows, encoding=encoding))


def iter_flows_csv(bank_code: str, day: dt.date, flows: Iterable[Flow], *, encoding: str = "UTF-8",
                   block: int = 5000) -> Iterator[bytes]:
    """The CSV flows message in blocks of lines (for files too large to build in memory)."""
    codec = "gbk" if encoding.upper() in ("GBK", "GB2312") else encoding
    yield (f"# fmis-bank-message; type=flows; version=1.0; bank={bank_code}; date={day.isoformat()}; "
           f"encoding={encoding}\n{FLOW_HEADER}\n").encode("ascii")
    lines: list[str] = []
    for f in flows:
        lines.append(f"{f.account_no},{f.serial_no},{f.tx_time:%Y-%m-%dT%H:%M:%S},{f.direction},{f.amount},"
                     f"{f.currency},{f.balance},{_csv(f.counterparty_name)},{f.counterparty_account},"
                     f"{_csv(f.summary)}\n")
        if len(lines) >= block:
            yield "".join(lines).encode(codec)
            lines = []
    if lines:
        yield "".join(lines).encode(codec)


def _csv(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def flows_xml(bank_code: str, day: dt.date, flows: Iterable[Flow], *, encoding: str = "UTF-8") -> bytes:
    codec = "gbk" if encoding.upper() in ("GBK", "GB2312") else encoding
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>\n',
             f'<BankMessage type="flows" version="1.0" bank="{bank_code}" date="{day.isoformat()}">\n']
    for f in flows:
        parts.append(f'  <Flow account="{f.account_no}" serial="{f.serial_no}" time="{f.tx_time:%Y-%m-%dT%H:%M:%S}" '
                     f'direction="{f.direction}" amount="{f.amount}" currency="{f.currency}" balance="{f.balance}" '
                     f'counterparty_name={quoteattr(f.counterparty_name)} '
                     f'counterparty_account="{f.counterparty_account}" summary={quoteattr(f.summary)}/>\n')
    parts.append("</BankMessage>\n")
    return "".join(parts).encode(codec)


def balances_csv(bank_code: str, day: dt.date, balances: Iterable[tuple[str, str, Decimal]]) -> bytes:
    head = (f"# fmis-bank-message; type=balances; version=1.0; bank={bank_code}; date={day.isoformat()}; "
            f"encoding=UTF-8\n{BALANCE_HEADER}\n")
    return (head + "".join(f"{a},{c},{b}\n" for a, c, b in balances)).encode("utf-8")


def balances_xml(bank_code: str, day: dt.date, balances: Iterable[tuple[str, str, Decimal]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n',
             f'<BankMessage type="balances" version="1.0" bank="{bank_code}" date="{day.isoformat()}">\n']
    parts += [f'  <Balance account="{a}" currency="{c}" balance="{b}"/>\n' for a, c, b in balances]
    parts.append("</BankMessage>\n")
    return "".join(parts).encode("utf-8")


def spoil(delivery: Delivery, defect: str) -> Delivery:
    """A copy of `delivery` with one of the usual defects."""
    data = delivery.data
    text = data.decode("utf-8")
    if defect == "negative_amount":
        data = _replace_first_amount(text, lambda a: "-" + a, delivery.fmt).encode("utf-8")
    elif defect == "non_numeric_amount":
        data = _replace_first_amount(text, lambda a: a.replace(".", "元", 1), delivery.fmt).encode("utf-8")
    elif defect == "truncated_xml":
        xml = delivery if delivery.fmt == "xml" else None
        base = xml.data if xml else flows_xml(delivery.bank_code, delivery.day, [])
        data = base[: max(len(base) * 2 // 3, 60)]
        return Delivery(delivery.bank_code, delivery.day, delivery.kind, "xml", data, defect)
    elif defect == "encoding_mismatch":
        data = text.encode("gb18030")  # still declares UTF-8 (a message without Chinese text is unaffected)
    else:
        raise ValueError(f"unknown defect {defect!r}")
    return Delivery(delivery.bank_code, delivery.day, delivery.kind, delivery.fmt, data, defect)


def _replace_first_amount(text: str, change, fmt: str) -> str:
    lines = text.split("\n")
    if fmt == "csv":
        for i, line in enumerate(lines[2:], start=2):
            cols = line.split(",")
            if len(cols) >= 5:
                cols[4] = change(cols[4])
                lines[i] = ",".join(cols)
                return "\n".join(lines)
        return text
    marker = ' amount="'
    pos = text.find(marker)
    if pos < 0:
        return text
    start = pos + len(marker)
    end = text.index('"', start)
    return text[:start] + change(text[start:end]) + text[end:]


def feed(accounts: Sequence[FeedAccount], days: Sequence[dt.date], *, seed: int = 1, gap_rate: float = 0.1,
         bad_rate: float = 0.05, xml_rate: float = 0.5, flows_per_account: tuple[int, int] = (0, 6),
         gaps: Iterable[tuple[str, dt.date]] = (), bad: Iterable[tuple[str, dt.date, str]] = ()) -> list[Delivery]:
    """Every bank's deliveries over `days`, in delivery order. `gaps` and `bad` force a bank to
    send nothing, or a defective flows message, on a given day (besides the random ones)."""
    rng = random.Random(seed)
    forced_gaps = set(gaps)
    forced_bad = {(b, d): defect for b, d, defect in bad}
    out: list[Delivery] = []
    for day in days:
        for bank_code, bank_day in sorted(play_day(accounts, day, rng, flows_per_account=flows_per_account).items()):
            if (bank_code, day) in forced_gaps or rng.random() < gap_rate:
                continue
            fmt = "xml" if rng.random() < xml_rate else "csv"
            flows = (flows_xml if fmt == "xml" else flows_csv)(bank_code, day, bank_day.flows)
            delivery = Delivery(bank_code, day, "flows", fmt, flows)
            defect = forced_bad.get((bank_code, day))
            if defect is None and rng.random() < bad_rate:
                defect = rng.choice(DEFECTS)
            if defect:
                out.append(spoil(delivery, defect))
            out.append(delivery)  # the bank corrects and re-sends the day
            balances = (balances_xml if fmt == "xml" else balances_csv)(bank_code, day, bank_day.balances)
            out.append(Delivery(bank_code, day, "balances", fmt, balances))
    return out
