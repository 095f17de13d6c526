"""Every read of bank account supervision, through the permission filter of the function asked for.

The supervision reports (seed 002 §1.4.5) are SQL aggregates over the permission-filtered accounts:
per account, income and expenditure of the period and the balance at the query date come from the
running totals of the daily totals (``AccountDay``, one row per account and day with flows), three
index probes per account whatever the period's length, never the flows themselves; the flow
detail of an account reads the flows through the (date, account) index. Each report returns a ``Report`` that the page, the
xlsx export and the API render alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models import F as DF
from django.utils import timezone
from django.utils.translation import gettext as _

from fmis.bankaccounts import functions as F
from fmis.bankaccounts.models import (
    AccountChange,
    AccountDay,
    Application,
    BankAccount,
    BankFlow,
    Currency,
    ExceptionMessage,
    ImportBatch,
    Inspection,
    OpeningBalanceItem,
    ReportedBalance,
)
from fmis.iam import permissions
from fmis.orgs.models import Bank
from fmis.platform.errors import NotFound, ValidationFailed
from fmis.platform.money import ZERO, to_money

CURRENCY_NAMES = dict(Currency.choices)


def _cur(code: str) -> str:
    return str(CURRENCY_NAMES.get(code, code))


# --- lists and details --------------------------------------------------------------------------

def accounts(*, user, function: str = F.ACCOUNT_VIEW, q: str = "", status: str = "", agency: str = "",
             bank: str = "", currency: str = "", nature: str = "") -> QuerySet[BankAccount]:
    qs = BankAccount.objects.restrict(user, function).select_related("agency", "bank", "branch", "department")
    if q:
        qs = qs.filter(Q(number__contains=q) | Q(name__contains=q) | Q(agency__name__contains=q))
    if status:
        qs = qs.filter(status=status)
    if agency:
        qs = qs.filter(agency__code__startswith=agency)
    if bank:
        qs = qs.filter(bank__code=bank)
    if currency:
        qs = qs.filter(currency=currency)
    if nature:
        qs = qs.filter(nature=nature)
    return qs.order_by("agency__code", "number")


def account(*, user, pk: int, function: str = F.ACCOUNT_VIEW) -> BankAccount:
    obj = accounts(user=user, function=function).filter(pk=pk).first()
    if obj is None:
        raise NotFound("bankaccounts.account_not_found", "银行账户不存在或不在您的数据权限范围内")
    return obj


def account_history(*, user, account_id: int) -> QuerySet[AccountChange]:
    return (AccountChange.objects.restrict(user, F.ACCOUNT_VIEW).filter(account_id=account_id)
            .select_related("requested_by", "changed_by", "application").order_by("-changed_at", "-pk"))


def applications(*, user, q: str = "", status: str = "", kind: str = "") -> QuerySet[Application]:
    qs = Application.objects.restrict(user, F.APPLICATION_VIEW).select_related("agency", "bank", "created_by")
    if q:
        qs = qs.filter(Q(number__contains=q) | Q(account_number__contains=q) | Q(account_name__contains=q)
                       | Q(agency__name__contains=q))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-pk")


def application(*, user, pk: int) -> Application:
    obj = applications(user=user).select_related("branch", "account").filter(pk=pk).first()
    if obj is None:
        raise NotFound("bankaccounts.application_not_found", "申请不存在或不在您的数据权限范围内")
    return obj


def inspections(*, user, q: str = "", year: int | None = None, status: str = "") -> QuerySet[Inspection]:
    qs = Inspection.objects.restrict(user, F.INSPECTION_VIEW).select_related("account", "agency", "account__bank")
    if q:
        qs = qs.filter(Q(account__number__contains=q) | Q(account__name__contains=q) | Q(agency__name__contains=q))
    if year:
        qs = qs.filter(year=year)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-year", "account__number")


def inspection(*, user, pk: int) -> Inspection:
    obj = inspections(user=user).filter(pk=pk).first()
    if obj is None:
        raise NotFound("bankaccounts.inspection_not_found", "年检不存在或不在您的数据权限范围内")
    return obj


def history(*, user, q: str = "", kind: str = "", date_from: dt.date | None = None,
            date_to: dt.date | None = None, function: str = F.CHANGE_VIEW) -> QuerySet[AccountChange]:
    qs = (AccountChange.objects.restrict(user, function)
          .select_related("account", "agency", "requested_by", "changed_by", "application"))
    if q:
        qs = qs.filter(Q(account__number__contains=q) | Q(account__name__contains=q) | Q(agency__name__contains=q))
    if kind:
        qs = qs.filter(kind=kind)
    if date_from:
        qs = qs.filter(changed_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(changed_at__date__lte=date_to)
    return qs.order_by("-changed_at", "-pk")


def batches(*, user, bank: str = "", kind: str = "", date: dt.date | None = None) -> QuerySet[ImportBatch]:
    qs = ImportBatch.objects.restrict(user, F.EXCHANGE_VIEW).select_related("bank", "received_by")
    if bank:
        qs = qs.filter(bank__code=bank)
    if kind:
        qs = qs.filter(kind=kind)
    if date:
        qs = qs.filter(business_date=date)
    return qs.order_by("-received_at", "-pk")


def exceptions(*, user, bank: str = "", kind: str = "", date: dt.date | None = None,
               received_on: dt.date | None = None) -> QuerySet[ExceptionMessage]:
    """The exception message log, by bank, business date, type and day received."""
    qs = ExceptionMessage.objects.restrict(user, F.EXCEPTION_VIEW).select_related("bank", "received_by").defer("raw")
    if bank:
        qs = qs.filter(Q(bank__code=bank) | Q(bank_code=bank))
    if kind:
        qs = qs.filter(kind=kind)
    if date:
        qs = qs.filter(business_date=date)
    if received_on:
        qs = qs.filter(received_at__date=received_on)
    return qs.order_by("-received_at", "-pk")


def exception(*, user, pk: int) -> ExceptionMessage:
    obj = ExceptionMessage.objects.restrict(user, F.EXCEPTION_VIEW).select_related("bank").filter(pk=pk).first()
    if obj is None:
        raise NotFound("bankaccounts.exception_not_found", "异常报文不存在或不在您的数据权限范围内")
    return obj


# --- daily maintenance: absence --------------------------------------------------------------

@dataclass
class AbsenceRow:
    bank: Bank
    cells: list[str]  # per day: "sent", "absent", "error" (only refused messages), "" (no accounts yet)

    @property
    def absent_days(self) -> int:
        return sum(1 for c in self.cells if c in ("absent", "error"))


def expected_banks(*, user, function: str = F.ABSENCE_VIEW, day: dt.date | None = None) -> QuerySet[Bank]:
    """The banks that hold accounts in use within the user's scope (they owe a daily flows message)."""
    accts = BankAccount.objects.restrict(user, function).filter(status=BankAccount.Status.ACTIVE)
    if day is not None:
        accts = accts.filter(opened_on__lte=day)
    return Bank.objects.filter(Exists(accts.filter(bank=OuterRef("pk")))).order_by("code")


