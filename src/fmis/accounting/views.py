"""Accounting screens: account sets (and the session's current one), voucher list with search and
export, voucher entry, the voucher page (audit, post, un-post, reverse, source document), trial
balance, general and detail ledgers (with xlsx export and drill-down), periods and closing, the
chart and the posting rules with the business events' outcomes.

Reads go through ``fmis.accounting.selectors``, writes through ``fmis.accounting.services``;
missing and out-of-scope objects are 404 alike; a refused write shows its message on the page.
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.accounting import selectors, services
from fmis.accounting.functions import (
    CARRY,
    CHART,
    CLOSE,
    LEDGER_VIEW,
    OPENING,
    OPENING_VIEW,
    RENUMBER,
    RULE,
    SET_MANAGE,
    SET_VIEW,
    TEMPLATE,
    VOUCHER_AUDIT,
    VOUCHER_CREATE,
    VOUCHER_POST,
    VOUCHER_REVERSE,
    VOUCHER_VIEW,
    YEAR_CLOSE,
)
from fmis.accounting.models import CUSTOM_ELEMENTS, AccountSet, AuxElement, EventPosting, FiscalYear, Voucher
from fmis.iam.permissions import can
from fmis.platform.errors import DomainError, NotFound, ValidationFailed
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response


def _errors(exc: DomainError) -> list[str]:
    return [e["message"] for e in exc.errors] if exc.errors else [exc.message]


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


def _int(text, default=None):
    text = str(text or "").strip()
    return int(text) if text.isdigit() else default


def _current(request):
    return selectors.current_account_set(request)


# --- account sets -----------------------------------------------------------------------------------

@needs(SET_VIEW)
def set_list(request):
    q = request.GET.get("q", "").strip()
    qs = selectors.account_sets(user=request.user, q=q)
    if wants_export(request):
        return xlsx_response("账套.xlsx", ["账套编码", "账套名称", "会计主体", "启用年度", "科目编码格式", "启用"],
                             [(a.code, a.name, a.agency.name if a.agency else a.region.name, a.start_year,
                               a.code_format, "是" if a.is_enabled else "否") for a in qs])
    current = _current(request)
    return render(request, "accounting/set_list.html", {
        **page(request, qs), "q": q, "current": current, "can_manage": can(request.user, SET_MANAGE)})


@require_POST
@needs(SET_VIEW)
def set_choose(request, pk: int):
    aset = selectors.choose_account_set(request, pk)
    messages.success(request, _("当前账套：%(name)s") % {"name": str(aset)})
    return redirect(request.POST.get("next") or "accounting:vouchers")


@needs(SET_MANAGE)
def set_create(request):
    from fmis.orgs.models import Agency

    errors: list[str] = []
    agencies = Agency.objects.restrict(request.user, SET_MANAGE).order_by("code")[:500]
    if request.method == "POST":
        p = request.POST
        try:
            aset = services.create_account_set(data=services.AccountSetInput(
                code=p.get("code", ""), name=p.get("name", ""), start_year=_int(p.get("start_year"), 0),
                agency_id=_int(p.get("agency_id")), code_format=p.get("code_format", "4-2-2"),
                numbering_mode=p.get("numbering_mode", AccountSet.NumberingMode.PER_CATEGORY),
                poster_must_differ=bool(p.get("poster_must_differ")),
                machine_auto_post=bool(p.get("machine_auto_post")), supervisor=p.get("supervisor", "")),
                user=request.user)
            selectors.choose_account_set(request, aset.pk)
            messages.success(request, _("账套已创建"))
            return redirect("accounting:sets")
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "accounting/set_form.html", {
        "agencies": agencies, "errors": errors, "modes": AccountSet.NumberingMode.choices, "data": request.POST,
        "year": timezone.localdate().year})


@needs(SET_VIEW)
def set_detail(request, pk: int):
    """An account set: settings (editable), JSON export, copy; and the import of an export."""
    aset = selectors.account_set(user=request.user, pk=pk)
    if request.GET.get("export") == "json":
        data = services.export_account_set(aset)
        resp = HttpResponse(json.dumps(data, ensure_ascii=False, indent=1, default=str),
                            content_type="application/json; charset=utf-8")
        resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'账套-{aset.code}.json')}"
        return resp
    errors: list[str] = []
    if request.method == "POST":
        p = request.POST
        try:
            if p.get("op") == "copy":
                new = services.copy_account_set(account_set_id=aset.pk, code=p.get("code", ""), name=p.get("name", ""),
                                                agency_id=_int(p.get("agency_id")), user=request.user,
                                                start_year=_int(p.get("start_year")))
                messages.success(request, _("已复制为账套 %(c)s") % {"c": new.code})
                return redirect("accounting:set", new.pk)
            services.update_account_set(account_set_id=aset.pk, user=request.user, name=p.get("name"),
                                        supervisor=p.get("supervisor"), note=p.get("note"),
                                        poster_must_differ=bool(p.get("poster_must_differ")),
                                        machine_auto_post=bool(p.get("machine_auto_post")),
                                        is_enabled=bool(p.get("is_enabled")),
                                        carry_in_adjustment=bool(p.get("carry_in_adjustment")))
            messages.success(request, _("账套设置已保存"))
            return redirect("accounting:set", aset.pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "accounting/set_detail.html", {
        "aset": aset, "errors": errors, "can_manage": can(request.user, SET_MANAGE),
        "periods": selectors.periods(user=request.user, aset=aset)})


@needs(SET_MANAGE)
def set_import(request):
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            try:
                data = json.loads(upload.read().decode("utf-8")) if upload else None
            except (UnicodeDecodeError, ValueError):
                data = None
            aset, added = services.import_account_set(
                data=data, user=request.user, code=request.POST.get("code") or None,
                agency_id=_int(request.POST.get("agency_id")), is_primary=bool(request.POST.get("is_primary")))
            messages.success(request, _("导入完成：账套 %(c)s，新增 %(n)s 项") % {"c": aset.code, "n": added})
            return redirect("accounting:set", aset.pk)
        except DomainError as exc:
            errors = _errors(exc)
    from fmis.orgs.models import Agency

    return render(request, "accounting/set_import.html", {
        "errors": errors, "agencies": Agency.objects.restrict(request.user, SET_MANAGE).order_by("code")[:500]})


# --- vouchers ---------------------------------------------------------------------------------------

@needs(VOUCHER_VIEW)
def voucher_list(request):
    g = request.GET
    aset = _current(request)
    f = selectors.VoucherFilter(q=g.get("q", "").strip(), account=g.get("account", "").strip(),
                                amount=g.get("amount", "").strip(), date_from=_date(g.get("date_from")),
                                date_to=_date(g.get("date_to")), status=g.get("status", ""),
                                year=_int(g.get("year")), period=_int(g.get("period")))
    errors: list[str] = []
    try:
        qs = selectors.vouchers(user=request.user, aset=aset, f=f) if aset else Voucher.objects.none()
        if wants_export(request):
            return xlsx_response("凭证.xlsx", ["期间", "日期", "凭证号", "摘要", "金额", "状态", "来源单据"],
                                 [(str(v.period), v.date, str(v), v.summary, v.debit_total, v.get_status_display(),
                                   v.source_no) for v in qs])
        ctx = page(request, qs)
    except DomainError as exc:
        errors, ctx = _errors(exc), page(request, Voucher.objects.none())
    return render(request, "accounting/voucher_list.html", {
        **ctx, "f": f, "g": g, "aset": aset, "errors": errors, "statuses": Voucher.Status.choices,
        "can_create": can(request.user, VOUCHER_CREATE)})


def _lines_from_post(post) -> list[services.LineInput]:
    codes = post.getlist("account")
    out = []
    for i, code in enumerate(codes):
        summary = post.getlist("summary")[i] if i < len(post.getlist("summary")) else ""
        debit = post.getlist("debit")[i] if i < len(post.getlist("debit")) else ""
        credit = post.getlist("credit")[i] if i < len(post.getlist("credit")) else ""
        aux_text = post.getlist("aux")[i] if i < len(post.getlist("aux")) else ""
        if not (code.strip() or debit.strip() or credit.strip()):
            continue
        aux = {}
        for part in aux_text.replace("，", ",").split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                aux[k.strip()] = v.strip()
        out.append(services.LineInput(account_code=code.strip(), summary=summary, debit=debit.strip() or "0",
                                      credit=credit.strip() or "0", aux=aux))
    return out


@needs(VOUCHER_CREATE)
def voucher_create(request):
    aset = _current(request)
    if aset is None:
        messages.error(request, _("请先选择账套"))
        return redirect("accounting:sets")
    errors: list[str] = []
    rows = [{}] * 4
    template = None
    if request.method == "GET" and request.GET.get("template"):
        try:
            template = selectors.template(user=request.user, pk=request.GET.get("template"), function=VOUCHER_CREATE)
        except NotFound:
            raise Http404 from None
        if template.account_set_id != aset.pk:
            aset = selectors.choose_account_set(request, template.account_set_id)
        rows = [{"account": x["account"], "summary": x["summary"], "direction": x["direction"],
                 "debit": x["amount"] if x["direction"] == "debit" and x["amount"] is not None else "",
                 "credit": x["amount"] if x["direction"] == "credit" and x["amount"] is not None else "",
                 "aux": ",".join(f"{k}={v}" for k, v in x["aux"].items())} for x in services.template_rows(template)]
    if request.method == "POST":
        lines = _lines_from_post(request.POST)
        rows = [{"account": x.account_code, "summary": x.summary, "debit": x.debit, "credit": x.credit,
                 "aux": ",".join(f"{k}={v}" for k, v in x.aux.items())} for x in lines] or rows
        try:
            v = services.create_voucher(account_set_id=aset.pk, date=_date(request.POST.get("date")) or
                                        timezone.localdate(), lines=lines, user=request.user,
                                        category_id=_int(request.POST.get("category")),
                                        attachments=_int(request.POST.get("attachments"), 0))
            messages.success(request, _("凭证 %(no)s 已保存") % {"no": v.display_no})
            return redirect("accounting:voucher", v.pk)
        except DomainError as exc:
            errors = _errors(exc)
    leaves = selectors.accounts(user=request.user, aset=aset).filter(is_leaf=True, is_active=True)
    return render(request, "accounting/voucher_form.html", {
        "aset": aset, "errors": errors, "rows": rows, "leaves": leaves, "template": template,
        "categories": (aset.categories.filter(pk=template.category_id) | aset.categories.exclude(
            pk=template.category_id)) if template and template.category_id else aset.categories.all(),
        "date": request.POST.get("date") or timezone.localdate().isoformat(),
        "attachments": request.POST.get("attachments", "0"), "elements": AuxElement.choices})


@needs(VOUCHER_CREATE)
def voucher_edit(request, pk: int):
    """Change an entered voucher (its entrant only; the service refuses anything else)."""
    v = selectors.voucher(user=request.user, pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        lines = _lines_from_post(request.POST)
        rows = [{"account": x.account_code, "summary": x.summary, "debit": x.debit, "credit": x.credit,
                 "aux": ",".join(f"{k}={val}" for k, val in x.aux.items())} for x in lines]
        try:
            services.update_voucher(voucher_id=v.pk, lines=lines, user=request.user,
                                    date=_date(request.POST.get("date")),
                                    attachments=_int(request.POST.get("attachments"), 0))
            messages.success(request, _("凭证 %(no)s 已修改") % {"no": v.display_no})
            return redirect("accounting:voucher", v.pk)
        except DomainError as exc:
            errors = _errors(exc)
    else:
        rows = [{"account": x.account.code, "summary": x.summary, "debit": x.debit, "credit": x.credit,
                 "aux": ",".join(f"{k}={val}" for k, val in x.aux.items())}
                for x in v.lines.select_related("account").order_by("line_no")]
    aset = v.account_set
    leaves = selectors.accounts(user=request.user, aset=aset).filter(is_leaf=True, is_active=True)
    return render(request, "accounting/voucher_form.html", {
        "aset": aset, "v": v, "errors": errors, "rows": rows, "leaves": leaves,
        "categories": aset.categories.filter(pk=v.category_id),
        "date": request.POST.get("date") or v.date.isoformat(),
        "attachments": request.POST.get("attachments", v.attachments), "elements": AuxElement.choices})


@needs(VOUCHER_VIEW)
def voucher_detail(request, pk: int):
    v = selectors.voucher(user=request.user, pk=pk)
    by_basis = services.lines_by_basis(v)
    u = request.user
    return render(request, "accounting/voucher_detail.html", {
        "v": v, "financial": by_basis.get("financial", []), "budgetary": by_basis.get("budgetary", []),
        "can_audit": can(u, VOUCHER_AUDIT), "can_post": can(u, VOUCHER_POST), "can_reverse": can(u, VOUCHER_REVERSE),
        "can_edit": can(u, VOUCHER_CREATE) and v.status == Voucher.Status.ENTERED, "can_template": can(u, TEMPLATE),
        "reversed_by": Voucher.objects.filter(reversal_of=v).first(), "sources": selectors.source_links(v)})


_ACTIONS = {
    "audit": (VOUCHER_AUDIT, services.audit_voucher, "已审核"),
    "unaudit": (VOUCHER_AUDIT, services.unaudit_voucher, "已取消审核"),
    "post": (VOUCHER_POST, services.post_voucher, "已登账"),
    "unpost": (VOUCHER_POST, services.unpost_voucher, "已取消登账"),
    "reverse": (VOUCHER_REVERSE, services.reverse_voucher, "已生成红字冲销凭证"),
    "delete": (VOUCHER_CREATE, services.delete_voucher, "已删除"),
}


@require_POST
@login_required
def voucher_action(request, pk: int, action: str):
    if action not in _ACTIONS:
        raise Http404
    function, fn, done = _ACTIONS[action]
    if not can(request.user, function):
        raise HttpForbidden(function)
    try:
        result = fn(voucher_id=pk, user=request.user)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        for m in _errors(exc):
            messages.error(request, m)
        return redirect("accounting:voucher", pk)
    messages.success(request, _(done))
    if action == "delete":
        return redirect("accounting:vouchers")
    return redirect("accounting:voucher", result.pk)


# --- trial balance and ledgers --------------------------------------------------------------------

def _year_period(request, aset):
    today = timezone.localdate()
    year = _int(request.GET.get("year"), today.year if aset is None else max(aset.start_year, today.year))
    if aset is not None and not aset.periods.filter(year=year).exists():
        year = aset.start_year
    number = _int(request.GET.get("period"), today.month)
    return year, min(max(number, 1), 13)


@needs(LEDGER_VIEW)
def trial_balance(request):
    aset = _current(request)
    if aset is None:
        return render(request, "accounting/trial_balance.html", {"aset": None})
    year, number = _year_period(request, aset)
    level = _int(request.GET.get("level"), 1)
    errors, tb = [], None
    try:
        tb = selectors.trial_balance(user=request.user, aset_id=aset.pk, year=year, number=number, level=level)
    except DomainError as exc:
        errors = _errors(exc)
    if tb is not None and wants_export(request):
        return xlsx_response(f"科目余额表-{year}-{number:02d}.xlsx",
                             ["科目编码", "科目名称", "期初借方", "期初贷方", "本期借方", "本期贷方", "累计借方", "累计贷方",
                              "期末借方", "期末贷方"],
                             [(r.code, r.name, r.opening_debit, r.opening_credit, r.debit, r.credit, r.cum_debit,
                               r.cum_credit, r.closing_debit, r.closing_credit) for r in tb.rows])
    return render(request, "accounting/trial_balance.html", {
        "aset": aset, "tb": tb, "year": year, "number": number, "level": level, "errors": errors,
        "levels": range(1, services.scheme_of(aset).depth + 1), "periods": range(1, 14)})


@needs(LEDGER_VIEW)
def general_ledger(request):
    aset = _current(request)
    if aset is None:
        return redirect("accounting:sets")
    year, _number = _year_period(request, aset)
    code = request.GET.get("code", "").strip()
    acc, rows, errors = None, [], []
    if code:
        try:
            acc, rows = selectors.general_ledger(user=request.user, aset_id=aset.pk, code=code, year=year)
        except DomainError as exc:
            errors = _errors(exc)
    if acc is not None and wants_export(request):
        return xlsx_response(f"总账-{code}-{year}.xlsx", ["期间", "摘要", "借方", "贷方", "余额"],
                             [(str(r.period), r.summary, r.debit, r.credit, r.balance) for r in rows])
    return render(request, "accounting/general_ledger.html", {"aset": aset, "acc": acc, "rows": rows, "code": code,
                                                              "year": year, "errors": errors})


@needs(LEDGER_VIEW)
def detail_ledger(request):
    aset = _current(request)
    if aset is None:
        return redirect("accounting:sets")
    year, _number = _year_period(request, aset)
    code = request.GET.get("code", "").strip()
    number_from = _int(request.GET.get("from"), 1)
    number_to = _int(request.GET.get("to"), 13)
    aux_filter = {e: request.GET.get(f"aux_{e}", "").strip() for e in AuxElement.values}
    acc, opening, carried, rows, page_obj, errors = None, None, None, [], None, []
    if code:
        try:
            if wants_export(request):
                acc, opening, rows = selectors.detail_ledger(
                    user=request.user, aset_id=aset.pk, code=code, year=year, number_from=number_from,
                    number_to=number_to, aux_filter=aux_filter)
            else:
                ledger = selectors.detail_ledger_page(
                    user=request.user, aset_id=aset.pk, code=code, year=year, number_from=number_from,
                    number_to=number_to, aux_filter=aux_filter, page=request.GET.get("page"))
                acc, opening, carried, rows, page_obj = (ledger.account, ledger.opening, ledger.carried,
                                                         ledger.rows, ledger.page_obj)
        except DomainError as exc:
            errors = _errors(exc)
    elements = [(e, label) for e, label in AuxElement.choices if acc is not None and e in acc.aux_elements]
    if acc is not None and wants_export(request):
        return xlsx_response(f"明细账-{code}-{year}.xlsx",
                             ["期间", "日期", "凭证号", "摘要", *[label for _e, label in elements], "借方", "贷方", "余额"],
                             [(str(r.period), r.voucher.date, str(r.voucher), r.line_summary,
                               *[(r.aux or {}).get(e, "") for e, _label in elements], r.debit, r.credit, r.balance)
                              for r in rows])
    for r in rows:
        r.aux_cells = [(r.aux or {}).get(e, "") for e, _label in elements]
    return render(request, "accounting/detail_ledger.html", {
        "aset": aset, "acc": acc, "rows": rows, "opening": opening, "carried": carried, "code": code,
        "year": year, "number_from": number_from, "number_to": number_to, "errors": errors, "elements": elements,
        "aux_filter": aux_filter, "page_obj": page_obj, "querystring_without_page": _without_page(request)})


def _without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- periods, chart, rules ------------------------------------------------------------------------

@needs(CLOSE)
def period_list(request):
    aset = _current(request)
    if aset is None:
        return redirect("accounting:sets")
    if request.method == "POST":
        try:
            services.open_year(account_set_id=aset.pk, year=_int(request.POST.get("year"), 0), user=request.user)
            messages.success(request, _("已新增会计年度"))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("accounting:periods")
    rows = [(p, services.period_check(p) if p.status == "open" else [],
             services.number_gaps(p) if p.status == "open" else [])
            for p in selectors.periods(user=request.user, aset=aset, function=CLOSE)]
    diffs = services.check_balances(aset.pk) if request.GET.get("check") else None
    last_year = max((p.year for p, _problems, _gaps in rows), default=aset.start_year)
    u = request.user
    return render(request, "accounting/periods.html", {
        "aset": aset, "rows": rows, "diffs": diffs, "next_year": last_year + 1, "can_manage": can(u, SET_MANAGE),
        "years": selectors.fiscal_years(user=u, aset=aset, function=CLOSE), "can_carry": can(u, CARRY),
        "can_year_close": can(u, YEAR_CLOSE), "can_renumber": can(u, RENUMBER),
        "carry_period": services.carry_period_number(aset)})


@require_POST
@needs(CLOSE)
def period_action(request, pk: int, action: str):
    if action == "renumber":
        if not can(request.user, RENUMBER):
            raise HttpForbidden(RENUMBER)
        try:
            out = services.renumber_vouchers(period_id=pk, user=request.user)
            messages.success(request, _("已重新编号 %(n)s 张凭证") % {"n": out["changed"]})
            for gap in out["gaps"]:
                messages.warning(request, _("仍有断号（已登账凭证的编号不变）：%(g)s") % {"g": gap})
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("accounting:periods")
    fn = {"close": services.close_period, "reopen": services.reopen_period}.get(action)
    if fn is None:
        raise Http404
    try:
        p = fn(period_id=pk, user=request.user)
        messages.success(request, _("会计期间 %(p)s：%(s)s") % {"p": str(p), "s": p.get_status_display()})
    except DomainError as exc:
        for m in _errors(exc):
            messages.error(request, m)
    return redirect("accounting:periods")


_YEAR_ACTIONS = {
    "carry_forward": (CARRY, services.generate_carry_forward),
    "close": (YEAR_CLOSE, services.close_year),
    "reopen": (YEAR_CLOSE, services.reopen_year),
}


@require_POST
@needs(CLOSE)
def year_action(request, year: int, action: str):
    """年末结转 (carry-forward vouchers), 年结 and 反年结 of the current account set."""
    aset = _current(request)
    if aset is None or action not in _YEAR_ACTIONS:
        raise Http404
    function, fn = _YEAR_ACTIONS[action]
    if not can(request.user, function):
        raise HttpForbidden(function)
    try:
        result = fn(account_set_id=aset.pk, year=year, user=request.user)
    except DomainError as exc:
        for m in _errors(exc):
            messages.error(request, m)
        return redirect("accounting:periods")
    if action == "carry_forward":
        messages.success(request, _("已生成 %(n)s 张结转凭证：%(nos)s") % {
            "n": len(result), "nos": "、".join(v.display_no for v in result)})
    elif action == "close":
        messages.success(request, _("%(y)s 年度已年结，%(n)s 年度期初余额已结转并登账") % {"y": year, "n": year + 1})
    else:
        messages.success(request, _("%(y)s 年度已反年结") % {"y": year})
    return redirect("accounting:periods")


# --- opening balances -------------------------------------------------------------------------------

_OPENING_HEADERS = ["科目编码", "科目名称", "余额方向", "年初余额", "辅助核算"]


def _opening_export_row(r):
    direction = "借" if r.amount > 0 else "贷"
    aux = ",".join(f"{k}={v}" for k, v in r.aux.items())
    return (r.account.code, r.account.full_name, direction, abs(r.amount), aux)


@needs(OPENING_VIEW)
def opening_list(request):
    """期初余额: entry per leaf account and auxiliary combination, xlsx import and export, 取上年数,
    the trial-balance check, posting and un-posting."""
    aset = _current(request)
    if aset is None:
        messages.error(request, _("请先选择账套"))
        return redirect("accounting:sets")
    years = [y["year"] for y in selectors.fiscal_years(user=request.user, aset=aset, function=OPENING_VIEW)]
    year = _int(request.GET.get("year") or request.POST.get("year"), years[0] if years else aset.start_year)
    errors: list[str] = []
    if request.method == "POST":
        if not can(request.user, OPENING):
            raise HttpForbidden(OPENING)
        p, op = request.POST, request.POST.get("op", "set")
        try:
            if op == "set":
                try:
                    aux = services.parse_aux_text(p.get("aux", ""))
                except ValueError as exc:
                    raise ValidationFailed("accounting.aux_invalid",
                                                    _("辅助核算“%(t)s”应写成 要素=编码") % {"t": exc}, field="aux") from None
                services.set_opening_balance(account_set_id=aset.pk, year=year, user=request.user,
                                             row=services.OpeningInput(account_code=p.get("account", ""),
                                                                       amount=p.get("amount", ""),
                                                                       direction=p.get("direction", ""), aux=aux))
                messages.success(request, _("期初余额已保存"))
            elif op == "import":
                counts = services.import_opening_balances(account_set_id=aset.pk, year=year,
                                                          file=request.FILES.get("file"), user=request.user)
                messages.success(request, _("导入完成：新增 %(created)s，修改 %(updated)s，删除 %(deleted)s，"
                                            "未变 %(unchanged)s") % counts)
            elif op == "carry":
                n = services.carry_opening_balances(account_set_id=aset.pk, year=year, user=request.user)
                messages.success(request, _("已取上年数 %(n)s 行") % {"n": n})
            elif op == "post":
                services.post_opening_balances(account_set_id=aset.pk, year=year, user=request.user)
                messages.success(request, _("期初余额已登账"))
            elif op == "unpost":
                services.unpost_opening_balances(account_set_id=aset.pk, year=year, user=request.user)
                messages.success(request, _("期初余额已取消登账"))
            else:
                raise Http404
            return redirect(f"{request.path}?year={year}")
        except DomainError as exc:
            errors = _errors(exc)
    q = request.GET.get("q", "").strip()
    try:
        o = selectors.openings(user=request.user, aset_id=aset.pk, year=year, q=q)
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("accounting:periods")
    if wants_export(request):
        return xlsx_response(f"期初余额-{aset.code}-{year}.xlsx", _OPENING_HEADERS,
                             [_opening_export_row(r) for r in o.rows])
    return render(request, "accounting/openings.html", {
        **page(request, o.rows, size=100), "aset": aset, "o": o, "year": year, "years": years, "q": q,
        "errors": errors, "can_manage": can(request.user, OPENING), "posted": o.posted,
        "elements": AuxElement.choices, "Status": FiscalYear.OpeningStatus})


# --- voucher templates ------------------------------------------------------------------------------

@needs(TEMPLATE)
def template_list(request):
    aset = _current(request)
    if aset is None:
        messages.error(request, _("请先选择账套"))
        return redirect("accounting:sets")
    q = request.GET.get("q", "").strip()
    qs = selectors.templates(user=request.user, aset=aset, q=q)
    if wants_export(request):
        rows = []
        for t in qs:
            for x in t.lines.all():
                rows.append((t.code, t.name, x.line_no, x.summary, x.account.code, x.get_direction_display(),
                             x.amount, ",".join(f"{k}={v}" for k, v in x.aux.items())))
        return xlsx_response("凭证模板.xlsx", ["模板编码", "模板名称", "行号", "摘要", "科目", "方向", "金额", "辅助核算"], rows)
    return render(request, "accounting/templates.html", {
        **page(request, qs), "aset": aset, "q": q, "can_create": can(request.user, VOUCHER_CREATE)})


@require_POST
@needs(TEMPLATE)
def template_delete(request, pk: int):
    try:
        services.delete_template(template_id=pk, user=request.user)
        messages.success(request, _("凭证模板已删除"))
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("accounting:templates")


@require_POST
@needs(TEMPLATE)
def template_from_voucher(request, pk: int):
    """存为模板 from the voucher page."""
    try:
        t = services.save_voucher_as_template(voucher_id=pk, code=request.POST.get("code", ""),
                                              name=request.POST.get("name", ""), user=request.user,
                                              with_amounts=bool(request.POST.get("with_amounts")))
        messages.success(request, _("已存为凭证模板 %(c)s %(n)s") % {"c": t.code, "n": t.name})
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        for m in _errors(exc):
            messages.error(request, m)
    return redirect("accounting:voucher", pk)


@needs(CHART)
def chart(request):
    aset = _current(request)
    if aset is None:
        return redirect("accounting:sets")
    errors: list[str] = []
    op = request.POST.get("op", "add")
    if request.method == "POST" and op != "add":
        try:
            p = request.POST
            if op == "update":
                services.update_account(account_id=_int(p.get("account_id"), 0), user=request.user,
                                        name=p.get("name") or None, direction=p.get("direction") or None,
                                        property=p.get("property") or None,
                                        aux_elements=p.getlist("aux_elements") if p.get("set_aux") else None)
            elif op == "delete":
                services.delete_account(account_id=_int(p.get("account_id"), 0), user=request.user)
            elif op == "category":
                services.add_category(account_set_id=aset.pk, code=p.get("code", ""), name=p.get("name", ""),
                                      word=p.get("word", ""), user=request.user)
            elif op == "aux_item":
                services.add_aux_item(account_set_id=aset.pk, element=p.get("element", ""), code=p.get("code", ""),
                                      name=p.get("name", ""), user=request.user)
            elif op == "load_standard":
                n = services.reload_standard_chart(account_set_id=aset.pk, user=request.user)
                messages.info(request, _("补充标准科目 %(n)s 个") % {"n": n})
            messages.success(request, _("已保存"))
            return redirect(request.get_full_path())
        except NotFound:
            errors = [_("科目不存在")]
        except DomainError as exc:
            errors = _errors(exc)
    elif request.method == "POST":
        try:
            acc = services.add_account(account_set_id=aset.pk, code=request.POST.get("code", ""),
                                       name=request.POST.get("name", ""), user=request.user,
                                       aux_elements=request.POST.getlist("aux_elements") or None,
                                       property=request.POST.get("property") or "normal")
            messages.success(request, _("科目 %(c)s 已增加") % {"c": acc.code})
            return redirect("accounting:chart")
        except DomainError as exc:
            errors = _errors(exc)
    q = request.GET.get("q", "").strip()
    qs = selectors.accounts(user=request.user, aset=aset, q=q, function=CHART)
    if wants_export(request):
        return xlsx_response("会计科目.xlsx", ["科目编码", "科目名称", "科目全称", "级次", "会计体系", "余额方向", "科目属性",
                                           "辅助核算"],
                             [(a.code, a.name, a.full_name, a.level, a.get_basis_display(), a.get_direction_display(),
                               a.get_property_display(), ",".join(a.aux_elements)) for a in qs])
    edit = qs.filter(pk=_int(request.GET.get("edit"), 0)).first()
    return render(request, "accounting/chart.html", {
        **page(request, qs, size=200), "aset": aset, "q": q, "errors": errors, "elements": AuxElement.choices,
        "edit": edit, "categories": aset.categories.all(), "aux_items": aset.aux_items.all()[:200],
        "custom_elements": [(e.value, e.label) for e in CUSTOM_ELEMENTS]})


@needs(RULE)
def rule_list(request):
    if request.method == "POST":
        try:
            if request.POST.get("op") == "save_rule":
                try:
                    spec = json.loads(request.POST.get("spec", ""))
                except ValueError:
                    spec = None
                if not isinstance(spec, dict):
                    messages.error(request, _("规则必须是 JSON 对象"))
                    return redirect("accounting:rules")
                rule = services.save_rule(spec=spec, user=request.user)
                messages.success(request, _("规则 %(c)s 已保存") % {"c": rule.code})
            elif request.POST.get("op") == "repost":
                ep = services.repost_event(posting_id=_int(request.POST.get("posting_id"), 0), user=request.user)
                messages.info(request, f"{ep.get_outcome_display()}：{ep.message}")
            else:
                n = services.load_default_rules(user=request.user)
                messages.success(request, _("已补充 %(n)s 条预置规则") % {"n": n})
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("accounting:rules")
    outcome = request.GET.get("outcome", "")
    postings = selectors.event_postings(user=request.user, outcome=outcome)
    edit = selectors.posting_rules().filter(code=request.GET.get("edit", "")).first()
    spec = json.dumps(services.rule_spec(edit), ensure_ascii=False, indent=1) if edit else ""
    return render(request, "accounting/rules.html", {
        "rules": selectors.posting_rules(), **page(request, postings), "outcome": outcome,
        "outcomes": EventPosting.Outcome.choices, "retryable": services.RETRYABLE_OUTCOMES, "spec": spec})
