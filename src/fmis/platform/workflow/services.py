"""Writes for review chains: configure a chain, and submit / approve / return / reject / withdraw.

Every transition reads the review instance, checks the actor against the current step (function
and data scope), then writes with a conditional update on the instance's ``version``: if anyone
else acted in between, nothing is written and the caller gets ``Conflict``. Each transition
appends a history row, writes an audit record, publishes a domain event and calls the document
type's callback, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import F, Value
from django.db.models.expressions import CombinedExpression
from django.utils import timezone

from fmis.iam import permissions
from fmis.platform import audit, db, events
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.workflow import registry
from fmis.platform.workflow.models import ReviewAction, ReviewChain, ReviewInstance, ReviewStep
from fmis.platform.workflow.registry import DocumentType

Status = ReviewInstance.Status
Kind = ReviewAction.Kind

MAX_COMMENT = 2000
MAX_STEPS = 20

EVENT_SUBMITTED = "workflow.submitted"
EVENT_APPROVED = "workflow.approved"  # an intermediate step was approved
EVENT_COMPLETED = "workflow.completed"
EVENT_RETURNED = "workflow.returned"
EVENT_REJECTED = "workflow.rejected"
EVENT_WITHDRAWN = "workflow.withdrawn"


# --- chain configuration ------------------------------------------------------------------------

@dataclass(frozen=True)
class StepSpec:
    name: str
    function: str
    order: int | None = None


def _chain_snapshot(chain: ReviewChain | None) -> dict | None:
    if chain is None:
        return None
    return {"doc_type": chain.doc_type, "forbid_self_review": chain.forbid_self_review,
            "steps": [{"order": s.order, "name": s.name, "function": s.function}
                      for s in chain.steps.order_by("order")]}


def _validate_steps(steps: Sequence[StepSpec]) -> list[StepSpec]:
    from fmis.iam.models import Function

    rows = [StepSpec((s.name or "").strip(), (s.function or "").strip(), s.order) for s in steps]
    rows = [s for s in rows if s.name or s.function]
    if not rows:
        raise ValidationFailed("workflow.chain_empty", "审核链至少需要一个审核环节", field="steps")
    if len(rows) > MAX_STEPS:
        raise ValidationFailed("workflow.chain_too_long", f"审核环节不能超过 {MAX_STEPS} 个", field="steps")
    errors = []
    known = set(Function.objects.filter(is_active=True, code__in=[s.function for s in rows])
                .values_list("code", flat=True))
    for i, s in enumerate(rows, start=1):
        if not s.name:
            errors.append({"line": i, "field": "name", "message": f"第 {i} 个环节：环节名称不能为空"})
        elif len(s.name) > 100:
            errors.append({"line": i, "field": "name", "message": f"第 {i} 个环节：环节名称不能超过 100 个字符"})
        if not s.function:
            errors.append({"line": i, "field": "function", "message": f"第 {i} 个环节：必须指定功能权限"})
        elif s.function not in known:
            errors.append({"line": i, "field": "function",
                           "message": f"第 {i} 个环节：功能编码 {s.function} 不存在或已停用"})
        if s.order is not None and s.order < 1:
            errors.append({"line": i, "field": "order", "message": f"第 {i} 个环节：顺序必须是正整数"})
    orders = [s.order for s in rows if s.order is not None]
    if len(orders) != len(set(orders)):
        errors.append({"line": None, "field": "order", "message": "环节顺序不能重复"})
    if errors:
        raise ValidationFailed("workflow.chain_invalid", errors[0]["message"], field="steps", errors=errors)
    # explicit orders first, in order; rows without an order keep their position at the end
    indexed = list(enumerate(rows))
    indexed.sort(key=lambda t: (t[1].order is None, t[1].order or 0, t[0]))
    return [StepSpec(s.name, s.function, n) for n, (_, s) in enumerate(indexed, start=1)]


def configure_chain(*, doc_type: str, steps: Sequence[StepSpec], forbid_self_review: bool,
                    user) -> ReviewChain:
    """Replace the steps of `doc_type`'s chain. Reviews already under way keep their copy."""
    permissions.require(user, "workflow.chain.manage")
    spec = registry.get(doc_type)
    rows = _validate_steps(steps)
    with transaction.atomic():
        chain, _ = ReviewChain.objects.get_or_create(doc_type=spec.code)
        chain = ReviewChain.objects.select_for_update().get(pk=chain.pk)
        before = _chain_snapshot(chain) if chain.steps.exists() else None
        chain.steps.all().delete()
        ReviewStep.objects.bulk_create(
            [ReviewStep(chain=chain, order=s.order, name=s.name, function=s.function) for s in rows])
        chain.forbid_self_review = bool(forbid_self_review)
        chain.updated_by = user
        chain.save(update_fields=["forbid_self_review", "updated_by", "updated_at"])
        audit.record(user, "workflow.chain.configure", chain, before=before, after=_chain_snapshot(chain),
                     object_repr=f"{spec.code} {spec.name}")
    return chain


