"""Transfer-payment screens: allocations (list, export, detail with actions and the tracing tree),
statistics, members and join requests, blocks and receipts.

Writes go through ``services`` (which sign and submit a ledger transaction); after a write the
view delivers it and lets the local node apply it, then shows the ledger's verdict.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.iam.permissions import can
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response
from fmis.transfers import forms, local, selectors, services
from fmis.transfers import functions as F
from fmis.transfers.models import JoinRequest


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"{services.from_fen(fen):,.2f}"


def _settle(request, tx_id: str) -> None:
    """Deliver the submission, let the local node apply it and tell the user the ledger's verdict."""
    try:
        local.flush()
        st = selectors.tx_status(user=request.user, tx_id=tx_id)
    except (DomainError, OSError) as exc:
        messages.warning(request, _("交易已提交，尚未上链：%(e)s") % {"e": exc})
        return
    if st.get("status") != "committed":
        messages.info(request, _("交易已提交，等待出块：%(id)s") % {"id": tx_id[:16]})
    elif st["valid"]:
        messages.success(request, _("已上链：区块 %(b)s") % {"b": st["block_number"]})
    else:
        messages.error(request, _("链上校验未通过：%(r)s %(d)s") % {"r": st["reason"], "d": st["detail"]})


# --- allocations ----------------------------------------------------------------------------------


@needs(F.ALLOCATION_VIEW)
def allocations(request):
    g = request.GET
    direct = {"1": True, "0": False}.get(g.get("direct", ""))
    year = int(g["year"]) if g.get("year", "").isdigit() else None
    qs = selectors.allocations(user=request.user, q=g.get("q", ""), year=year, direct=direct,
                               fund_code=g.get("fund_code", ""))
    headers = [_("文号"), _("下达区划"), _("接收区划"), _("资金编码"), _("直达"), _("用途"), _("金额"), _("已分配"),
               _("已支出"), _("已收回"), _("可用"), _("接收"), _("区块")]

    def row(a):
        return [a.doc_no, a.from_region, a.to_region, a.fund_code, _("是") if a.direct else _("否"), a.purpose,
                yuan(a.amount), yuan(a.sub_allocated), yuan(a.spent), yuan(a.recovered), yuan(a.available),
                _("已确认") if a.received else _("待确认"), a.created_block]

    if wants_export(request):
        if not can(request.user, F.EXPORT):
            raise HttpForbidden(F.EXPORT)
        return xlsx_response("transfer-allocations.xlsx", headers, (row(a) for a in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"rows": [(a, row(a)) for a in ctx["object_list"]], "headers": headers, "g": g,
                "can_create": can(request.user, F.ALLOCATE), "can_export": can(request.user, F.EXPORT)})
    return render(request, "transfers/allocations.html", ctx)


def _acting_regions(user) -> list[str]:
    return list(selectors.members(user=user).filter(role="finance", revoked_block__isnull=True)
                .values_list("region", flat=True))


@needs(F.ALLOCATE)
def allocation_create(request):
    regions = _acting_regions(request.user)
    form = forms.AllocateForm(request.POST or None, regions=regions,
                              initial={"parent_id": request.GET.get("parent", ""), "fiscal_year": 2026})
    if request.method == "POST" and form.is_valid():
        try:
            tx_id = services.allocate(user=request.user, **{**form.cleaned_data,
                                                            "parent_id": form.cleaned_data["parent_id"] or None})
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            _settle(request, tx_id)
            return redirect("transfers:allocations")
    return render(request, "transfers/form.html", {"form": form, "title": _("下达转移支付资金"),
                                                   "cancel_url": reverse("transfers:allocations")})


@needs(F.ALLOCATION_VIEW)
def allocation(request, pk: str):
    a = selectors.allocation(user=request.user, allocation_id=pk)
    tree = selectors.trace(user=request.user, allocation_id=pk) if can(request.user, F.TRACE_VIEW) else None
    u = request.user
    return render(request, "transfers/allocation.html", {
        "a": a, "tree": tree, "movements": selectors.movements(user=u, allocation_id=pk), "yuan": yuan,
        "amounts": {k: yuan(getattr(a, k)) for k in ("amount", "sub_allocated", "spent", "recovered", "available")},
        "expend_form": forms.ExpendForm(), "recover_form": forms.RecoverForm(), "correct_form": forms.CorrectForm(),
        "can": {"receive": can(u, F.RECEIVE) and not a.received, "expend": can(u, F.EXPEND) and a.received,
                "allocate": can(u, F.ALLOCATE) and a.received, "recover": can(u, F.RECOVER),
                "correct": can(u, F.CORRECT)}})


ACTIONS = {"receive": F.RECEIVE, "expend": F.EXPEND, "recover": F.RECOVER, "correct": F.CORRECT}


