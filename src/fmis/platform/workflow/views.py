"""Screens: the inbox, the review page of a document, review actions, and chain configuration."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fmis.iam import permissions
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.workflow import registry, selectors, services
from fmis.platform.xlsx import xlsx_response


def _denied(request, exc: DomainError, status: int = 403):
    return render(request, "workflow/error.html", {"error": exc.message}, status=status)


def _local(value):
    return timezone.localtime(value) if value else None


def _safe_next(request, fallback: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return fallback


@login_required
def inbox(request):
    try:
        permissions.require(request.user, "workflow.inbox")
    except DomainError as exc:
        return _denied(request, exc)
    tab = "done" if request.GET.get("tab") == "done" else "pending"
    doc_type = request.GET.get("type", "").strip() or None
    if tab == "done":
        qs = selectors.inbox_done(user=request.user, doc_type=doc_type)
    else:
        qs = selectors.inbox_pending(user=request.user, doc_type=doc_type)
    if wants_export(request):
        if tab == "done":
            headers = [_("单据类型"), _("单据"), _("操作"), _("时间"), _("状态")]
            rows = ([i.type_name, i.title, i.action_name, _local(i.at), i.get_status_display()] for i in qs.iterator(200))
        else:
            headers = [_("单据类型"), _("单据"), _("当前环节"), _("提交人"), _("提交时间")]
            rows = ([i.type_name, i.title, i.step_name, i.submitted_by.name, _local(i.submitted_at)]
                    for i in qs.iterator(200))
        return xlsx_response(f"{_('已办') if tab == 'done' else _('待办')}.xlsx", headers, rows)
    ctx = page(request, qs)
    ctx.update({"tab": tab, "doc_type": doc_type or "", "types": registry.document_types(),
                "counts": selectors.inbox_counts(user=request.user)})
    return render(request, "workflow/inbox.html", ctx)


@login_required
@require_POST
def approve_batch(request):
    """批量审核 from the inbox: the checked documents are approved in one action."""
    items = []
    for value in request.POST.getlist("item"):
        code, _sep, pk = value.rpartition(":")
        if code and pk.isdigit():
            items.append((code, int(pk)))
    try:
        permissions.require(request.user, "workflow.inbox")
        result = services.approve_many(items=items, user=request.user, comment=request.POST.get("comment", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_safe_next(request, reverse("workflow:inbox")))
    if result["approved"]:
        messages.success(request, _("批量审核通过 %(n)s 张单据") % {"n": len(result["approved"])})
    for f in result["failed"]:
        messages.error(request, _("#%(id)s 未通过：%(message)s") % {"id": f["object_id"], "message": f["message"]})
    return redirect(_safe_next(request, reverse("workflow:inbox")))


@login_required
def document(request, doc_type: str, object_id: int):
    """A generic review page: the document's title, link, review state, history and actions."""
    try:
        spec, doc = selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)
    except NotFound as exc:
        return _denied(request, exc, status=404)
    return render(request, "workflow/document.html", {"spec": spec, "document": doc,
                                                      "title": spec.title_of(doc), "doc_url": spec.url_of(doc)})


@login_required
@require_POST
def act(request, doc_type: str, object_id: int, action: str):
    fallback = reverse("workflow:document", args=[doc_type, object_id])
    back = _safe_next(request, fallback)
    try:
        permissions.require(request.user, "workflow.inbox")
        doc = selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)[1]
        step_text = request.POST.get("step", "").strip()
        step = int(step_text) if step_text.isdigit() else None
        text = request.POST.get("reason") or request.POST.get("comment") or ""
        inst = services.perform(action, document=doc, user=request.user, text=text, step=step, doc_type=doc_type)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    status = inst.get_status_display()
    if inst.status == inst.Status.PENDING:
        status = _("%(name)s（%(code)s）") % {"name": status, "code": inst.step_name}
    messages.success(request, _("%(action)s成功，当前状态：%(status)s") % {
        "action": services.Kind(action).label, "status": status})
    try:  # a reviewer who saw the document only through the step they just closed goes back to the inbox
        selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)
    except NotFound:
        return redirect("workflow:inbox")
    return redirect(back)


@login_required
def chain_list(request):
    try:
        rows = selectors.chains(user=request.user, search=request.GET.get("q", ""))
    except DomainError as exc:
        return _denied(request, exc)
    if wants_export(request):
        return xlsx_response(_("审核链配置.xlsx"), [_("单据类型编码"), _("单据类型"), _("环节"), _("录入人不得审核")],
                             ([r.code, r.name, " → ".join(f"{o}.{n}（{f}）" for o, n, f in r.steps),
                               _("是") if (r.chain.forbid_self_review if r.chain else True) else _("否")]
                              for r in rows))
    ctx = page(request, rows)
    ctx.update({"q": request.GET.get("q", ""),
                "can_manage": permissions.can(request.user, "workflow.chain.manage")})
    return render(request, "workflow/chain_list.html", ctx)


BLANK_ROWS = 2


@login_required
@require_http_methods(["GET", "POST"])
def chain_edit(request, doc_type: str):
    try:
        row = selectors.chain(user=request.user, doc_type=doc_type)
    except DomainError as exc:
        return _denied(request, exc, status=exc.status)
    can_manage = permissions.can(request.user, "workflow.chain.manage")
    error, errors = "", []
    steps = [{"order": o, "name": n, "function": f} for o, n, f in row.steps]
    forbid_self = row.chain.forbid_self_review if row.chain else True
    if request.method == "POST":
        names = request.POST.getlist("name")
        functions = request.POST.getlist("function")
        orders = request.POST.getlist("order")
        specs = []
        for i, (name, function) in enumerate(zip(names, functions, strict=False)):
            order_text = orders[i].strip() if i < len(orders) else ""
            order = int(order_text) if order_text.lstrip("-").isdigit() else None
            specs.append(services.StepSpec(name, function, order))
        forbid_self = request.POST.get("forbid_self_review") == "on"
        try:
            services.configure_chain(doc_type=row.spec.code, steps=specs, forbid_self_review=forbid_self,
                                     user=request.user)
        except DomainError as exc:
            error, errors = exc.message, exc.errors
            steps = [{"order": s.order or "", "name": s.name, "function": s.function} for s in specs]
        else:
            messages.success(request, _("审核链已保存，新提交的单据按新环节审核"))
            return redirect("workflow:chain_edit", doc_type=row.spec.code)
    steps = steps + [{"order": "", "name": "", "function": ""}] * BLANK_ROWS
    functions = selectors.function_choices()
    return render(request, "workflow/chain_edit.html", {
        "row": row, "steps": steps, "forbid_self_review": forbid_self, "can_manage": can_manage,
        "functions": functions, "function_codes": {c for c, _ in functions}, "error": error, "errors": errors})