def _chain_for_submit(spec: DocumentType, user) -> ReviewChain:
    """The chain of `spec`, created from the type's default steps the first time it is needed."""
    chain = ReviewChain.objects.filter(doc_type=spec.code).first()
    if chain is None and spec.default_steps:
        with transaction.atomic():
            chain, created = ReviewChain.objects.get_or_create(doc_type=spec.code)
            if created:
                ReviewStep.objects.bulk_create(
                    [ReviewStep(chain=chain, order=i, name=n, function=f)
                     for i, (n, f) in enumerate(spec.default_steps, start=1)])
                audit.record(user, "workflow.chain.default", chain, after=_chain_snapshot(chain),
                             object_repr=f"{spec.code} {spec.name}")
    steps = list(chain.steps.order_by("order")) if chain is not None else []
    if not steps:
        raise ValidationFailed("workflow.no_chain", f"单据类型“{spec.name}”尚未配置审核链，请联系管理员",
                               field="doc_type")
    chain.ordered_steps = steps
    return chain


# --- who may do what ----------------------------------------------------------------------------

def _in_scope(user, spec: DocumentType, object_id, function: str) -> bool:
    """Whether the document is in `user`'s scope for `function` (asked once per service transaction)."""
    qs = spec.model._default_manager.filter(pk=object_id)
    return db.cached(("workflow.in_scope", spec.code, object_id, function, getattr(user, "pk", None)),
                     lambda: permissions.restrict(qs, user, function).exists())


def actor_refusal(user, instance: ReviewInstance, spec: DocumentType) -> PermissionDenied | None:
    """Why `user` may not act on `instance`'s current step, or None if they may."""
    if instance.status != Status.PENDING:
        return PermissionDenied("workflow.not_pending", "单据不在审核中")
    if not permissions.can(user, instance.step_function):
        return PermissionDenied("workflow.step_function_denied",
                                f"您没有“{instance.step_name}”环节的审核权限（{instance.step_function}）",
                                function=instance.step_function)
    if not _in_scope(user, spec, instance.object_id, instance.step_function):
        return PermissionDenied("workflow.out_of_scope",
                                f"该单据不在您“{instance.step_name}”环节的数据权限范围内",
                                function=instance.step_function)
    if instance.forbid_self_review and instance.submitted_by_id == getattr(user, "pk", None):
        return PermissionDenied("workflow.self_review", "提交人不能审核自己提交的单据")
    return None


def submit_refusal(user, spec: DocumentType, object_id) -> PermissionDenied | None:
    function = spec.submit_function or spec.view_function
    if not permissions.can(user, function):
        return PermissionDenied("workflow.submit_denied", f"您没有提交“{spec.name}”的权限（{function}）",
                                function=function)
    if not _in_scope(user, spec, object_id, function):
        return PermissionDenied("workflow.out_of_scope", "该单据不在您的数据权限范围内", function=function)
    return None


# --- transitions --------------------------------------------------------------------------------

def _clean_comment(text: str | None, *, field: str = "comment", required: bool = False, what: str = "") -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationFailed("workflow.reason_required", f"{what}必须填写原因", field=field)
    if len(text) > MAX_COMMENT:
        raise ValidationFailed("workflow.comment_too_long", f"意见不能超过 {MAX_COMMENT} 个字符", field=field)
    return text


def _instance_of(spec: DocumentType, document: models.Model) -> ReviewInstance | None:
    ct = ContentType.objects.get_for_model(spec.model)
    return ReviewInstance.objects.filter(doc_type=spec.code, content_type=ct, object_id=document.pk).first()


def _require_instance(spec: DocumentType, document: models.Model) -> ReviewInstance:
    inst = _instance_of(spec, document)
    if inst is None:
        raise NotFound("workflow.not_submitted", f"该{spec.name}尚未提交审核")
    return inst


def _check_expected_step(inst: ReviewInstance, step: int | None) -> None:
    if inst.status != Status.PENDING:
        raise Conflict("workflow.not_pending",
                       f"单据当前状态为“{inst.get_status_display()}”，不能再处理，请刷新后查看")
    if step is not None and step != inst.step_no:
        raise Conflict("workflow.step_changed",
                       f"单据已进入第 {inst.step_no} 个环节“{inst.step_name}”，您看到的环节已被处理，请刷新后重试")


