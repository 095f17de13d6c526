"""记账凭证 printing: the voucher form (header, lines, totals in figures and in Chinese capital
amount, signatures) for one voucher or several from the voucher list, on A4 or voucher paper,
and the Chinese capital amount converter (大写金额).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from fmis.accounting import selectors
from fmis.accounting.bulk import SOURCE_TYPE as BULK_SOURCE
from fmis.accounting.functions import VOUCHER_VIEW
from fmis.accounting.models import Basis, Voucher, VoucherLine
from fmis.platform.errors import DomainError, ValidationFailed
from fmis.platform.money import ZERO, to_money
from fmis.platform.web import needs

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
GROUP_UNITS = ("", "万", "亿", "万")  # the fourth group reads "…万…亿": 1,2345,0000,0000 壹万贰仟叁佰肆拾伍亿
MAX_PRINT = 500
PAPERS = ("a4", "voucher")


def rmb_upper(amount: Decimal | str | int) -> str:
    """人民币大写金额, e.g. 12345.67 → 壹万贰仟叁佰肆拾伍元陆角柒分; 100 → 壹佰元整; 0 → 零元整.

    A run of zeros between non-zero digits is read as one 零 (1001 → 壹仟零壹元, 100100 →
    壹拾万零壹佰元, 1680.32 → 壹仟陆佰捌拾元零叁角贰分, 0.05 → 伍分); 整 ends an amount with no 分;
    the ten of a leading 10–19 is written 壹拾 (as on cheques); a negative amount (red voucher)
    starts with 负."""
    value = to_money(amount, field="amount")
    if value == 0:
        return "零元整"
    sign = "负" if value < 0 else ""
    fen_total = int(abs(value) * 100)
    yuan, fen_part = divmod(fen_total, 100)
    jiao, fen = divmod(fen_part, 10)
    if yuan >= 10 ** 16:
        raise ValidationFailed("money.too_large", f"金额超出大写转换范围: {value}", field="amount")
    out: list[str] = []
    zero_pending = False
    if yuan:
        groups = []
        n = yuan
        while n:
            n, g = divmod(n, 10000)
            groups.append(g)
        for gi in range(len(groups) - 1, -1, -1):
            g = groups[gi]
            if g == 0:
                zero_pending = bool(out)
                if gi == 2 and out:  # 壹万亿: the 亿 of a 万亿 amount stays even when its own group is empty
                    out.append("亿")
                continue
            for pos in range(3, -1, -1):
                d = (g // 10 ** pos) % 10
                if d == 0:
                    zero_pending = zero_pending or bool(out)
                    continue
                if zero_pending:
                    out.append("零")
                    zero_pending = False
                out.append(DIGITS[d] + SMALL_UNITS[pos])
            out.append(GROUP_UNITS[gi])
        out.append("元")
    if jiao:
        if zero_pending and yuan:
            out.append("零")
        out.append(DIGITS[jiao] + "角")
        zero_pending = False
    elif fen and yuan:
        zero_pending = True
    if fen:
        if zero_pending and yuan:
            out.append("零")
        out.append(DIGITS[fen] + "分")
    else:
        out.append("整")
    return sign + "".join(out)


# --- the form ----------------------------------------------------------------------------------------

@dataclass
class PrintLine:
    summary: str
    account: str
    debit: Decimal
    credit: Decimal


@dataclass
class PrintSection:
    basis: str
    title: str
    lines: list[PrintLine] = field(default_factory=list)

    @property
    def debit(self) -> Decimal:
        return sum((x.debit for x in self.lines), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((x.credit for x in self.lines), ZERO)

    @property
    def in_words(self) -> str:
        return rmb_upper(self.debit)


@dataclass
class PrintForm:
    voucher: Voucher
    sections: list[PrintSection]
    entered_by: str
    audited_by: str
    posted_by: str
    supervisor: str
    word: str
    number: str
    entity: str

    @property
    def single_total(self) -> bool:
        return len(self.sections) == 1


def _name(user) -> str:
    return (getattr(user, "name", "") or getattr(user, "username", "")) if user is not None else ""


def forms_for(vouchers: list[Voucher]) -> list[PrintForm]:
    """The printable forms of `vouchers` (already read through the permission filter)."""
    ids = [v.pk for v in vouchers]
    lines: dict[int, list[VoucherLine]] = {}
    for line in (VoucherLine.objects.filter(voucher_id__in=ids).select_related("account")
                 .order_by("voucher_id", "line_no")):
        lines.setdefault(line.voucher_id, []).append(line)
    out = []
    for v in vouchers:
        sections = []
        for basis, title in ((Basis.FINANCIAL, _("财务会计")), (Basis.BUDGETARY, _("预算会计"))):
            rows = [PrintLine(x.summary, f"{x.account.code} {x.account.full_name}", x.debit, x.credit)
                    for x in lines.get(v.pk, []) if x.basis == basis]
            if rows:
                sections.append(PrintSection(str(basis), title, rows))
        if v.entered_by_id:
            entrant = _name(v.entered_by)
        elif v.source_type == BULK_SOURCE:
            entrant = _("批量导入")
        else:
            entrant = _("机制") if v.is_machine else ""
        aset = v.account_set
        entity = aset.agency.name if aset.agency_id else aset.region.name
        out.append(PrintForm(voucher=v, sections=sections, entered_by=entrant, audited_by=_name(v.audited_by),
                             posted_by=_name(v.posted_by), supervisor=aset.supervisor, word=v.category.word,
                             number=f"{v.number:04d}", entity=entity))
    return out


def _render(request, vouchers: list[Voucher], *, errors: list[str] | None = None):
    paper = request.GET.get("paper", "a4")
    if paper not in PAPERS:
        paper = "a4"
    return render(request, "accounting/voucher_print.html", {
        "forms": forms_for(vouchers), "paper": paper, "errors": errors or [],
        "query": request.GET.urlencode(), "papers": PAPERS})


def _related(qs):
    return qs.select_related("account_set", "account_set__agency", "account_set__region", "period", "category",
                             "entered_by", "audited_by", "posted_by")


@needs(VOUCHER_VIEW)
def voucher_print(request, pk: int):
    """One voucher on the voucher form."""
    v = selectors.voucher(user=request.user, pk=pk)
    return _render(request, list(_related(Voucher.objects.filter(pk=v.pk))))


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def _int(text) -> int | None:
    text = str(text or "").strip()
    return int(text) if text.isdigit() else None


@needs(VOUCHER_VIEW)
def vouchers_print(request):
    """Several vouchers: the ones ticked in the list (``?ids=1,2,3``, repeated ``id=`` also), or
    every voucher the list's filters select in the current account set (at most 500)."""
    raw = [p for chunk in request.GET.getlist("ids") + request.GET.getlist("id") for p in chunk.split(",")]
    ids = [int(p) for p in raw if p.strip().isdigit()]
    errors = []
    if ids:
        qs = selectors.vouchers(user=request.user, aset=None).filter(pk__in=ids)
    else:
        aset = selectors.current_account_set(request)
        if aset is None:
            raise Http404
        try:
            f = selectors.VoucherFilter(q=request.GET.get("q", "").strip(), account=request.GET.get("account", "").strip(),
                                        amount=request.GET.get("amount", "").strip(), date_from=_date(request.GET.get("date_from", "")),
                                        date_to=_date(request.GET.get("date_to", "")),
                                        status=request.GET.get("status", "").strip(),
                                        year=_int(request.GET.get("year")), period=_int(request.GET.get("period")))
            qs = selectors.vouchers(user=request.user, aset=aset, f=f)
        except DomainError as exc:
            errors.append(exc.message)
            qs = Voucher.objects.none()
    vouchers = list(_related(qs)[:MAX_PRINT + 1])
    if len(vouchers) > MAX_PRINT:
        errors.append(_("一次最多打印 %(n)s 张凭证，请缩小查询范围") % {"n": MAX_PRINT})
        vouchers = vouchers[:MAX_PRINT]
    return _render(request, vouchers, errors=errors)