@require_POST
@needs(F.ALLOCATION_VIEW)
def allocation_action(request, pk: str, action: str):
    if action not in ACTIONS:
        raise Http404
    if not can(request.user, ACTIONS[action]):
        raise HttpForbidden(ACTIONS[action])
    back = redirect("transfers:allocation", pk=pk)
    try:
        if action == "receive":
            tx_id = services.confirm_receipt(user=request.user, allocation_id=pk)
        elif action == "expend":
            f = forms.ExpendForm(request.POST)
            if not f.is_valid():
                messages.error(request, _("支出信息不完整"))
                return back
            tx_id = services.record_expenditure(user=request.user, allocation_id=pk, **f.cleaned_data)
        elif action == "recover":
            f = forms.RecoverForm(request.POST)
            if not f.is_valid():
                messages.error(request, _("收回信息不完整"))
                return back
            tx_id = services.recover(user=request.user, allocation_id=pk, **f.cleaned_data)
        else:
            f = forms.CorrectForm(request.POST)
            if not f.is_valid():
                messages.error(request, _("更正信息不完整"))
                return back
            changes = {k: f.cleaned_data[k] for k in ("purpose", "func_code", "doc_no") if f.cleaned_data[k]}
            tx_id = services.correct(user=request.user, allocation_id=pk, changes=changes,
                                     reason=f.cleaned_data["reason"])
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return back
    _settle(request, tx_id)
    return back


@needs(F.STATS_VIEW)
def statistics(request):
    by = request.GET.get("by", "level")
    if by not in ("level", "region", "fund", "year"):
        by = "level"
    year = int(request.GET["year"]) if request.GET.get("year", "").isdigit() else None
    rows = selectors.statistics(user=request.user, by=by, year=year, direct_only=request.GET.get("direct") == "1")
    return render(request, "transfers/statistics.html", {"rows": rows, "by": by, "yuan": yuan, "g": request.GET,
                                                         "fmt": [(r, {k: yuan(r[k]) for k in (
                                                             "amount", "sub_allocated", "spent", "recovered",
                                                             "reached_spent", "direct_amount", "direct_spent")})
                                                             for r in rows]})


# --- members ----------------------------------------------------------------------------------------


@needs(F.MEMBER_VIEW)
def members(request):
    qs = selectors.members(user=request.user, q=request.GET.get("q", ""), role=request.GET.get("role", ""))
    ctx = page(request, qs)
    ctx.update({"requests": selectors.join_requests(user=request.user, status=JoinRequest.Status.PENDING)[:50],
                "q": request.GET.get("q", ""), "can_approve": can(request.user, F.MEMBER_APPROVE),
                "can_revoke": can(request.user, F.MEMBER_REVOKE), "can_join": can(request.user, F.JOIN_SUBMIT)})
    return render(request, "transfers/members.html", ctx)


@needs(F.JOIN_SUBMIT)
def join(request):
    form = forms.JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_local_membership(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("入盟申请已提交，密钥已在本机生成"))
            return redirect("transfers:members")
    return render(request, "transfers/form.html", {"form": form, "title": _("申请加入联盟"),
                                                   "cancel_url": reverse("transfers:members")})


@require_POST
@needs(F.MEMBER_APPROVE)
def join_decide(request, pk: int, decision: str):
    comment = request.POST.get("comment", "")
    try:
        if decision == "approve":
            jr = services.approve_join_request(user=request.user, request_id=pk, comment=comment)
            _settle(request, jr.admit_tx_id)
        elif decision == "reject":
            services.reject_join_request(user=request.user, request_id=pk, comment=comment)
            messages.success(request, _("已驳回"))
        else:
            raise Http404
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("transfers:members")


@require_POST
@needs(F.MEMBER_REVOKE)
def revoke(request, cert_id: str):
    try:
        tx_id = services.revoke_member(user=request.user, cert_id=cert_id, reason=request.POST.get("reason", ""))
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("transfers:members")
    _settle(request, tx_id)
    return redirect("transfers:members")


# --- blocks and receipts ----------------------------------------------------------------------------


@needs(F.BLOCK_VIEW)
def blocks(request):
    ctx = page(request, selectors.blocks(user=request.user))
    return render(request, "transfers/blocks.html", ctx)


@needs(F.BLOCK_VIEW)
def block(request, number: int):
    b = selectors.blocks(user=request.user).filter(number=number).first()
    if b is None:
        raise Http404
    ctx = page(request, selectors.transactions(user=request.user, block_number=number).order_by("position"))
    ctx.update({"b": b, "can_receipt": can(request.user, F.RECEIPT_VIEW)})
    return render(request, "transfers/block.html", ctx)


@needs(F.RECEIPT_VIEW)
def receipt(request, tx_id: str):
    data = selectors.receipt(user=request.user, tx_id=tx_id)
    resp = HttpResponse(json.dumps(data, ensure_ascii=False, indent=1), content_type="application/json")
    resp["Content-Disposition"] = f'attachment; filename="receipt-{tx_id[:16]}.json"'
    return resp
