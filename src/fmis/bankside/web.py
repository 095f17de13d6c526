"""What the bank-side screens share: the form page that hands a valid form to a service and shows
its refusal on the form, the message that reports a ledger outcome, and the date of a query string."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from fmis.platform.errors import DomainError, NotFound


def parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def apply_error(form, exc: DomainError) -> None:
    """Show a service's refusal on the form: next to each field it names, else above the form."""
    placed = False
    for e in exc.errors or []:
        if e.get("field") in form.fields:
            form.add_error(e["field"], e["message"])
            placed = True
    if not placed:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def form_page(request, form, *, title: str, cancel: str, action, success, submit: str = ""):
    """GET shows the form; a valid POST calls `action(cleaned_data)`; a DomainError goes back on the
    form; success redirects to `success(result)`."""
    if request.method == "POST" and form.is_valid():
        try:
            result = action(form.cleaned_data)
        except NotFound as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            apply_error(form, exc)
        else:
            return redirect(success(result))
    return render(request, "bankside/form.html", {"form": form, "title": title, "cancel_url": reverse(cancel),
                                                  "submit": submit or _("提交上链")})


def report_outcome(request, outcome, text: str) -> None:
    """The ledger's verdict on a submitted transaction, as a message on the next page."""
    if outcome.status == "valid":
        messages.success(request, _("%(t)s：已上链，区块 %(b)s") % {"t": text, "b": outcome.block})
    else:
        messages.info(request, _("%(t)s：已提交，等待出块（%(id)s）") % {"t": text, "id": outcome.tx_id[:16]})
