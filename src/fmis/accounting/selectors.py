"""Every read of the accounting module that users see, through the permission filter.

The trial balance and the general ledger read the balance table (one row per leaf account and
auxiliary combination and period), so they cost O(accounts), not O(lines).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.urls import NoReverseMatch

from fmis.accounting.models import (
    Account,
    AccountSet,
    Balance,
    EventPosting,
    FiscalYear,
    OpeningBalance,
    Period,
    PostingRule,
    Voucher,
    VoucherTemplate,
)
from fmis.accounting.services import (
    FN_OPENING_VIEW,
    FN_SET_VIEW,
    FN_TEMPLATE,
    FN_VOUCHER_VIEW,
    OpeningCheck,
    opening_check,
    scheme_of,
)
from fmis.platform.errors import NotFound, ValidationFailed
from fmis.platform.money import ZERO, to_money

FN_LEDGER = "accounting.ledger.view"
SESSION_KEY = "accounting_account_set"


def account_sets(*, user, function: str = FN_SET_VIEW, q: str = "") -> QuerySet[AccountSet]:
    qs = AccountSet.objects.restrict(user, function).select_related("agency", "region")
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(agency__name__icontains=q))
    return qs.order_by("code")


def account_set(*, user, pk, function: str = FN_SET_VIEW) -> AccountSet:
    obj = account_sets(user=user, function=function).filter(pk=pk).first() if str(pk).isdigit() else None
    if obj is None:
        raise NotFound("accounting.set_not_found", "账套不存在", field="account_set")
    return obj


def current_account_set(request, *, function: str = FN_SET_VIEW) -> AccountSet | None:
    """The session's account set if still in scope, else the first one the user may see."""
    qs = account_sets(user=request.user, function=function)
    pk = request.session.get(SESSION_KEY)
    obj = qs.filter(pk=pk).first() if pk else None
    return obj or qs.first()


def choose_account_set(request, pk) -> AccountSet:
    obj = account_set(user=request.user, pk=pk)
    request.session[SESSION_KEY] = obj.pk
    return obj


def periods(*, user, aset: AccountSet, function: str = FN_SET_VIEW) -> QuerySet[Period]:
    return Period.objects.restrict(user, function).filter(account_set=aset).order_by("year", "number")


def period(*, user, pk, function: str = "accounting.close") -> Period:
    p = (Period.objects.restrict(user, function).select_related("account_set").filter(pk=pk).first()
         if str(pk).isdigit() else None)
    if p is None:
        raise NotFound("accounting.period_not_found", "会计期间不存在", field="period")
    return p


def accounts(*, user, aset: AccountSet, q: str = "", function: str = FN_SET_VIEW) -> QuerySet[Account]:
    qs = Account.objects.restrict(user, function).filter(account_set=aset)
    if q:
        qs = qs.filter(Q(code__startswith=q) | Q(name__icontains=q) | Q(full_name__icontains=q))
    return qs.order_by("code")


@dataclass
class VoucherFilter:
    q: str = ""
    account: str = ""
    amount: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""
    year: int | None = None
    period: int | None = None


