"""Reads for review chains and the to-do inbox.

``inbox_pending`` is computed per (document type, step function): the pending reviews are grouped
by the function their current step needs, and each group is narrowed by one subquery over the
document table filtered with the user's data scope for that function. No per-document loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext

from fmis.iam import permissions
from fmis.platform.errors import NotFound
from fmis.platform.workflow import registry
from fmis.platform.workflow.models import ReviewAction, ReviewChain, ReviewInstance
from fmis.platform.workflow.registry import DocumentType

Status = ReviewInstance.Status
Kind = ReviewAction.Kind


def _usable(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def inbox_pending(*, user, doc_type: str | None = None) -> QuerySet[ReviewInstance]:
    """The reviews whose current step `user` may act on now (function, data scope, and the chain's
    rule that a submitter does not review their own document). Newest first."""
    if not _usable(user):
        return ReviewInstance.objects.none()
    types = {d.code: d for d in registry.document_types()}
    if doc_type:
        types = {k: v for k, v in types.items() if k == doc_type}
    base = ReviewInstance.objects.filter(status=Status.PENDING, doc_type__in=list(types))
    if not user.is_superuser:
        base = base.filter(step_function__in=sorted(permissions.function_codes(user)))
    groups = base.order_by().values_list("doc_type", "step_function").distinct()
    allowed: Q | None = None
    for code, function in groups:
        spec = types[code]
        docs = permissions.restrict(spec.model._default_manager.all(), user, function)
        part = Q(doc_type=code, step_function=function)
        if docs.query.where:  # unrestricted scopes need no subquery
            part &= Q(object_id__in=docs.values("pk"))
        allowed = part if allowed is None else allowed | part
    if allowed is None:
        return ReviewInstance.objects.none()
    return (ReviewInstance.objects.filter(status=Status.PENDING).filter(allowed)
            .exclude(Q(forbid_self_review=True) & Q(submitted_by=user))
            .select_related("submitted_by").prefetch_related("document")
            .order_by("-submitted_at", "-pk"))


@dataclass(frozen=True)
class InboxCount:
    doc_type: str
    type_name: str
    step_name: str
    count: int


def inbox_counts(*, user) -> list[InboxCount]:
    """Pending counts per document type and step, for the home page."""
    rows = (inbox_pending(user=user).order_by().values("doc_type", "step_name")
            .annotate(n=Count("pk")).order_by("doc_type", "step_name"))
    out = []
    for r in rows:
        spec = registry.find(r["doc_type"])
        out.append(InboxCount(r["doc_type"], str(spec.name) if spec else r["doc_type"], r["step_name"], r["n"]))
    return out


def inbox_done(*, user, doc_type: str | None = None) -> QuerySet[ReviewInstance]:
    """The reviews `user` has acted on (submitted, approved, returned, ...), with their latest
    action as ``done_action`` / ``action_name`` and its time as ``at``. Latest first."""
    if not _usable(user):
        return ReviewInstance.objects.none()
    mine = ReviewAction.objects.filter(instance=OuterRef("pk"), actor=user).order_by("-version")
    qs = ReviewInstance.objects.filter(Exists(mine))
    if doc_type:
        qs = qs.filter(doc_type=doc_type)
    return (qs.annotate(done_action=Subquery(mine.values("action")[:1]), at=Subquery(mine.values("at")[:1]))
            .prefetch_related("document").order_by("-at", "-pk"))


def inbox_returned(*, user) -> QuerySet[ReviewInstance]:
    """Documents `user` submitted that were returned to them for correction."""
    if not _usable(user):
        return ReviewInstance.objects.none()
    return (ReviewInstance.objects.filter(submitted_by=user, status=Status.RETURNED,
                                          doc_type__in=[d.code for d in registry.document_types()])
            .prefetch_related("document").order_by("-updated_at", "-pk"))


def instance_of(document: models.Model, doc_type: str | None = None) -> ReviewInstance | None:
    spec = registry.for_document(document, doc_type)
    ct = ContentType.objects.get_for_model(spec.model)
    return ReviewInstance.objects.filter(doc_type=spec.code, content_type=ct, object_id=document.pk).first()


def history(document: models.Model, doc_type: str | None = None) -> list[ReviewAction]:
    """Every action on `document`'s review, oldest first (all rounds). The caller has already
    established that the user may see the document."""
    inst = instance_of(document, doc_type)
    if inst is None:
        return []
    return list(inst.actions.select_related("actor").order_by("version"))


@dataclass(frozen=True)
class ReviewState:
    doc_type: str
    status: str  # "none" before the first submission, else ReviewInstance.Status
    status_label: str
    step_no: int | None
    step_name: str
    steps: tuple[str, ...]
    round: int
    submitted_by_id: int | None
    submitted_at: datetime | None
    finished_at: datetime | None
    instance_id: int | None

    @property
    def is_pending(self) -> bool:
        return self.status == Status.PENDING

    @property
    def is_final(self) -> bool:
        return self.status in ReviewInstance.FINAL


NOT_SUBMITTED = "none"


def state(document: models.Model, doc_type: str | None = None) -> ReviewState:
    spec = registry.for_document(document, doc_type)
    inst = instance_of(document, spec.code)
    if inst is None:
        return ReviewState(spec.code, NOT_SUBMITTED, gettext("未提交"), None, "", (), 0, None, None, None, None)
    return ReviewState(spec.code, inst.status, str(inst.get_status_display()),
                       inst.step_no if inst.status == Status.PENDING else None,
                       inst.step_name if inst.status == Status.PENDING else "",
                       tuple(s["name"] for s in inst.steps), inst.round, inst.submitted_by_id, inst.submitted_at,
                       inst.finished_at, inst.pk)


def available_actions(document: models.Model, user, doc_type: str | None = None) -> list[str]:
    """The actions `user` may take on `document` now, in display order."""
    from fmis.platform.workflow import services

    spec = registry.for_document(document, doc_type)
    if not _usable(user):
        return []
    inst = instance_of(document, spec.code)
    out: list[str] = []
    if inst is None or inst.status in (Status.RETURNED, Status.WITHDRAWN):
        if services.submit_refusal(user, spec, document.pk) is None and _chain_exists(spec):
            out.append(Kind.SUBMIT)
        return out
    if inst.status != Status.PENDING:
        return out
    if services.actor_refusal(user, inst, spec) is None:
        out += [Kind.APPROVE, Kind.RETURN, Kind.REJECT]
    if inst.submitted_by_id == user.pk and inst.version == inst.submit_version:
        out.append(Kind.WITHDRAW)
    return out


def _chain_exists(spec: DocumentType) -> bool:
    return bool(spec.default_steps) or ReviewChain.objects.filter(doc_type=spec.code, steps__isnull=False).exists()


def visible_document(*, user, doc_type: str, object_id: int) -> tuple[DocumentType, models.Model]:
    """The document, if `user` may see it: within their scope for the type's view function, its
    submit function, or the function of its current review step. Otherwise ``NotFound`` (an
    out-of-scope document is never distinguished from a missing one)."""
    spec = registry.get(doc_type)
    qs = spec.model._default_manager.filter(pk=object_id)
    functions = [spec.view_function]
    if spec.submit_function:
        functions.append(spec.submit_function)
    ct = ContentType.objects.get_for_model(spec.model)
    current = (ReviewInstance.objects.filter(doc_type=spec.code, content_type=ct, object_id=object_id,
                                             status=Status.PENDING).values_list("step_function", flat=True).first())
    if current:
        functions.append(current)
    for fn in functions:
        if permissions.can(user, fn):
            doc = permissions.restrict(qs, user, fn).first()
            if doc is not None:
                return spec, doc
    raise NotFound("workflow.document_not_found", "单据不存在或不在您的数据权限范围内")


# --- chain configuration screens ----------------------------------------------------------------

@dataclass(frozen=True)
class ChainRow:
    spec: DocumentType
    chain: ReviewChain | None
    steps: tuple[tuple[int, str, str], ...]  # (order, name, function)
    from_defaults: bool

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def name(self) -> str:
        return str(self.spec.name)


def chains(*, user, search: str = "") -> list[ChainRow]:
    """Every registered document type with its chain (or the type's default steps)."""
    permissions.require(user, "workflow.chain.view")
    stored = {c.doc_type: c for c in ReviewChain.objects.prefetch_related("steps")}
    search = (search or "").strip().lower()
    out = []
    for spec in registry.document_types():
        if search and search not in spec.code.lower() and search not in spec.name.lower():
            continue
        chain = stored.get(spec.code)
        steps = tuple((s.order, s.name, s.function) for s in chain.steps.all()) if chain else ()
        from_defaults = not steps and bool(spec.default_steps)
        if from_defaults:
            steps = tuple((i, n, f) for i, (n, f) in enumerate(spec.default_steps, start=1))
        out.append(ChainRow(spec, chain, steps, from_defaults))
    return out


def chain(*, user, doc_type: str) -> ChainRow:
    permissions.require(user, "workflow.chain.view")
    spec = registry.get(doc_type)
    for row in chains(user=user):
        if row.spec.code == spec.code:
            return row
    raise NotFound("workflow.unknown_document_type", f"未登记的单据类型：{doc_type}")


def function_choices() -> list[tuple[str, str]]:
    """Action and menu functions an administrator may put on a step."""
    from fmis.iam.models import Function

    fns = Function.objects.filter(is_active=True).order_by("code").only("code", "name", "name_en")
    return [(f.code, f.display_name) for f in fns]