def _transition(inst: ReviewInstance, *, expect_status: Sequence[str], **changes) -> ReviewInstance:
    """Conditional update on `version`: succeeds only if nobody changed the instance since it was read."""
    now = timezone.now()
    changes.setdefault("updated_at", now)
    changes["version"] = F("version") + 1
    updated = (ReviewInstance.objects
               .filter(pk=inst.pk, version=inst.version, status__in=list(expect_status))
               .update(**changes))
    if updated == 0:
        raise Conflict("workflow.conflict", "单据已被他人处理，请刷新后重试")
    # the row matched the version read, so it was exactly `inst`: apply the changes here too
    old = {name: getattr(inst, name) for name in ("version", "round", "submit_version")}
    for name, value in changes.items():
        if isinstance(value, CombinedExpression):
            value = _increment(value, old)
            if value is None:
                inst.refresh_from_db()
                return inst
        setattr(inst, name, value)
    return inst


def _increment(expr: CombinedExpression, old: dict):
    """The value of ``F(field) + n`` on the row before the update (None for any other expression)."""
    lhs, rhs = expr.lhs, expr.rhs
    if (expr.connector == "+" and isinstance(lhs, F) and lhs.name in old and isinstance(rhs, Value)
            and isinstance(rhs.value, int)):
        return old[lhs.name] + rhs.value
    return None


def _record(inst: ReviewInstance, *, kind: str, user, step_no: int, step_name: str, comment: str,
            before: dict | None) -> ReviewAction:
    try:
        with transaction.atomic():
            act = ReviewAction.objects.create(instance=inst, version=inst.version, round=inst.round,
                                              step_no=step_no, step_name=step_name, action=kind, actor=user,
                                              at=inst.updated_at, comment=comment)
    except IntegrityError:
        raise Conflict("workflow.conflict", "单据已被他人处理，请刷新后重试") from None
    audit.record(user, f"workflow.{kind}", inst, before=before, after=audit.snapshot(inst),
                 object_repr=f"{inst.doc_type}#{inst.object_id}")
    return act


def _notify(event: str, spec: DocumentType, inst: ReviewInstance, document: models.Model, user,
            action: ReviewAction) -> None:
    events.publish(event, {
        "doc_type": spec.code, "model": spec.label, "object_id": inst.object_id, "instance_id": inst.pk,
        "status": inst.status, "action": action.action, "step_no": action.step_no,
        "step_name": action.step_name, "round": inst.round, "actor_id": user.pk,
        "submitted_by_id": inst.submitted_by_id, "comment": action.comment,
    })
    if spec.callback is not None:
        spec.callback(event, document=document, instance=inst, user=user)


def submit(*, document: models.Model, user, comment: str = "", doc_type: str | None = None) -> ReviewInstance:
    """Start the review of `document` at step 1, or restart it after a return or withdrawal."""
    spec = registry.for_document(document, doc_type)
    comment = _clean_comment(comment)
    refusal = submit_refusal(user, spec, document.pk)
    if refusal:
        raise refusal
    with transaction.atomic():
        chain = _chain_for_submit(spec, user)
        steps = [{"name": s.name, "function": s.function} for s in chain.ordered_steps]
        first = steps[0]
        now = timezone.now()
        inst = _instance_of(spec, document)
        if inst is None:
            before = None
            try:
                with transaction.atomic():
                    inst = ReviewInstance.objects.create(
                        doc_type=spec.code, content_type=ContentType.objects.get_for_model(spec.model),
                        object_id=document.pk, status=Status.PENDING, steps=steps, step_no=1,
                        step_name=first["name"], step_function=first["function"],
                        forbid_self_review=chain.forbid_self_review, round=1, version=1, submit_version=1,
                        submitted_by=user, submitted_at=now, updated_at=now)
            except IntegrityError:
                raise Conflict("workflow.already_submitted", f"该{spec.name}已提交审核") from None
        else:
            if inst.status == Status.PENDING:
                raise Conflict("workflow.already_submitted", f"该{spec.name}已在审核中，不能重复提交")
            if inst.status in ReviewInstance.FINAL:
                raise Conflict("workflow.finished",
                               f"该{spec.name}审核已办结（{inst.get_status_display()}），不能再次提交")
            before = audit.snapshot(inst)
            inst = _transition(inst, expect_status=[Status.RETURNED, Status.WITHDRAWN], status=Status.PENDING,
                               steps=steps, step_no=1, step_name=first["name"], step_function=first["function"],
                               forbid_self_review=chain.forbid_self_review, round=F("round") + 1,
                               submit_version=F("version") + 1, submitted_by=user, submitted_at=now,
                               updated_at=now, finished_at=None)
        action = _record(inst, kind=Kind.SUBMIT, user=user, step_no=1, step_name=first["name"], comment=comment,
                         before=before)
        _notify(EVENT_SUBMITTED, spec, inst, document, user, action)
    return inst


