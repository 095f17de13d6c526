"""凭证批量导入 screen: upload an xlsx or CSV file of voucher lines into the current account set,
posted at once (or entered for review); download the column template."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from fmis.accounting import bulk, selectors
from fmis.accounting.functions import VOUCHER_CREATE, VOUCHER_POST
from fmis.iam.permissions import can
from fmis.platform.errors import DomainError
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response

MAX_UPLOAD = 50 * 1024 * 1024


@needs(VOUCHER_CREATE)
def voucher_import(request):
    aset = selectors.current_account_set(request)
    if aset is None:
        return redirect("accounting:sets")
    if request.GET.get("template") == "xlsx":
        return xlsx_response("凭证导入模板.xlsx", bulk.TEMPLATE_HEADERS, [])
    errors: list[dict] = []
    message = ""
    can_post = can(request.user, VOUCHER_POST)
    if request.method == "POST":
        upload = request.FILES.get("file")
        post = request.POST.get("post") == "1" and can_post
        if upload is None:
            message = _("请选择要导入的文件")
        elif upload.size > MAX_UPLOAD:
            message = _("文件过大（最大 50 MB）")
        else:
            try:
                res = bulk.import_file(account_set_id=aset.pk, content=upload.read(), filename=upload.name,
                                       user=request.user, post=post)
            except DomainError as exc:
                message, errors = exc.message, exc.errors
            else:
                if res.created:
                    messages.success(request, _("已导入 %(v)s 张凭证（%(l)s 行分录）%(posted)s") % {
                        "v": res.vouchers, "l": res.lines, "posted": _("并登账") if res.posted else ""})
                else:
                    messages.info(request, _("该文件已导入过（%(v)s 张凭证），未重复导入") % {"v": res.vouchers})
                return redirect("accounting:vouchers")
    return render(request, "accounting/voucher_import.html", {
        "aset": aset, "message": message, "errors": errors, "can_post": can_post,
        "headers": bulk.TEMPLATE_HEADERS})
