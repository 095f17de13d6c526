"""Audit log screens: list with filters, paging and xlsx export; detail with before/after; verify.

The audit log is global, not narrowed by data permission rules (see ``selectors``): auditors must
see every write. Only users holding ``platform.audit.view`` (and superusers) get in.
"""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fmis.platform import audit, selectors
from fmis.platform.errors import DomainError
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response

AUDIT_VIEW = selectors.AUDIT_VIEW


class AuditFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("搜索"), required=False, max_length=100)
    object_type = forms.CharField(label=gettext_lazy("对象类型"), required=False, max_length=100)
    object_id = forms.CharField(label=gettext_lazy("对象ID"), required=False, max_length=64)
    actor = forms.CharField(label=gettext_lazy("操作人"), required=False, max_length=150)
    action = forms.CharField(label=gettext_lazy("操作"), required=False, max_length=100)
    date_from = forms.DateField(label=gettext_lazy("开始日期"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("结束日期"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))


EXPORT_HEADERS = ["ID", gettext_lazy("时间"), gettext_lazy("操作人ID"), gettext_lazy("操作人"),
                  gettext_lazy("操作"), gettext_lazy("对象类型"), gettext_lazy("对象ID"),
                  gettext_lazy("对象"), gettext_lazy("修改前"), gettext_lazy("修改后"),
                  gettext_lazy("哈希")]


def _export_rows(qs):
    from fmis.platform.jsonutil import canonical

    for r in qs.iterator(chunk_size=2000):
        yield [r.pk, timezone.localtime(r.at), r.actor_id, r.actor_name, r.action, r.object_type, r.object_id,
               r.object_repr, "" if r.before is None else canonical(r.before),
               "" if r.after is None else canonical(r.after), r.hash]


@needs(AUDIT_VIEW)
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    error = ""
    try:
        qs = selectors.audit_records(user=request.user, **filters)
    except DomainError as exc:
        error = exc.message
        qs = selectors.audit_records(user=request.user)
    if not error and form.is_bound and not form.is_valid():
        error = _("筛选条件不正确：") + "；".join(
            f"{form.fields[f].label}: {'，'.join(errs)}" for f, errs in form.errors.items())
    if wants_export(request) and not error:
        stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
        return xlsx_response(_("审计日志_%(stamp)s.xlsx") % {"stamp": stamp}, EXPORT_HEADERS, _export_rows(qs),
                             sheet=_("审计日志"))
    ctx = page(request, qs)
    ctx.update(form=form, error=error)
    return render(request, "platform/audit_list.html", ctx)


@needs(AUDIT_VIEW)
def audit_detail(request, pk: int):
    try:
        rec = selectors.audit_record(user=request.user, pk=pk)
    except DomainError as exc:
        return render(request, "platform/audit_detail.html", {"error": exc.message}, status=exc.status)
    return render(request, "platform/audit_detail.html", {"rec": rec, "rows": audit.diff(rec)})


@require_POST
@needs(AUDIT_VIEW)
def audit_verify(request):
    result = audit.verify()
    return render(request, "platform/audit_verify.html", {"result": result, "head": audit.head()})