def approve(*, document: models.Model, user, comment: str = "", step: int | None = None,
            doc_type: str | None = None) -> ReviewInstance:
    """Approve the current step: move to the next one, or complete the review after the last.

    `step` is the step the user saw; if the review has moved on, ``Conflict`` is raised."""
    spec = registry.for_document(document, doc_type)
    comment = _clean_comment(comment)
    with transaction.atomic():
        inst = _require_instance(spec, document)
        _check_expected_step(inst, step)
        refusal = actor_refusal(user, inst, spec)
        if refusal:
            raise refusal
        before = audit.snapshot(inst)
        step_no, step_name = inst.step_no, inst.step_name
        now = timezone.now()
        if step_no >= len(inst.steps):
            inst = _transition(inst, expect_status=[Status.PENDING], status=Status.APPROVED, finished_at=now,
                               updated_at=now)
            event = EVENT_COMPLETED
        else:
            nxt = inst.steps[step_no]
            inst = _transition(inst, expect_status=[Status.PENDING], step_no=step_no + 1, step_name=nxt["name"],
                               step_function=nxt["function"], updated_at=now)
            event = EVENT_APPROVED
        action = _record(inst, kind=Kind.APPROVE, user=user, step_no=step_no, step_name=step_name,
                         comment=comment, before=before)
        _notify(event, spec, inst, document, user, action)
    return inst


def _end_step(*, kind: str, status: str, event: str, what: str, document, user, reason: str,
              step: int | None, doc_type: str | None) -> ReviewInstance:
    spec = registry.for_document(document, doc_type)
    reason = _clean_comment(reason, field="reason", required=True, what=what)
    with transaction.atomic():
        inst = _require_instance(spec, document)
        _check_expected_step(inst, step)
        refusal = actor_refusal(user, inst, spec)
        if refusal:
            raise refusal
        before = audit.snapshot(inst)
        step_no, step_name = inst.step_no, inst.step_name
        now = timezone.now()
        inst = _transition(inst, expect_status=[Status.PENDING], status=status, updated_at=now,
                           finished_at=now if status in ReviewInstance.FINAL else None)
        action = _record(inst, kind=kind, user=user, step_no=step_no, step_name=step_name, comment=reason,
                         before=before)
        _notify(event, spec, inst, document, user, action)
    return inst


def return_(*, document: models.Model, user, reason: str, step: int | None = None,
            doc_type: str | None = None) -> ReviewInstance:
    """Send the document back to its submitter; it may be corrected and submitted again."""
    return _end_step(kind=Kind.RETURN, status=Status.RETURNED, event=EVENT_RETURNED, what="退回",
                     document=document, user=user, reason=reason, step=step, doc_type=doc_type)


def reject(*, document: models.Model, user, reason: str, step: int | None = None,
           doc_type: str | None = None) -> ReviewInstance:
    """End the review: the document is not approved and cannot be submitted again."""
    return _end_step(kind=Kind.REJECT, status=Status.REJECTED, event=EVENT_REJECTED, what="不予通过",
                     document=document, user=user, reason=reason, step=step, doc_type=doc_type)


def withdraw(*, document: models.Model, user, comment: str = "", doc_type: str | None = None) -> ReviewInstance:
    """The submitter takes the document back before any reviewer has acted on it."""
    spec = registry.for_document(document, doc_type)
    comment = _clean_comment(comment)
    with transaction.atomic():
        inst = _require_instance(spec, document)
        _check_expected_step(inst, None)
        if inst.submitted_by_id != getattr(user, "pk", None):
            raise PermissionDenied("workflow.not_submitter", "只有提交人可以撤回")
        if inst.version != inst.submit_version:
            raise Conflict("workflow.already_acted", "审核人已处理该单据，不能撤回")
        before = audit.snapshot(inst)
        step_no, step_name = inst.step_no, inst.step_name
        inst = _transition(inst, expect_status=[Status.PENDING], status=Status.WITHDRAWN)
        action = _record(inst, kind=Kind.WITHDRAW, user=user, step_no=step_no, step_name=step_name,
                         comment=comment, before=before)
        _notify(EVENT_WITHDRAWN, spec, inst, document, user, action)
    return inst


