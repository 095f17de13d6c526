"""``{% load bankside %}{% bankside_to_review user as waiting %}``: the pre-applications and case
applications awaiting the user's review, for the home page reminder
(``{% include "bankside/includes/review_reminder.html" %}``)."""

from __future__ import annotations

from django import template

from fmis.bankside import cases, selectors
from fmis.bankside import functions as F_
from fmis.iam.permissions import can

register = template.Library()


@register.simple_tag
def bankside_to_review(user) -> dict:
    """Counts of what waits for `user` (zero when the user may not review)."""
    out = {"pre_applications": 0, "case_applications": 0}
    if user is None or not getattr(user, "is_authenticated", False):
        return out
    if can(user, F_.REVIEW):
        out["pre_applications"] = selectors.to_review(user=user).count()
    if can(user, cases.CASE_APPLICATION_REVIEW):
        out["case_applications"] = cases.applications(user=user, status="submitted").count()
    return out