def vouchers(*, user, aset: AccountSet | None, f: VoucherFilter | None = None) -> QuerySet[Voucher]:
    f = f or VoucherFilter()
    qs = Voucher.objects.restrict(user, FN_VOUCHER_VIEW).select_related("period", "category", "entered_by",
                                                                         "audited_by", "posted_by")
    if aset is not None:
        qs = qs.filter(account_set=aset)
    if f.q:
        qs = qs.filter(Q(summary__icontains=f.q) | Q(lines__summary__icontains=f.q) | Q(source_no__icontains=f.q)
                       | Q(lines__aux__icontains=f.q))
    if f.account:
        qs = qs.filter(lines__account__code__startswith=f.account)
    if f.amount:
        amount = to_money(f.amount, field="amount")
        qs = qs.filter(Q(lines__debit=amount) | Q(lines__credit=amount) | Q(debit_total=amount))
    if f.date_from:
        qs = qs.filter(date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(date__lte=f.date_to)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.year:
        qs = qs.filter(fiscal_year=f.year)
    if f.period:
        qs = qs.filter(period__number=f.period)
    return qs.distinct().order_by("period__year", "period__number", "series", "number")


def voucher(*, user, pk) -> Voucher:
    v = (Voucher.objects.restrict(user, FN_VOUCHER_VIEW).select_related(
        "account_set", "period", "category", "entered_by", "audited_by", "posted_by", "reversal_of")
        .filter(pk=pk).first() if str(pk).isdigit() else None)
    if v is None:
        raise NotFound("accounting.voucher_not_found", "凭证不存在", field="voucher")
    return v


def event_postings(*, user, outcome: str = "") -> QuerySet[EventPosting]:
    qs = EventPosting.objects.restrict(user, "accounting.rule.manage").select_related("voucher", "account_set")
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.order_by("-created_at")


def posting_rules() -> QuerySet[PostingRule]:
    return PostingRule.objects.prefetch_related("lines").order_by("event", "priority", "code")


# --- trial balance and ledgers ----------------------------------------------------------------------

@dataclass
class TrialRow:
    code: str
    name: str
    level: int
    basis: str
    direction: str
    opening: Decimal
    debit: Decimal
    credit: Decimal
    cum_debit: Decimal
    cum_credit: Decimal
    closing: Decimal

    @staticmethod
    def _split(v: Decimal) -> tuple[Decimal, Decimal]:
        return (v, ZERO) if v > 0 else (ZERO, -v)

    @property
    def opening_debit(self):
        return self._split(self.opening)[0]

    @property
    def opening_credit(self):
        return self._split(self.opening)[1]

    @property
    def closing_debit(self):
        return self._split(self.closing)[0]

    @property
    def closing_credit(self):
        return self._split(self.closing)[1]


@dataclass
class TrialBalance:
    aset: AccountSet
    period: Period
    level: int
    rows: list[TrialRow] = field(default_factory=list)
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return all(t["opening_debit"] == t["opening_credit"] and t["debit"] == t["credit"]
                   and t["closing_debit"] == t["closing_credit"] for t in self.totals.values())


def _period(aset: AccountSet, year: int, number: int) -> Period:
    p = Period.objects.filter(account_set=aset, year=year, number=number).first()
    if p is None:
        raise NotFound("accounting.period_not_found", f"会计期间 {year}-{number:02d} 不存在", field="period")
    return p


def trial_balance(*, user, aset_id, year: int, number: int, level: int = 1) -> TrialBalance:
    """科目余额表 at `level`: opening, the period's debit and credit, the year's cumulative amounts
    and closing, per account, with totals per basis."""
    aset = account_set(user=user, pk=aset_id, function=FN_LEDGER)
    scheme = scheme_of(aset)
    if not 1 <= level <= scheme.depth:
        raise ValidationFailed("accounting.level_invalid", f"级次应为 1–{scheme.depth}", field="level")
    period = _period(aset, year, number)
    length = scheme.length_of(level)
    sql = """
        SELECT a.code, a.full_name, a.level, a.basis, a.direction,
               coalesce(sum(b.opening), 0), coalesce(sum(b.debit), 0), coalesce(sum(b.credit), 0),
               coalesce(sum(b.cum_debit), 0), coalesce(sum(b.cum_credit), 0), coalesce(sum(b.closing), 0)
        FROM accounting_balance b
        JOIN accounting_account leaf ON leaf.id = b.account_id
        JOIN accounting_account a ON a.account_set_id = leaf.account_set_id
             AND a.code = left(leaf.code, least(length(leaf.code), %s))
        WHERE b.period_id = %s AND a.level <= %s
          AND (a.level = %s OR a.is_leaf)
        GROUP BY a.code, a.full_name, a.level, a.basis, a.direction
        HAVING sum(abs(b.opening)) + sum(abs(b.debit)) + sum(abs(b.credit)) + sum(abs(b.cum_debit))
               + sum(abs(b.cum_credit)) + sum(abs(b.closing)) <> 0
        ORDER BY a.code
    """
    with connection.cursor() as cur:
        cur.execute(sql, [length, period.pk, level, level])
        rows = [TrialRow(*r) for r in cur.fetchall()]
    tb = TrialBalance(aset=aset, period=period, level=level, rows=rows)
    for basis in ("financial", "budgetary"):
        rs = [r for r in rows if r.basis == basis]
        tb.totals[basis] = {
            "opening_debit": sum((r.opening_debit for r in rs), ZERO),
            "opening_credit": sum((r.opening_credit for r in rs), ZERO),
            "debit": sum((r.debit for r in rs), ZERO), "credit": sum((r.credit for r in rs), ZERO),
            "cum_debit": sum((r.cum_debit for r in rs), ZERO), "cum_credit": sum((r.cum_credit for r in rs), ZERO),
            "closing_debit": sum((r.closing_debit for r in rs), ZERO),
            "closing_credit": sum((r.closing_credit for r in rs), ZERO)}
    return tb


@dataclass
class LedgerRow:
    period: Period
    summary: str
    debit: Decimal
    credit: Decimal
    balance: Decimal
    voucher: Voucher | None = None
    aux: dict | None = None
    line_summary: str = ""


def _account(aset: AccountSet, code: str) -> Account:
    acc = Account.objects.filter(account_set=aset, code=code).first()
    if acc is None:
        raise NotFound("accounting.account_not_found", f"科目 {code} 不存在", field="account")
    return acc


def general_ledger(*, user, aset_id, code: str, year: int) -> tuple[Account, list[LedgerRow]]:
    """三栏式总账: per period the opening (first row), the period's debit, credit and balance, and the
    year's cumulative amounts, from the balance table."""
    aset = account_set(user=user, pk=aset_id, function=FN_LEDGER)
    acc = _account(aset, code)
    per = {p.pk: p for p in Period.objects.filter(account_set=aset, year=year)}
    agg: dict[int, list[Decimal]] = {}
    for b in Balance.objects.filter(period_id__in=per, account__code__startswith=acc.code,
                                    account__account_set=aset).values("period_id", "opening", "debit", "credit",
                                                                      "cum_debit", "cum_credit", "closing"):
        a = agg.setdefault(b["period_id"], [ZERO] * 6)
        for i, k in enumerate(("opening", "debit", "credit", "cum_debit", "cum_credit", "closing")):
            a[i] += b[k]
    rows: list[LedgerRow] = []
    for p in sorted(per.values(), key=lambda p: p.number):
        a = agg.get(p.pk)
        if a is None:
            continue
        if not rows:
            rows.append(LedgerRow(p, "期初余额", ZERO, ZERO, a[0]))
        rows.append(LedgerRow(p, "本期合计", a[1], a[2], a[5]))
        rows.append(LedgerRow(p, "本年累计", a[3], a[4], a[5]))
    return acc, rows


def _detail_query(*, user, aset_id, code: str, year: int, number_from: int, number_to: int,
                  aux_filter: dict | None) -> tuple[Account, Decimal, QuerySet]:
    """The account, its opening at the first period and its posted lines in ledger order."""
    from fmis.accounting.models import VoucherLine

    aset = account_set(user=user, pk=aset_id, function=FN_LEDGER)
    acc = _account(aset, code)
    first = _period(aset, year, number_from)
    bal_qs = Balance.objects.filter(period=first, account__account_set=aset, account__code__startswith=acc.code)
    lines = (VoucherLine.objects.filter(voucher__account_set=aset, voucher__status=Voucher.Status.POSTED,
                                        voucher__period__year=year, voucher__period__number__gte=number_from,
                                        voucher__period__number__lte=number_to,
                                        account__code__startswith=acc.code)
             .select_related("voucher", "voucher__period", "voucher__category", "account")
             .order_by("voucher__period__number", "voucher__date", "voucher__series", "voucher__number",
                       "voucher_id", "line_no"))
    for k, v in (aux_filter or {}).items():
        if v:
            lines = lines.filter(**{f"aux__{k}": v})
            bal_qs = bal_qs.filter(**{f"aux__{k}": v})
    opening = bal_qs.aggregate(s=Sum("opening"))["s"] or ZERO
    return acc, opening, lines


def _ledger_rows(lines, running: Decimal) -> list[LedgerRow]:
    rows = []
    for line in lines:
        running += line.debit - line.credit
        rows.append(LedgerRow(line.voucher.period, line.voucher.summary, line.debit, line.credit, running,
                              voucher=line.voucher, aux=line.aux, line_summary=line.summary))
    return rows


def detail_ledger(*, user, aset_id, code: str, year: int, number_from: int = 1, number_to: int = 13,
                  aux_filter: dict | None = None) -> tuple[Account, Decimal, list[LedgerRow]]:
    """明细账: posted lines of the account (and its sub-accounts) with a running balance and the
    auxiliary values; the opening is read from the balance table. Every line (for exports)."""
    acc, opening, lines = _detail_query(user=user, aset_id=aset_id, code=code, year=year, number_from=number_from,
                                        number_to=number_to, aux_filter=aux_filter)
    return acc, opening, _ledger_rows(lines, opening)


@dataclass
class LedgerPage:
    account: Account
    opening: Decimal  # at the first period of the range
    carried: Decimal  # the balance before the page's first line (承前页)
    rows: list[LedgerRow]
    page_obj: object  # django.core.paginator.Page


def detail_ledger_page(*, user, aset_id, code: str, year: int, number_from: int = 1, number_to: int = 13,
                       aux_filter: dict | None = None, page=None, size: int = 100) -> LedgerPage:
    """One page of the detail ledger: the lines of the page only, with the balance carried from the
    lines before it summed in the database, so a page costs the same on a large book."""
    from django.core.paginator import Paginator

    from fmis.accounting.models import VoucherLine

    acc, opening, lines = _detail_query(user=user, aset_id=aset_id, code=code, year=year, number_from=number_from,
                                        number_to=number_to, aux_filter=aux_filter)
    page_obj = Paginator(lines, size).get_page(page)
    offset = page_obj.start_index() - 1 if page_obj.paginator.count else 0
    carried = opening
    if offset:
        before = VoucherLine.objects.filter(pk__in=lines.values("pk")[:offset])
        carried += before.aggregate(s=Sum(F("debit") - F("credit")))["s"] or ZERO
    return LedgerPage(acc, opening, carried, _ledger_rows(page_obj.object_list, carried), page_obj)


@dataclass
class SourceLink:
    title: str
    url: str | None


def source_links(v: Voucher) -> list[SourceLink]:
    """来源: the business documents behind a machine voucher (or a reversal of one), with a link
    where the document type is registered; the target page applies its own permission check."""
    from fmis.platform.workflow import registry

    out: list[SourceLink] = []

    def add(doc_type: str, object_id, fallback: str) -> None:
        dt_ = registry.find(doc_type) if doc_type else None
        if dt_ is not None and str(object_id).isdigit():
            doc = dt_.model._default_manager.filter(pk=object_id).first()
            try:
                out.append(SourceLink(dt_.title_of(doc, object_id) if doc else fallback, dt_.url_of(doc, object_id)))
                return
            except NoReverseMatch:
                pass
        out.append(SourceLink(fallback, None))

    if v.source_type or v.source_no:
        add(v.source_type, v.source_id, f"{v.source_type} {v.source_no}".strip())
    posting = EventPosting.objects.filter(voucher=v).order_by("id").first()
    payload = posting.payload if posting is not None else {}
    if payload.get("application_id"):
        add("treasury.payment_application", payload["application_id"], f"支付申请 {payload.get('application_no', '')}")
    if payload.get("voucher_no"):
        out.append(SourceLink(f"支付凭证 {payload['voucher_no']}", None))
    return out


# --- opening balances, fiscal years, templates --------------------------------------------------------

@dataclass
class Openings:
    aset: AccountSet
    year: int
    fiscal_year: FiscalYear | None
    rows: QuerySet[OpeningBalance]
    check: OpeningCheck

    @property
    def posted(self) -> bool:
        return self.fiscal_year is not None and self.fiscal_year.opening_status == FiscalYear.OpeningStatus.POSTED


def openings(*, user, aset_id, year: int, q: str = "") -> Openings:
    """A year's opening balances of an account set (in the user's scope), with the trial-balance check."""
    aset = account_set(user=user, pk=aset_id, function=FN_OPENING_VIEW)
    if not Period.objects.filter(account_set=aset, year=year).exists():
        raise NotFound("accounting.year_missing", f"账套 {aset.code} 没有 {year} 年度的会计期间", field="year")
    rows = (OpeningBalance.objects.restrict(user, FN_OPENING_VIEW).filter(account_set=aset, year=year)
            .select_related("account").order_by("account__code", "aux_hash"))
    if q:
        rows = rows.filter(Q(account__code__startswith=q) | Q(account__full_name__icontains=q))
    fy = FiscalYear.objects.filter(account_set=aset, year=year).select_related("opening_posted_by").first()
    return Openings(aset=aset, year=year, fiscal_year=fy, rows=rows, check=opening_check(aset, year))


def fiscal_years(*, user, aset: AccountSet, function: str = FN_SET_VIEW) -> list[dict]:
    """Every year of the account set that has periods, with its opening and year-close state."""
    states = {f.year: f for f in FiscalYear.objects.restrict(user, function).filter(account_set=aset)
              .select_related("closed_by", "opening_posted_by")}
    years = sorted(set(Period.objects.filter(account_set=aset).values_list("year", flat=True)))
    return [{"year": y, "state": states.get(y)} for y in years]


def templates(*, user, aset: AccountSet, q: str = "") -> QuerySet[VoucherTemplate]:
    qs = (VoucherTemplate.objects.restrict(user, FN_TEMPLATE).filter(account_set=aset)
          .select_related("category", "created_by").prefetch_related("lines__account"))
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return qs.order_by("code")


def template(*, user, pk, function: str = FN_TEMPLATE) -> VoucherTemplate:
    t = (VoucherTemplate.objects.restrict(user, function).select_related("account_set", "category")
         .filter(pk=pk).first() if str(pk).isdigit() else None)
    if t is None:
        raise NotFound("accounting.template_not_found", "凭证模板不存在", field="template")
    return t


def carry_forward_movements(*, aset: AccountSet, year: int) -> dict[str, tuple[Decimal, Decimal]]:
    """Debit and credit posted by the year-end carry-forward vouchers, per leaf account code, for
    `aset` (already checked against the user's scope). Statements that report the year's income and
    expense (本年累计) from the balance rows of the carry-forward period subtract these movements."""
    from fmis.accounting.services import CARRY_SOURCE_TYPE

    with connection.cursor() as cur:
        cur.execute("SELECT a.code, sum(l.debit), sum(l.credit) FROM accounting_voucherline l "
                    "JOIN accounting_voucher v ON v.id = l.voucher_id JOIN accounting_account a ON a.id = l.account_id "
                    "WHERE v.account_set_id = %s AND v.fiscal_year = %s AND v.status = 'posted' AND v.is_machine "
                    "AND v.source_type = %s GROUP BY a.code ORDER BY a.code", [aset.pk, year, CARRY_SOURCE_TYPE])
        return {code: (d, c) for code, d, c in cur.fetchall()}
