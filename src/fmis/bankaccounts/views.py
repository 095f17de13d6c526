"""Screens of bank account supervision: accounts and their history, applications and annual
inspections with review and attachments, the exchange centre (batches, file import, absence table,
exception log), reconciliation and the supervision reports (page, print and xlsx of the same
permission-filtered data).

Reads go through ``selectors``, writes through ``services``; a domain error is shown on the page,
and objects out of scope answer 404 like missing ones.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.bankaccounts import forms, selectors, services
from fmis.bankaccounts import functions as F
from fmis.bankaccounts.models import (
    AccountChange,
    Application,
    BankAccount,
    Currency,
    Inspection,
    MessageKind,
)
from fmis.iam.permissions import can, restrict
from fmis.orgs.models import Agency, Bank, BankBranch
from fmis.platform.errors import DomainError
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response


def _day(request, name: str, default=None):
    v = (request.GET.get(name) or "").strip()
    if not v:
        return default
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        return default


def _listing(request, qs, *, title: str, headers: list[str], row, filename: str, actions=(), filters=(),
             testid: str = "list"):
    if wants_export(request):
        return xlsx_response(filename, headers, ([c for c, _u in row(o)] for o in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"title": title, "headers": headers, "rows": [row(o) for o in ctx["object_list"]],
                "q": request.GET.get("q", ""), "actions": actions, "filters": filters, "testid": testid})
    return render(request, "bankaccounts/list.html", ctx)


def _select(name: str, label: str, choices, current: str) -> dict:
    return {"name": name, "label": label, "choices": [(str(v), str(lbl)) for v, lbl in choices], "value": current}


def _form_page(request, form, *, title: str, cancel_url: str, intro: str = "", multipart: bool = False):
    return render(request, "bankaccounts/form.html", {"form": form, "title": title, "cancel_url": cancel_url,
                                                      "intro": intro, "multipart": multipart})


def _error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- accounts -----------------------------------------------------------------------------------

@needs(F.ACCOUNT_VIEW)
def accounts(request):
    g = request.GET
    qs = selectors.accounts(user=request.user, q=g.get("q", ""), status=g.get("status", ""),
                            currency=g.get("currency", ""), nature=g.get("nature", ""))

    def row(a):
        return [(a.number, reverse("bankaccounts:account", args=[a.pk])), (a.name, None), (a.agency.name, None),
                (a.bank.name, None), (a.get_nature_display(), None), (a.get_currency_display(), None),
                (str(a.opened_on), None), (a.get_status_display(), None)]

    actions = []
    if can(request.user, F.APPLY):
        actions.append((_("申请开户"), reverse("bankaccounts:apply_open")))
    if can(request.user, F.ACCOUNT_REGISTER):
        actions.append((_("存量账户登记"), reverse("bankaccounts:register")))
    filters = [_select("status", _("状态"), BankAccount.Status.choices, g.get("status", "")),
               _select("nature", _("账户性质"), forms.Nature.choices, g.get("nature", "")),
               _select("currency", _("币种"), Currency.choices, g.get("currency", ""))]
    return _listing(request, qs, title=_("银行账户"), filename="bank-accounts.xlsx", actions=actions, filters=filters,
                    headers=[_("账号"), _("账户名称"), _("预算单位"), _("开户银行"), _("账户性质"), _("币种"), _("开户日期"),
                             _("状态")], row=row, testid="accounts")


@needs(F.ACCOUNT_VIEW)
def account(request, pk: int):
    acct = selectors.account(user=request.user, pk=pk)
    return render(request, "bankaccounts/account_detail.html", {
        "acct": acct, "balance": selectors.balance_of(user=request.user, account_id=acct.pk),
        "items": acct.opening_items.order_by("source"),
        "history": selectors.account_history(user=request.user, account_id=acct.pk)[:200],
        "applications": selectors.applications(user=request.user).filter(account=acct) if can(
            request.user, F.APPLICATION_VIEW) else [],
        "can_apply": can(request.user, F.APPLY) and not acct.is_closed,
        "can_register": can(request.user, F.ACCOUNT_REGISTER)})


def _agencies(user, function: str):
    return restrict(Agency.objects.all(), user, function).order_by("code")


def _banks():
    return Bank.objects.filter(is_active=True).order_by("code")


def _branches():
    return BankBranch.objects.filter(is_active=True).select_related("bank").order_by("code")


@needs(F.ACCOUNT_REGISTER)
def register(request):
    form = forms.RegisterForm(request.POST or None, agencies=_agencies(request.user, F.ACCOUNT_REGISTER),
                              banks=_banks(), branches=_branches())
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        items = {k: v for k, v in (("fiscal", d.get("opening_fiscal")), ("other", d.get("opening_other"))) if v}
        try:
            acct = services.register_account(
                user=request.user,
                data=services.AccountData(agency_id=d["agency"].pk, number=d["number"], name=d["name"],
                                          bank_id=d["bank"].pk, branch_id=d["branch"].pk if d["branch"] else None,
                                          nature=d["nature"], currency=d["currency"], purpose=d["purpose"],
                                          approval_doc=d["approval_doc"], opened_on=d["opened_on"]),
                opening=services.OpeningItems(d.get("initialized_on") or d["opened_on"], items) if items else None)
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("账户已登记"))
            return redirect("bankaccounts:account", acct.pk)
    return _form_page(request, form, title=_("存量账户登记"), cancel_url=reverse("bankaccounts:accounts"))


@needs(F.ACCOUNT_REGISTER)
def opening(request, pk: int):
    acct = selectors.account(user=request.user, pk=pk, function=F.ACCOUNT_REGISTER)
    initial = {"initialized_on": acct.initialized_on or acct.opened_on}
    initial.update({f"src_{i.source}": i.amount for i in acct.opening_items.all()})
    form = forms.OpeningForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        items = {k[4:]: v for k, v in d.items() if k.startswith("src_") and v}
        try:
            services.set_opening_balance(user=request.user, account_id=acct.pk,
                                         opening=services.OpeningItems(d["initialized_on"], items))
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("初始化余额已保存"))
            return redirect("bankaccounts:account", acct.pk)
    return _form_page(request, form, title=_("账户初始化余额") + f" · {acct.number}",
                      cancel_url=reverse("bankaccounts:account", args=[acct.pk]))


# --- applications ---------------------------------------------------------------------------------

@needs(F.APPLICATION_VIEW)
def applications(request):
    g = request.GET
    qs = selectors.applications(user=request.user, q=g.get("q", ""), status=g.get("status", ""),
                                kind=g.get("kind", ""))

    def row(a):
        return [(a.number, reverse("bankaccounts:application", args=[a.pk])), (a.get_kind_display(), None),
                (a.agency.name, None), (a.account_number, None), (a.account_name, None), (a.bank.name, None),
                (a.get_status_display(), None), (a.created_at.strftime("%Y-%m-%d %H:%M"), None)]

    actions = [(_("申请开户"), reverse("bankaccounts:apply_open"))] if can(request.user, F.APPLY) else []
    filters = [_select("kind", _("申请类型"), Application.Kind.choices, g.get("kind", "")),
               _select("status", _("状态"), Application.Status.choices, g.get("status", ""))]
    return _listing(request, qs, title=_("开户、变更、销户申请"), filename="account-applications.xlsx", actions=actions,
                    filters=filters, headers=[_("申请编号"), _("类型"), _("预算单位"), _("账号"), _("账户名称"), _("开户银行"),
                                              _("状态"), _("申请时间")], row=row, testid="applications")


@needs(F.APPLICATION_VIEW)
def application(request, pk: int):
    app = selectors.application(user=request.user, pk=pk)
    changes = []
    if app.kind == Application.Kind.CHANGE and app.account_id:
        a = app.account
        labels = dict(services.ACCOUNT_FIELDS)
        for f, new in (("name", app.account_name), ("branch_id", app.branch_id), ("nature", app.nature),
                       ("purpose", app.purpose), ("approval_doc", app.approval_doc)):
            old = getattr(a, f)
            if app.status != Application.Status.APPROVED and old != new:
                changes.append((labels[f], services.display_value(f, old), services.display_value(f, new)))
    return render(request, "bankaccounts/application_detail.html", {
        "app": app, "changes": changes,
        "can_edit": app.editable and can(request.user, F.APPLY) and app.created_by_id == request.user.pk,
        "can_submit": app.editable and can(request.user, F.APPLY)})


@needs(F.APPLY)
def apply_open(request):
    form = forms.OpenForm(request.POST or None, agencies=_agencies(request.user, F.APPLY), banks=_banks(),
                          branches=_branches(), initial={"opened_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            app = services.apply_open(
                user=request.user, reason=d["reason"],
                data=services.AccountData(agency_id=d["agency"].pk, number=d["number"], name=d["name"],
                                          bank_id=d["bank"].pk, branch_id=d["branch"].pk if d["branch"] else None,
                                          nature=d["nature"], currency=d["currency"], purpose=d["purpose"],
                                          approval_doc=d["approval_doc"], opened_on=d["opened_on"]))
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("开户申请已保存，请上传附件后提交审核"))
            return redirect("bankaccounts:application", app.pk)
    return _form_page(request, form, title=_("申请开户"), cancel_url=reverse("bankaccounts:applications"))


@needs(F.APPLY)
def apply_change(request, pk: int):
    acct = selectors.account(user=request.user, pk=pk, function=F.APPLY)
    form = forms.ChangeForm(request.POST or None, branches=_branches().filter(bank=acct.bank), initial={
        "name": acct.name, "branch": acct.branch, "nature": acct.nature, "purpose": acct.purpose,
        "approval_doc": acct.approval_doc})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            app = services.apply_change(user=request.user, account_id=acct.pk, reason=d["reason"],
                                        change=services.ChangeData(
                                            name=d["name"], branch_id=d["branch"].pk if d["branch"] else None,
                                            nature=d["nature"], purpose=d["purpose"], approval_doc=d["approval_doc"]))
        except DomainError as exc:
            _error(form, exc)
        else:
            return redirect("bankaccounts:application", app.pk)
    return _form_page(request, form, title=_("申请变更") + f" · {acct.number}",
                      cancel_url=reverse("bankaccounts:account", args=[acct.pk]))


@needs(F.APPLY)
def apply_close(request, pk: int):
    acct = selectors.account(user=request.user, pk=pk, function=F.APPLY)
    form = forms.CloseForm(request.POST or None, initial={"closed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            app = services.apply_close(user=request.user, account_id=acct.pk, closed_on=d["closed_on"],
                                       reason=d["reason"])
        except DomainError as exc:
            _error(form, exc)
        else:
            return redirect("bankaccounts:application", app.pk)
    return _form_page(request, form, title=_("申请销户") + f" · {acct.number}",
                      cancel_url=reverse("bankaccounts:account", args=[acct.pk]))


@require_POST
@needs(F.APPLY)
def application_submit(request, pk: int):
    try:
        services.act_on_application(user=request.user, application_id=pk, action="submit",
                                    text=request.POST.get("comment", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已提交审核"))
    return redirect("bankaccounts:application", pk)


# --- inspections --------------------------------------------------------------------------------

@needs(F.INSPECTION_VIEW)
def inspections(request):
    g = request.GET
    year = g.get("year", "")
    qs = selectors.inspections(user=request.user, q=g.get("q", ""), year=int(year) if year.isdigit() else None,
                               status=g.get("status", ""))

    def row(i):
        return [(f"{i.account.number}", reverse("bankaccounts:inspection", args=[i.pk])), (i.account.name, None),
                (i.agency.name, None), (i.year, None), (i.get_conclusion_display(), None),
                (i.get_status_display(), None)]

    filters = [_select("status", _("状态"), Inspection.Status.choices, g.get("status", ""))]
    return _listing(request, qs, title=_("账户年检"), filename="account-inspections.xlsx", filters=filters,
                    headers=[_("账号"), _("账户名称"), _("预算单位"), _("年度"), _("结论"), _("状态")], row=row,
                    testid="inspections")


@needs(F.INSPECTION_VIEW)
def inspection(request, pk: int):
    insp = selectors.inspection(user=request.user, pk=pk)
    return render(request, "bankaccounts/inspection_detail.html", {
        "insp": insp, "can_submit": insp.editable and can(request.user, F.APPLY)})


@needs(F.APPLY)
def inspection_create(request, pk: int):
    acct = selectors.account(user=request.user, pk=pk, function=F.APPLY)
    form = forms.InspectionForm(request.POST or None, initial={"year": timezone.localdate().year - 1})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            insp = services.create_inspection(user=request.user, account_id=acct.pk, year=d["year"], usage=d["usage"],
                                              conclusion=d["conclusion"], still_needed=d["still_needed"])
        except DomainError as exc:
            _error(form, exc)
        else:
            return redirect("bankaccounts:inspection", insp.pk)
    return _form_page(request, form, title=_("填报年检") + f" · {acct.number}",
                      cancel_url=reverse("bankaccounts:account", args=[acct.pk]))


@require_POST
@needs(F.APPLY)
def inspection_submit(request, pk: int):
    try:
        services.act_on_inspection(user=request.user, inspection_id=pk, action="submit")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已提交审核"))
    return redirect("bankaccounts:inspection", pk)


# --- history ------------------------------------------------------------------------------------

@needs(F.CHANGE_VIEW)
def history(request):
    g = request.GET
    qs = selectors.history(user=request.user, q=g.get("q", ""), kind=g.get("kind", ""),
                           date_from=_day(request, "date_from"), date_to=_day(request, "date_to"))
    tz = timezone.get_current_timezone()

    def row(c):
        return [(c.changed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), None),
                (c.account.number, reverse("bankaccounts:account", args=[c.account_id])), (c.agency.name, None),
                (c.get_kind_display(), None), (c.field_label, None), (c.old_value, None), (c.new_value, None),
                (c.requested_by.name if c.requested_by else "", None), (c.changed_by.name if c.changed_by else "", None)]

    filters = [_select("kind", _("变更类型"), AccountChange.Kind.choices, g.get("kind", ""))]
    return _listing(request, qs, title=_("账户变更记录"), filename="account-history.xlsx", filters=filters,
                    headers=[_("时间"), _("账号"), _("预算单位"), _("类型"), _("项目"), _("变更前"), _("变更后"), _("申请人"),
                             _("批准人")], row=row, testid="history")


# --- exchange centre ------------------------------------------------------------------------------

@needs(F.EXCHANGE_VIEW)
def batches(request):
    g = request.GET
    qs = selectors.batches(user=request.user, bank=g.get("bank", ""), kind=g.get("kind", ""),
                           date=_day(request, "date"))
    tz = timezone.get_current_timezone()

    def row(b):
        return [(b.bank.name, None), (b.get_kind_display(), None), (str(b.business_date), None), (b.fmt.upper(), None),
                (b.get_source_display(), None), (b.filename, None), (b.lines, None), (b.inserted, None),
                (b.duplicates, None), (b.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), None)]

    actions = [(_("导入银行报文"), reverse("bankaccounts:import"))] if can(request.user, F.EXCHANGE_IMPORT) else []
    filters = [_select("kind", _("报文类别"), MessageKind.choices[:2], g.get("kind", ""))]
    return _listing(request, qs, title=_("交换批次"), filename="exchange-batches.xlsx", actions=actions, filters=filters,
                    headers=[_("银行"), _("类别"), _("业务日期"), _("格式"), _("来源"), _("文件名"), _("记录数"), _("新增"),
                             _("重复"), _("接收时间")], row=row, testid="batches")


@needs(F.EXCHANGE_IMPORT)
def import_file(request):
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.import_message(user=request.user, stream=upload.file, source="file",
                                             filename=upload.name)
        except DomainError as exc:
            _error(form, exc)
        else:
            if result.redelivered:
                messages.info(request, _("该报文此前已导入，本次未作任何改变"))
            else:
                messages.success(request, _("导入成功：%(lines)s 条记录，新增 %(new)s 条，重复 %(dup)s 条") % {
                    "lines": result.lines, "new": result.inserted, "dup": result.duplicates})
            return redirect("bankaccounts:batches")
    return _form_page(request, form, title=_("导入银行报文"), cancel_url=reverse("bankaccounts:batches"),
                      intro=_("报文格式见《银行交易流水与余额报文》：XML 或 CSV；一个文件中任何一行有误则整个文件不导入，并记入异常报文日志。"),
                      multipart=True)


@needs(F.ABSENCE_VIEW)
def absence(request):
    today = timezone.localdate()
    date_to = _day(request, "date_to", today - dt.timedelta(days=1))
    date_from = _day(request, "date_from", date_to - dt.timedelta(days=13))
    try:
        days, rows = selectors.absence(user=request.user, date_from=date_from, date_to=date_to)
    except DomainError as exc:
        messages.error(request, exc.message)
        days, rows = [], []
    if wants_export(request):
        marks = {"sent": "√", "absent": "缺", "error": "异常", "": ""}
        return xlsx_response("flow-absence.xlsx", [_("银行"), *[str(d) for d in days], _("缺勤天数")],
                             ([r.bank.name, *[marks[c] for c in r.cells], r.absent_days] for r in rows))
    return render(request, "bankaccounts/absence.html", {"days": days, "rows": rows, "date_from": date_from,
                                                         "date_to": date_to})


@needs(F.EXCEPTION_VIEW)
def exceptions(request):
    g = request.GET
    qs = selectors.exceptions(user=request.user, bank=g.get("bank", ""), kind=g.get("kind", ""),
                              date=_day(request, "date"), received_on=_day(request, "received_on"))
    tz = timezone.get_current_timezone()

    def row(e):
        return [(e.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                 reverse("bankaccounts:exception", args=[e.pk])), (e.bank.name if e.bank else e.bank_code, None),
                (str(e.business_date or ""), None), (e.get_kind_display(), None), (e.get_fmt_display(), None),
                (e.filename, None), (e.reason, None)]

    filters = [_select("bank", _("银行"), Bank.objects.order_by("code").values_list("code", "name"), g.get("bank", "")),
               _select("kind", _("报文类别"), MessageKind.choices, g.get("kind", ""))]
    return _listing(request, qs, title=_("交换中心异常报文日志"), filename="exception-messages.xlsx", filters=filters,
                    headers=[_("接收时间"), _("银行"), _("业务日期"), _("类别"), _("格式"), _("文件名"), _("原因")], row=row,
                    testid="exceptions")


@needs(F.EXCEPTION_VIEW)
def exception(request, pk: int):
    return render(request, "bankaccounts/exception_detail.html", {"e": selectors.exception(user=request.user, pk=pk)})


@needs(F.RECONCILE_VIEW)
def reconcile(request):
    today = timezone.localdate()
    date_to = _day(request, "date_to", today - dt.timedelta(days=1))
    date_from = _day(request, "date_from", date_to - dt.timedelta(days=6))
    return render(request, "bankaccounts/reconcile.html", {
        "date_from": date_from, "date_to": date_to,
        "unregistered": selectors.unregistered_accounts(user=request.user, date_from=date_from, date_to=date_to),
        "silent": selectors.silent_accounts(user=request.user, date_from=date_from, date_to=date_to)[:500],
        "mismatches": selectors.balance_mismatches(user=request.user, day=date_to)})


# --- reports ------------------------------------------------------------------------------------

REPORT_FILTERS = {
    "department": ("date_from", "date_to", "status", "department", "currency"),
    "unit": ("date_from", "date_to", "status", "agency", "currency", "balance_gt", "balance_lt"),
    "bank": ("date_from", "date_to", "status", "bank", "currency"),
    "initial": ("status", "agency", "bank", "number"),
    "flows": ("date_from", "date_to", "agency", "bank", "number"),
    "balances": ("date_to", "status", "agency", "number", "balance_gt", "balance_lt"),
    "counts": ("date_to", "status", "agency", "currency"),
    "changes": ("date_from", "date_to", "agency", "bank"),
    "change_detail": ("date_from", "date_to", "agency", "bank", "kind"),
}


REPORT_PAGE_SIZE = 200


def report_view(name: str):
    function = selectors.REPORTS[name][0]

    @needs(function)
    def view(request):
        error = None
        rep = None
        try:
            rep = selectors.report(name, user=request.user, filters=selectors.parse_filters(request.GET))
        except DomainError as exc:
            error = exc.message
        if rep is not None and wants_export(request):
            rows = list(rep.rows) + ([rep.totals] if rep.totals else [])
            return xlsx_response(f"{rep.title}.xlsx", rep.headers, rows, sheet=rep.title)
        if rep is None and wants_export(request):
            raise HttpForbidden(error or "")
        ctx = {"report": rep, "error": error, "name": name, "fields": REPORT_FILTERS[name], "params": request.GET,
               "currencies": Currency.choices, "banks": Bank.objects.order_by("code"),
               "statuses": BankAccount.Status.choices, "kinds": AccountChange.Kind.choices}
        if rep is not None:  # the screen pages the rows (totals cover them all); the export has every row
            ctx.update(page(request, rep.rows, size=REPORT_PAGE_SIZE))
        return render(request, "bankaccounts/report.html", ctx)

    view.__name__ = f"report_{name}"
    return view


report_department = report_view("department")
report_unit = report_view("unit")
report_bank = report_view("bank")
report_initial = report_view("initial")
report_flows = report_view("flows")
report_balances = report_view("balances")
report_counts = report_view("counts")
report_changes = report_view("changes")
report_change_detail = report_view("change_detail")