def absence(*, user, date_from: dt.date, date_to: dt.date) -> tuple[list[dt.date], list[AbsenceRow]]:
    """The absence table (缺勤表): for each bank owing flows and each day, whether a flows message
    was accepted, only refused messages came, or nothing came."""
    if date_to < date_from:
        raise ValidationFailed("bankaccounts.range_invalid", "结束日期不能早于开始日期", field="date_to")
    if (date_to - date_from).days > 92:
        raise ValidationFailed("bankaccounts.range_too_long", "缺勤表一次最多查询 93 天", field="date_from")
    days = [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    banks = list(expected_banks(user=user, day=date_to))
    ids = [b.pk for b in banks]
    sent = set(ImportBatch.objects.filter(kind="flows", bank_id__in=ids, business_date__range=(date_from, date_to))
               .values_list("bank_id", "business_date"))
    refused = set(ExceptionMessage.objects.filter(bank_id__in=ids, kind="flows",
                                                  business_date__range=(date_from, date_to))
                  .values_list("bank_id", "business_date"))
    first_open = dict(BankAccount.objects.restrict(user, F.ABSENCE_VIEW).filter(bank_id__in=ids, status="active")
                      .values("bank_id").annotate(first=Min("opened_on")).values_list("bank_id", "first"))
    rows = []
    for b in banks:
        cells = []
        for d in days:
            if (b.pk, d) in sent:
                cells.append("sent")
            elif first_open.get(b.pk) and d < first_open[b.pk]:
                cells.append("")
            else:
                cells.append("error" if (b.pk, d) in refused else "absent")
        rows.append(AbsenceRow(b, cells))
    return days, rows


def absent_yesterday(*, user, today: dt.date | None = None) -> list[Bank]:
    """Banks that owe flows and sent none for yesterday (the home page reminder)."""
    if not permissions.can(user, F.ABSENCE_VIEW):
        return []
    day = (today or timezone.localdate()) - dt.timedelta(days=1)
    return [r.bank for r in absence(user=user, date_from=day, date_to=day)[1] if r.cells[0] in ("absent", "error")]


# --- reports ------------------------------------------------------------------------------------

@dataclass
class Report:
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    totals: list | None = None
    filters: list[tuple[str, str]] = field(default_factory=list)
    money_columns: tuple[int, ...] = ()


@dataclass
class Filters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # 查询日期: balances are as at the end of this day
    status: str = BankAccount.Status.ACTIVE  # "" = all
    agency: str = ""  # an agency code: itself and the units under it
    department: str = ""
    bank: str = ""
    currency: str = ""
    number: str = ""
    balance_gt: Decimal | None = None
    balance_lt: Decimal | None = None
    kind: str = ""

    def normalized(self) -> Filters:
        today = timezone.localdate()
        to = self.date_to or today
        frm = self.date_from or to.replace(month=1, day=1)
        if frm > to:
            raise ValidationFailed("bankaccounts.range_invalid", "开始日期不能晚于查询日期", field="date_from")
        return Filters(frm, to, self.status, self.agency.strip(), self.department.strip(), self.bank.strip(),
                       self.currency.strip(), self.number.strip(), self.balance_gt, self.balance_lt, self.kind)

    def describe(self) -> list[tuple[str, str]]:
        out = [(_("统计期间"), f"{self.date_from} 至 {self.date_to}"), (_("查询日期"), str(self.date_to)),
               (_("账户状态"), str(BankAccount.Status(self.status).label) if self.status else _("全部"))]
        for label, value in ((_("预算单位"), self.agency), (_("部门"), self.department), (_("银行"), self.bank),
                             (_("币种"), _cur(self.currency)), (_("账号"), self.number),
                             (_("余额大于"), self.balance_gt), (_("余额小于"), self.balance_lt)):
            if value not in ("", None):
                out.append((label, str(value)))
        return out


def parse_filters(params) -> Filters:
    """Filters from query parameters (a QueryDict or a dict); a bad value names its field."""

    def day(name):
        v = (params.get(name) or "").strip()
        if not v:
            return None
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise ValidationFailed("bankaccounts.date_invalid", f"日期格式应为 YYYY-MM-DD：{v}", field=name) from None

    def money(name):
        v = (params.get(name) or "").strip()
        return to_money(v, field=name) if v else None

    status = params.get("status", BankAccount.Status.ACTIVE)
    if status not in ("", "all", *BankAccount.Status.values):
        raise ValidationFailed("bankaccounts.status_invalid", "账户状态不正确", field="status")
    return Filters(day("date_from"), day("date_to"), "" if status == "all" else status, params.get("agency", "") or "",
                   params.get("department", "") or "", params.get("bank", "") or "", params.get("currency", "") or "",
                   params.get("number", "") or "", money("balance_gt"), money("balance_lt"),
                   params.get("kind", "") or "")


def _scoped_accounts(user, function: str, f: Filters) -> QuerySet[BankAccount]:
    qs = BankAccount.objects.restrict(user, function).filter(opened_on__lte=f.date_to)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.agency:
        qs = qs.filter(agency__code__startswith=f.agency)
    if f.department:
        qs = qs.filter(department__code=f.department)
    if f.bank:
        qs = qs.filter(bank__code=f.bank)
    if f.currency:
        qs = qs.filter(currency=f.currency)
    if f.number:
        qs = qs.filter(number=f.number)
    return qs


def _figures(user, function: str, f: Filters, group: str, having: str = "", having_params: tuple = (),
             order: str = "", label: str = "") -> list[tuple]:
    """Per `group` (columns of the account: ``"department_id, currency"``, ``"id"``, ...): the number
    of accounts, income and expenditure in the period, and the balance at the query date (initial
    balances + flows after each account's initialisation date up to the query date).

    Per account, three running totals of its daily totals are read through the (account, day)
    index that carries them: the last at or before the query date, the last before the period, and
    the last at or before the initialisation date (or the query date, if that is earlier). Income
    of the period is the difference of the first two, the balance the initial balance plus the
    difference of the first and the third. The accounts are then grouped straight to the report's
    rows; with `label` ("orgs_agency", "orgs_bank") each row ends with the code and name of the
    group's first column."""
    inner_sql, inner_params = (_scoped_accounts(user, function, f).order_by().values("id")
                               .query.sql_with_params())
    cols = [c.strip() for c in group.split(",")]
    keys = ", ".join(f"acc.{c}" for c in cols)

    def last(cond: str) -> str:
        return f"""(SELECT d.cum_income, d.cum_expenditure FROM bankaccounts_accountday d
                    WHERE d.account_id = acc.id AND {cond} ORDER BY d.day DESC LIMIT 1)"""

    label_cols, label_join = "", ""
    if label:
        label_cols, label_join = ", l.code, l.name", f"JOIN {label} l ON l.id = t.{cols[0]}"
    sql = f"""
        WITH acc AS (
            SELECT a.id, a.agency_id, a.department_id, a.bank_id, a.currency, a.opening_balance, a.initialized_on
            FROM bankaccounts_bankaccount a WHERE a.id IN ({inner_sql}))
        SELECT t.*{label_cols} FROM (
            SELECT {keys}, COUNT(*) AS n,
                   SUM(COALESCE(e.cum_income, 0) - COALESCE(b.cum_income, 0))::numeric(20, 2) AS income,
                   SUM(COALESCE(e.cum_expenditure, 0) - COALESCE(b.cum_expenditure, 0))::numeric(20, 2) AS expenditure,
                   SUM(acc.opening_balance + COALESCE(e.cum_income - e.cum_expenditure, 0)
                       - COALESCE(i.cum_income - i.cum_expenditure, 0))::numeric(20, 2) AS balance
            FROM acc
            LEFT JOIN LATERAL {last("d.day <= %s")} e ON true
            LEFT JOIN LATERAL {last("d.day < %s")} b ON true
            LEFT JOIN LATERAL {last("acc.initialized_on IS NOT NULL AND d.day <= LEAST(acc.initialized_on, %s)")} i
                ON true
            GROUP BY {keys}) t
        {label_join}
        {having} {order}"""
    with connection.cursor() as cur:
        cur.execute(sql, [*inner_params, f.date_to, f.date_from, f.date_to, *having_params])
        return cur.fetchall()


def _balance_having(f: Filters) -> tuple[str, tuple]:
    parts, params = [], []
    if f.balance_gt is not None:
        parts.append("t.balance > %s")
        params.append(f.balance_gt)
    if f.balance_lt is not None:
        parts.append("t.balance < %s")
        params.append(f.balance_lt)
    return ("WHERE " + " AND ".join(parts) if parts else ""), tuple(params)


def _totals(rows: list[list], money_cols: tuple[int, ...], count_cols: tuple[int, ...] = ()) -> list | None:
    if not rows:
        return None
    out = [""] * len(rows[0])
    out[0] = _("合计")
    for c in money_cols:
        out[c] = sum((r[c] for r in rows), ZERO)
    for c in count_cols:
        out[c] = sum(r[c] for r in rows)
    return out


def _currency_labels() -> dict[str, str]:
    """Currency code → its translated name, resolved once per report rather than once per row."""
    return {code: str(label) for code, label in Currency.choices}


def _labelled_rows(data: list[tuple]) -> list[list]:
    """Rows of (group id, currency, n, income, expenditure, balance, code, name) → report rows
    [code, name, currency name, n, income, expenditure, balance] in code and currency-name order."""
    labels = _currency_labels()
    rows = [[code, name, labels.get(c, c), n, inc, exp, bal] for _id, c, n, inc, exp, bal, code, name in data]
    rows.sort(key=lambda r: (r[0], r[2]))
    return rows


def report_department(*, user, filters: Filters) -> Report:
    """财政资金部门分布表: by first-level agency and currency."""
    f = filters.normalized()
    rows = _labelled_rows(_figures(user, F.REPORT_DEPT, f, "department_id, currency", label="orgs_agency"))
    return Report(_("财政资金部门分布表"), [_("部门编码"), _("部门名称"), _("币种"), _("账户数"), _("资金收入"), _("资金支出"),
                                    _("当前余额")], rows, _totals(rows, (4, 5, 6), (3,)), f.describe(), (4, 5, 6))


def report_unit(*, user, filters: Filters) -> Report:
    """财政资金预算单位分布表: by agency and currency, with balance greater/less than filters."""
    f = filters.normalized()
    having, hp = _balance_having(f)
    rows = _labelled_rows(_figures(user, F.REPORT_UNIT, f, "agency_id, currency", having=having, having_params=hp,
                                   label="orgs_agency"))
    return Report(_("财政资金预算单位分布表"), [_("单位编码"), _("单位名称"), _("币种"), _("账户数"), _("资金收入"), _("资金支出"),
                                      _("当前余额")], rows, _totals(rows, (4, 5, 6), (3,)), f.describe(), (4, 5, 6))


def report_bank(*, user, filters: Filters) -> Report:
    """财政资金银行分布表: by bank and currency: account count, income, expenditure, balance."""
    f = filters.normalized()
    rows = _labelled_rows(_figures(user, F.REPORT_BANK, f, "bank_id, currency", label="orgs_bank"))
    return Report(_("财政资金银行分布表"), [_("银行编码"), _("银行名称"), _("币种"), _("账户个数"), _("资金收入"), _("资金支出"),
                                    _("当前余额")], rows, _totals(rows, (4, 5, 6), (3,)), f.describe(), (4, 5, 6))


def report_initial(*, user, filters: Filters) -> Report:
    """预算单位账户初始化余额构成表: the initial balance of accounts by fund source."""
    f = filters.normalized()
    accts = _scoped_accounts(user, F.REPORT_INITIAL, f)
    items = (OpeningBalanceItem.objects.restrict(user, F.REPORT_INITIAL).filter(account__in=accts.values("pk"))
             .select_related("account", "account__agency", "account__bank")
             .order_by("account__agency__code", "account__number", "source"))
    rows = [[i.account.agency.code, i.account.agency.name, i.account.bank.name, i.account.number, i.account.name,
             str(i.account.initialized_on or ""), i.get_source_display(), i.amount] for i in items[:5000]]
    return Report(_("预算单位账户初始化余额构成表"), [_("单位编码"), _("单位名称"), _("银行"), _("账号"), _("账户名称"),
                                          _("初始化日期"), _("资金来源"), _("金额")],
                  rows, _totals(rows, (7,)), f.describe(), (7,))


def report_flows(*, user, filters: Filters, limit: int = 5000) -> Report:
    """预算单位账户交易流水明细表: the flows of the chosen account(s) within the period."""
    f = filters.normalized()
    if not (f.number or f.agency):
        raise ValidationFailed("bankaccounts.account_required", "请选择账号或预算单位", field="number")
    accts = _scoped_accounts(user, F.REPORT_FLOWS, Filters(**{**f.__dict__, "status": ""}))
    flows = (BankFlow.objects.restrict(user, F.REPORT_FLOWS)
             .filter(account__in=accts.values("pk"), tx_date__range=(f.date_from, f.date_to))
             .select_related("account", "account__agency", "bank").order_by("account__number", "tx_time", "pk"))
    rows = []
    for x in flows[:limit]:
        rows.append([x.account.agency.name, x.account_no, x.tx_time.astimezone(timezone.get_current_timezone())
                     .strftime("%Y-%m-%d %H:%M:%S"), x.serial_no, x.get_direction_display(),
                     x.amount if x.direction == "C" else ZERO, x.amount if x.direction == "D" else ZERO,
                     x.balance if x.balance is not None else "", x.counterparty_name, x.counterparty_account, x.summary])
    return Report(_("预算单位账户交易流水明细表"), [_("预算单位"), _("账号"), _("交易时间"), _("银行流水号"), _("收支"), _("收入"),
                                          _("支出"), _("交易后余额"), _("对方户名"), _("对方账号"), _("摘要")],
                  rows, _totals(rows, (5, 6)), f.describe(), (5, 6, 7))


def report_balances(*, user, filters: Filters) -> Report:
    """预算单位账户余额明细表: every account of the unit(s) with its attributes and balance."""
    f = filters.normalized()
    data = _figures(user, F.REPORT_BALANCES, f, "id", order="ORDER BY id")
    by_id = {r[0]: r for r in data}
    accts = (BankAccount.objects.filter(pk__in=list(by_id)).select_related("agency", "bank", "branch")
             .order_by("agency__code", "number"))
    rows = []
    for a in accts:
        _id, _n, inc, exp, bal = by_id[a.pk]
        if f.balance_gt is not None and not bal > f.balance_gt:
            continue
        if f.balance_lt is not None and not bal < f.balance_lt:
            continue
        rows.append([a.agency.code, a.agency.name, a.number, a.name, a.bank.name, a.get_nature_display(),
                     a.get_currency_display(), str(a.opened_on), a.get_status_display(), inc, exp, bal])
    return Report(_("预算单位银行账户余额明细表"), [_("单位编码"), _("单位名称"), _("账号"), _("账户名称"), _("开户银行"), _("账户性质"),
                                          _("币种"), _("开户日期"), _("状态"), _("资金收入"), _("资金支出"), _("当前余额")],
                  rows, _totals(rows, (9, 10, 11)), f.describe(), (9, 10, 11))


def report_counts(*, user, filters: Filters) -> Report:
    """预算单位账户统计表: number of accounts by unit and currency."""
    f = filters.normalized()
    data = list(_scoped_accounts(user, F.REPORT_COUNTS, f).values("agency__code", "agency__name", "currency")
                .annotate(n=Count("id")).order_by("agency__code", "currency"))
    currencies = sorted({d["currency"] for d in data}, key=lambda c: (c != "CNY", c))
    table: dict[tuple, dict] = {}
    for d in data:
        table.setdefault((d["agency__code"], d["agency__name"]), {})[d["currency"]] = d["n"]
    rows = [[code, name, *[cells.get(c, 0) for c in currencies], sum(cells.values())]
            for (code, name), cells in table.items()]
    n = len(currencies)
    return Report(_("预算单位实体资金账户数"), [_("单位编码"), _("单位名称"), *[_cur(c) for c in currencies],
                                       _("合计")], rows, _totals(rows, (), tuple(range(2, 3 + n))), f.describe())


def _changes(user, function: str, f: Filters) -> QuerySet[AccountChange]:
    qs = AccountChange.objects.restrict(user, function).filter(changed_at__date__range=(f.date_from, f.date_to))
    if f.agency:
        qs = qs.filter(agency__code__startswith=f.agency)
    if f.bank:
        qs = qs.filter(account__bank__code=f.bank)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return qs


def report_changes(*, user, filters: Filters) -> Report:
    """预算单位账户变更情况统计表: changes in the period by type; changes also by item changed."""
    f = filters.normalized()
    qs = _changes(user, F.REPORT_CHANGES, f)
    rows = []
    for kind, label in AccountChange.Kind.choices:
        part = qs.filter(kind=kind)
        if kind == AccountChange.Kind.CHANGE:
            for d in (part.values("field_label").annotate(accounts=Count("account", distinct=True), n=Count("id"))
                      .order_by("field_label")):
                rows.append([str(label), d["field_label"], d["accounts"], d["n"]])
            continue
        agg = part.aggregate(accounts=Count("account", distinct=True), apps=Count("application", distinct=True),
                             insp=Count("inspection", distinct=True))
        if agg["accounts"]:
            rows.append([str(label), "", agg["accounts"], (agg["apps"] + agg["insp"]) or agg["accounts"]])
    return Report(_("预算单位账户变更情况统计表"), [_("变更类型"), _("变更项目"), _("涉及账户数"), _("变更次数")], rows,
                  _totals(rows, (), (3,)), f.describe())


def report_change_detail(*, user, filters: Filters, limit: int = 5000) -> Report:
    """预算单位银行账户变更情况明细表: every change in the period."""
    f = filters.normalized()
    qs = (_changes(user, F.REPORT_CHANGE_DETAIL, f)
          .select_related("account", "agency", "requested_by", "changed_by", "application").order_by("changed_at", "pk"))
    tz = timezone.get_current_timezone()
    rows = [[c.changed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), c.agency.name, c.account.number, c.account.name,
             c.get_kind_display(), c.field_label, c.old_value, c.new_value,
             c.application.number if c.application else "", c.requested_by.name if c.requested_by else "",
             c.changed_by.name if c.changed_by else ""] for c in qs[:limit]]
    return Report(_("预算单位银行账户变更情况明细表"), [_("变更时间"), _("预算单位"), _("账号"), _("账户名称"), _("变更类型"),
                                            _("变更项目"), _("变更前"), _("变更后"), _("申请编号"), _("申请人"),
                                            _("批准人")], rows, None, f.describe())


