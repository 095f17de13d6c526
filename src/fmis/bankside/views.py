"""Read-only screens of the finance side's projection: merchants, rules, pre-applications,
payments and daily statements."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render
from django.utils.translation import gettext as _

from fmis.bankside import functions as F
from fmis.bankside import selectors
from fmis.bankside.models import StatementLine
from fmis.platform.errors import NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.money import from_fen
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response


@needs(F.MERCHANT_VIEW)
def merchants(request):
    q = request.GET.get("q", "")
    ctx = page(request, selectors.merchants(user=request.user, q=q))
    ctx["q"] = q
    return render(request, "bankside/merchants.html", ctx)


@needs(F.RULE_VIEW)
def rules(request):
    merchant_no = request.GET.get("merchant", "")
    history = request.GET.get("history") == "1"
    ctx = page(request, selectors.rules(user=request.user, merchant_no=merchant_no, current_only=not history))
    ctx.update({"merchant": merchant_no, "history": history})
    return render(request, "bankside/rules.html", ctx)


@needs(F.PRE_APPLICATION_VIEW)
def pre_applications(request):
    status = request.GET.get("status", "")
    ctx = page(request, selectors.pre_applications(user=request.user, status=status))
    ctx["status"] = status
    return render(request, "bankside/pre_applications.html", ctx)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@needs(F.PAYMENT_VIEW)
def payments(request):
    q, status, branch = request.GET.get("q", ""), request.GET.get("status", ""), request.GET.get("branch", "")
    day = _date(request.GET.get("date", ""))
    qs = selectors.payments(user=request.user, q=q, status=status, branch=branch, date=day)
    if wants_export(request):
        return xlsx_response("预算支付.xlsx", ["日期", "时间", "商户号", "支付凭证ID", "银行流水号", "预算类型", "收款户名",
                                           "收款账号", "金额", "币种", "记账路径", "状态", "规则版本"],
                             ([p.date, p.time, p.merchant.merchant_no, p.voucher_id, p.bank_serial, p.budget_type,
                               p.payee_name, p.payee_account, p.amount, p.currency, p.get_branch_display(),
                               p.get_status_display(), p.rule_version] for p in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"q": q, "status": status, "branch": branch, "date": request.GET.get("date", "")})
    return render(request, "bankside/payments.html", ctx)


@needs(F.STATEMENT_VIEW)
def statement(request):
    account_no = request.GET.get("account", "").strip()
    day = _date(request.GET.get("date", ""))
    try:
        previous = max(0, min(31, int(request.GET.get("previous", "0") or 0)))
    except ValueError:
        previous = 0
    ctx = {"account": account_no, "date": request.GET.get("date", ""), "previous": previous, "st": None,
           "error": ""}
    if account_no and day:
        try:
            st = selectors.statement(user=request.user, account_no=account_no, day=day, previous_days=previous)
        except NotFound as exc:
            ctx["error"] = exc.message
        else:
            if wants_export(request):
                rows = st.as_rows()
                return xlsx_response(f"对账单-{account_no}-{day.isoformat()}.xlsx", rows[0], rows[1:])
            ctx["st"] = st
            ctx["money"] = {k: from_fen(getattr(st, k)) for k in ("opening", "increase", "decrease", "closing",
                                                                  "core_debit", "core_credit")}
            labels = dict(StatementLine.Kind.choices)
            ctx["lines"] = [(ln, labels.get(ln.kind, ln.kind), from_fen(ln.amount),
                             None if ln.balance is None else from_fen(ln.balance)) for ln in st.lines]
    elif request.GET:
        ctx["error"] = _("请输入账号和日期")
    return render(request, "bankside/statement.html", ctx)
