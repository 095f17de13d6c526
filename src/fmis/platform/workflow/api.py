"""Review API: the inbox, a document's review state and history, and review actions."""


from datetime import datetime

from django.core.paginator import Paginator
from ninja import Router, Schema

from fmis.iam.api_auth import requires
from fmis.platform.workflow import selectors, services
from fmis.platform.workflow.models import ReviewInstance

router = Router(tags=["workflow"])

MAX_PAGE_SIZE = 200


class PendingItemOut(Schema):
    instance_id: int
    doc_type: str
    type_name: str
    object_id: int
    title: str
    url: str
    step_no: int
    steps_total: int
    step_name: str
    submitted_by: str
    submitted_at: datetime


class PendingPageOut(Schema):
    count: int
    page: int
    page_size: int
    items: list[PendingItemOut]


class DoneItemOut(Schema):
    instance_id: int
    doc_type: str
    type_name: str
    object_id: int
    title: str
    url: str
    action: str
    action_name: str
    at: datetime
    status: str


class DonePageOut(Schema):
    count: int
    page: int
    page_size: int
    items: list[DoneItemOut]


class HistoryItemOut(Schema):
    version: int
    round: int
    step_no: int
    step_name: str
    action: str
    action_name: str
    actor: str
    actor_name: str
    at: datetime
    comment: str


class ReviewOut(Schema):
    doc_type: str
    object_id: int
    title: str
    status: str
    status_label: str
    step_no: int | None
    step_name: str
    steps: list[str]
    round: int
    submitted_at: datetime | None
    finished_at: datetime | None
    actions: list[str]
    history: list[HistoryItemOut]


class ActionIn(Schema):
    comment: str = ""
    reason: str = ""
    step: int | None = None


def _page(qs, page: int, page_size: int):
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    paginator = Paginator(qs, size)
    p = paginator.get_page(page)
    return paginator.count, p.number, size, list(p.object_list)


def _pending_item(i: ReviewInstance) -> dict:
    return {"instance_id": i.pk, "doc_type": i.doc_type, "type_name": i.type_name, "object_id": i.object_id,
            "title": i.title, "url": i.url, "step_no": i.step_no, "steps_total": i.steps_total,
            "step_name": i.step_name, "submitted_by": i.submitted_by.username, "submitted_at": i.submitted_at}


def _done_item(i: ReviewInstance) -> dict:
    return {"instance_id": i.pk, "doc_type": i.doc_type, "type_name": i.type_name, "object_id": i.object_id,
            "title": i.title, "url": i.url, "action": i.done_action, "action_name": i.action_name, "at": i.at,
            "status": i.status}


def _review(user, spec, doc) -> dict:
    st = selectors.state(doc, spec.code)
    return {
        "doc_type": spec.code, "object_id": doc.pk, "title": spec.title_of(doc), "status": st.status,
        "status_label": st.status_label, "step_no": st.step_no, "step_name": st.step_name,
        "steps": list(st.steps), "round": st.round, "submitted_at": st.submitted_at,
        "finished_at": st.finished_at, "actions": [str(a) for a in selectors.available_actions(doc, user, spec.code)],
        "history": [{"version": h.version, "round": h.round, "step_no": h.step_no, "step_name": h.step_name,
                     "action": h.action, "action_name": str(h.get_action_display()), "actor": h.actor.username,
                     "actor_name": h.actor.name, "at": h.at, "comment": h.comment}
                    for h in selectors.history(doc, spec.code)],
    }


@router.get("/inbox", response=PendingPageOut)
@requires("workflow.inbox")
def inbox(request, page: int = 1, page_size: int = 50, doc_type: str | None = None):
    """Reviews whose current step the caller may act on now."""
    count, number, size, items = _page(selectors.inbox_pending(user=request.user, doc_type=doc_type),
                                       page, page_size)
    return {"count": count, "page": number, "page_size": size, "items": [_pending_item(i) for i in items]}


@router.get("/done", response=DonePageOut)
@requires("workflow.inbox")
def done(request, page: int = 1, page_size: int = 50, doc_type: str | None = None):
    """Reviews the caller has acted on, with their latest action."""
    count, number, size, items = _page(selectors.inbox_done(user=request.user, doc_type=doc_type), page, page_size)
    return {"count": count, "page": number, "page_size": size, "items": [_done_item(i) for i in items]}


@router.get("/documents/{doc_type}/{object_id}", response=ReviewOut)
@requires("workflow.inbox")
def review(request, doc_type: str, object_id: int):
    """A document's review state, full history and the actions the caller may take."""
    spec, doc = selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)
    return _review(request.user, spec, doc)


def _act(request, action: str, doc_type: str, object_id: int, body: ActionIn) -> dict:
    spec, doc = selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)
    text = body.reason if action in ("return", "reject") else body.comment
    services.perform(action, document=doc, user=request.user, text=text, step=body.step, doc_type=spec.code)
    return _review(request.user, spec, doc)


@router.post("/documents/{doc_type}/{object_id}/submit", response=ReviewOut)
@requires("workflow.inbox")
def submit(request, doc_type: str, object_id: int, body: ActionIn):
    return _act(request, "submit", doc_type, object_id, body)


@router.post("/documents/{doc_type}/{object_id}/approve", response=ReviewOut)
@requires("workflow.inbox")
def approve(request, doc_type: str, object_id: int, body: ActionIn):
    return _act(request, "approve", doc_type, object_id, body)


@router.post("/documents/{doc_type}/{object_id}/return", response=ReviewOut)
@requires("workflow.inbox")
def return_(request, doc_type: str, object_id: int, body: ActionIn):
    return _act(request, "return", doc_type, object_id, body)


@router.post("/documents/{doc_type}/{object_id}/reject", response=ReviewOut)
@requires("workflow.inbox")
def reject(request, doc_type: str, object_id: int, body: ActionIn):
    return _act(request, "reject", doc_type, object_id, body)


@router.post("/documents/{doc_type}/{object_id}/withdraw", response=ReviewOut)
@requires("workflow.inbox")
def withdraw(request, doc_type: str, object_id: int, body: ActionIn):
    return _act(request, "withdraw", doc_type, object_id, body)


class BatchItemIn(Schema):
    doc_type: str
    object_id: int


class BatchApproveIn(Schema):
    items: list[BatchItemIn]
    comment: str = ""


class BatchItemOut(Schema):
    doc_type: str
    object_id: int


class BatchFailedOut(Schema):
    doc_type: str
    object_id: int
    code: str
    message: str


class BatchApproveOut(Schema):
    approved: list[BatchItemOut]
    failed: list[BatchFailedOut]


@router.post("/approve-batch", response=BatchApproveOut)
@requires("workflow.inbox")
def approve_batch(request, body: BatchApproveIn):
    """批量审核: approve the current step of many documents; refused ones are listed with the reason."""
    return services.approve_many(items=[(i.doc_type, i.object_id) for i in body.items], user=request.user,
                                 comment=body.comment)