REPORTS = {
    "department": (F.REPORT_DEPT, report_department),
    "unit": (F.REPORT_UNIT, report_unit),
    "bank": (F.REPORT_BANK, report_bank),
    "initial": (F.REPORT_INITIAL, report_initial),
    "flows": (F.REPORT_FLOWS, report_flows),
    "balances": (F.REPORT_BALANCES, report_balances),
    "counts": (F.REPORT_COUNTS, report_counts),
    "changes": (F.REPORT_CHANGES, report_changes),
    "change_detail": (F.REPORT_CHANGE_DETAIL, report_change_detail),
}


def report(name: str, *, user, filters: Filters) -> Report:
    if name not in REPORTS:
        raise NotFound("bankaccounts.report_unknown", f"没有这张报表：{name}")
    function, fn = REPORTS[name]
    permissions.require(user, function)
    return fn(user=user, filters=filters)


# --- reconciliation -----------------------------------------------------------------------------

def unregistered_accounts(*, user, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Accounts seen in banks' flows but not in the register (账户未登记)."""
    qs = (BankFlow.objects.restrict(user, F.RECONCILE_VIEW)
          .filter(account__isnull=True, tx_date__range=(date_from, date_to))
          .values("bank__code", "bank__name", "account_no")
          .annotate(flows=Count("id"), first=Min("tx_date"), last=Max("tx_date"))
          .order_by("bank__code", "account_no"))
    return list(qs[:2000])


def silent_accounts(*, user, date_from: dt.date, date_to: dt.date) -> QuerySet[BankAccount]:
    """Registered accounts in use with no flow at all in the period (登记但无流水)."""
    days = AccountDay.objects.filter(account=OuterRef("pk"), day__range=(date_from, date_to))
    return (BankAccount.objects.restrict(user, F.RECONCILE_VIEW)
            .filter(status=BankAccount.Status.ACTIVE, opened_on__lte=date_to).filter(~Exists(days))
            .select_related("agency", "bank").order_by("agency__code", "number"))


def balance_mismatches(*, user, day: dt.date) -> list[dict]:
    """Accounts whose balance reported by the bank for `day` differs from the balance the register
    derives (initial balance + flows after the initialisation date up to `day`)."""
    inner_sql, inner_params = (ReportedBalance.objects.restrict(user, F.RECONCILE_VIEW)
                               .filter(balance_date=day, account__isnull=False).values("id").query.sql_with_params())
    sql = f"""
        SELECT a.id, ag.code, ag.name, b.name, a.number, a.name, rb.balance,
               a.opening_balance + COALESCE((
                   SELECT SUM(d.income - d.expenditure) FROM bankaccounts_accountday d
                   WHERE d.account_id = a.id AND d.day <= %s
                     AND (a.initialized_on IS NULL OR d.day > a.initialized_on)), 0) AS derived
        FROM bankaccounts_reportedbalance rb
        JOIN bankaccounts_bankaccount a ON a.id = rb.account_id
        JOIN orgs_agency ag ON ag.id = a.agency_id JOIN orgs_bank b ON b.id = a.bank_id
        WHERE rb.id IN ({inner_sql})
        ORDER BY ag.code, a.number"""
    with connection.cursor() as cur:
        cur.execute(sql, [day, *inner_params])
        out = []
        for pk, acode, aname, bname, number, name, reported, derived in cur.fetchall():
            if reported != derived:
                out.append({"account_id": pk, "agency_code": acode, "agency_name": aname, "bank_name": bname,
                            "number": number, "name": name, "reported": reported, "derived": derived,
                            "difference": reported - derived})
    return out


def balance_of(*, user, account_id: int, day: dt.date | None = None, function: str = F.ACCOUNT_VIEW) -> Decimal:
    """The balance of one account at the end of `day` (default today)."""
    acct = account(user=user, pk=account_id, function=function)
    day = day or timezone.localdate()
    q = AccountDay.objects.filter(account=acct, day__lte=day)
    if acct.initialized_on:
        q = q.filter(day__gt=acct.initialized_on)
    net = q.aggregate(n=Sum(DF("income") - DF("expenditure")))["n"] or ZERO
    return acct.opening_balance + net