MAX_BATCH = 1000


@retry_on_conflict
def approve_many(*, items: Sequence[tuple[str, int]], user, comment: str = "") -> dict:
    """批量审核: approve the current step of many documents in one action and one transaction.

    `items` are (doc_type, object_id) pairs. Each document is approved exactly as ``approve`` does
    it (its own history row, audit record, event and callback); a document that cannot be approved
    (unknown, not pending, not a step the user may act on, ...) is left unchanged and listed in
    ``failed`` with its error, and the others are approved. A document type that registers
    ``approve_many`` approves its documents through it (one call per type). Returns
    ``{"approved": [{"doc_type", "object_id"}], "failed": [{"doc_type", "object_id", "code", "message"}]}``.
    """
    comment = _clean_comment(comment)
    try:
        pairs = list(dict.fromkeys((str(t), int(i)) for t, i in items))
    except (TypeError, ValueError):
        raise ValidationFailed("workflow.batch_items_invalid", "单据编号必须是整数", field="items") from None
    if not pairs:
        raise ValidationFailed("workflow.batch_empty", "请选择要审核的单据", field="items")
    if len(pairs) > MAX_BATCH:
        raise ValidationFailed("workflow.batch_too_large", f"一次最多审核 {MAX_BATCH} 张单据", field="items")
    by_type: dict[str, list[int]] = {}
    for t, i in pairs:
        by_type.setdefault(t, []).append(i)
    approved: set[tuple[str, int]] = set()
    failed: dict[tuple[str, int], dict] = {}

    def fail(t: str, i: int, exc: DomainError) -> None:
        failed[(t, i)] = {"doc_type": t, "object_id": i, "code": exc.code, "message": exc.message}

    for code, ids in sorted(by_type.items()):
        spec = registry.find(code)
        if spec is None:
            for i in ids:
                fail(code, i, NotFound("workflow.unknown_document_type", f"未登记的单据类型：{code}"))
            continue
        if spec.approve_many is not None:
            try:
                with transaction.atomic():
                    result = spec.approve_many(object_ids=ids, user=user, comment=comment)
            except DomainError as exc:
                for i in ids:
                    fail(code, i, exc)
                continue
            approved.update((code, int(i)) for i in result["approved"])
            for f in result["failed"]:
                i = int(f["object_id"])
                failed[(code, i)] = {"doc_type": code, "object_id": i, "code": f["code"], "message": f["message"]}
            continue
        for i in sorted(ids):
            try:
                with transaction.atomic():
                    document = spec.model._default_manager.filter(pk=i).first()
                    if document is None:
                        raise NotFound("workflow.document_not_found", f"{spec.name} #{i} 不存在")
                    if spec.prepare is not None:
                        spec.prepare(document)
                    approve(document=document, user=user, comment=comment, doc_type=code)
            except DomainError as exc:
                fail(code, i, exc)
            else:
                approved.add((code, i))
    return {"approved": [{"doc_type": t, "object_id": i} for t, i in pairs if (t, i) in approved],
            "failed": [failed[(t, i)] for t, i in pairs if (t, i) in failed]}


ACTIONS = {
    Kind.SUBMIT: submit,
    Kind.APPROVE: approve,
    Kind.RETURN: return_,
    Kind.REJECT: reject,
    Kind.WITHDRAW: withdraw,
}


@retry_on_conflict
def perform(action: str, *, document: models.Model, user, text: str = "", step: int | None = None,
            doc_type: str | None = None) -> ReviewInstance:
    """Dispatch one action by name (used by the views and the API), in one transaction retried on
    deadlocks. The document type's ``prepare`` hook runs first, so a module can take its row locks
    (e.g. the indicators a document moves) in a fixed order before the transition."""
    spec = registry.for_document(document, doc_type)
    if spec.prepare is not None:
        spec.prepare(document)
    if action in (Kind.RETURN, Kind.REJECT):
        return ACTIONS[action](document=document, user=user, reason=text, step=step, doc_type=doc_type)
    if action == Kind.APPROVE:
        return approve(document=document, user=user, comment=text, step=step, doc_type=doc_type)
    if action in ACTIONS:
        return ACTIONS[action](document=document, user=user, comment=text, doc_type=doc_type)
    raise ValidationFailed("workflow.unknown_action", f"未知的审核操作：{action}", field="action")
