"""``{% load workflow %}``: the review panel for a document page and the inbox summaries.

On a document page::

    {% load workflow %}{% review_panel document %}              (the only type of its model)
    {% review_panel document "budgeting.up2" %}                 (a model with several types)

or, equivalently, ``{% include "workflow/includes/review.html" with document=obj %}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from fmis.iam import permissions
from fmis.platform.errors import DomainError
from fmis.platform.workflow import registry, selectors

register = template.Library()


@register.inclusion_tag("workflow/includes/review_panel.html", takes_context=True)
def review_panel(context, document, doc_type: str | None = None):
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    ctx = {"csrf_token": context.get("csrf_token"), "document": document,
           "next": request.get_full_path() if request is not None else ""}
    try:
        spec = registry.for_document(document, doc_type or None)
    except DomainError as exc:
        ctx["error"] = exc.message
        return ctx
    actions = selectors.available_actions(document, user, spec.code)
    if not permissions.can(user, "workflow.inbox"):
        actions = []
    st = selectors.state(document, spec.code)
    ctx.update({"spec": spec, "state": st, "history": selectors.history(document, spec.code),
                "actions": actions, "object_id": document.pk})
    return ctx


@dataclass(frozen=True)
class InboxSummary:
    counts: list[selectors.InboxCount]
    can_open: bool

    @property
    def total(self) -> int:
        return sum(c.count for c in self.counts)


@register.simple_tag
def inbox_summary(user):
    """Pending counts per document type and step, their total, and whether the inbox page is open
    to `user`."""
    return InboxSummary(selectors.inbox_counts(user=user), permissions.can(user, "workflow.inbox"))


@register.simple_tag
def inbox_returned(user, limit: int = 10):
    return list(selectors.inbox_returned(user=user)[:limit])
