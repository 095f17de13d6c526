"""``{% load bankaccounts %}{% absent_banks user as absent %}``: the banks that sent no flows
yesterday, for the home page reminder (``{% include "bankaccounts/includes/flow_reminder.html" %}``)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from fmis.bankaccounts import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def absent_banks(context, user):
    context["absent_day"] = timezone.localdate() - dt.timedelta(days=1)
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return selectors.absent_yesterday(user=user)
