"""Document types: what the review chains and attachments work on.

A module registers each kind of document it sends through review, once, when its app is ready::

    from fmis.platform.workflow.registry import register_document_type

    register_document_type(
        "treasury.payment_application", "支付申请", PaymentApplication,
        title=lambda doc: f"{doc.number} {doc.agency.name}",
        url=lambda doc: reverse("treasury:application", args=[doc.pk]),
        view_function="treasury.application.view",
        submit_function="treasury.application.submit",
        default_steps=[("处室审核", "treasury.application.review"), ("领导审批", "treasury.application.approve")],
        callback=on_review_event,
    )

Documents are referenced by content type and integer primary key. The review chain itself (its
steps) lives in the database and is edited by administrators; ``default_steps`` only seeds it the
first time a document of that type is submitted.

``callback(event, *, document, instance, user)`` runs inside the transaction of every review
transition (events ``workflow.submitted``, ``workflow.approved`` for an intermediate step,
``workflow.completed``, ``workflow.returned``, ``workflow.rejected``, ``workflow.withdrawn``);
raising a ``DomainError`` from it refuses the transition and nothing is written.

``approve_many(*, object_ids, user, comment) -> {"approved": [ids], "failed": [{"object_id" or the
type's own id key, "code", "message"}, ...]}`` optionally approves many documents of the type in
one go (批量审核, ``services.approve_many``), e.g. to send their consequences in one message;
without it each document is approved on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import models

from fmis.platform.errors import NotFound, ValidationFailed

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")

TitleFn = Callable[[models.Model], str]
UrlFn = Callable[[models.Model], str]
Callback = Callable[..., object]


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: str  # may be a lazy translation string
    model: type[models.Model]
    title: TitleFn
    url: UrlFn | None
    view_function: str
    submit_function: str | None = None
    callback: Callback | None = None
    default_steps: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    is_final: Callable[[models.Model], bool] | None = None
    prepare: Callable[[models.Model], None] | None = None
    approve_many: Callable[..., dict] | None = None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def title_of(self, document: models.Model | None, object_id: object = None) -> str:
        if document is None:
            return f"{self.name} #{object_id}（已删除）"
        return str(self.title(document))

    def url_of(self, document: models.Model | None, object_id: object = None) -> str:
        from django.urls import reverse

        if document is not None and self.url is not None:
            return str(self.url(document))
        return reverse("workflow:document", args=[self.code, document.pk if document is not None else object_id])


_types: dict[str, DocumentType] = {}


def register_document_type(code: str, name: str, model: type[models.Model], *, title: TitleFn = str,
                           url: UrlFn | None = None, view_function: str, submit_function: str | None = None,
                           callback: Callback | None = None, default_steps: Iterable[tuple[str, str]] = (),
                           is_final: Callable[[models.Model], bool] | None = None,
                           prepare: Callable[[models.Model], None] | None = None,
                           approve_many: Callable[..., dict] | None = None) -> DocumentType:
    """Register (or re-register) a document type. See the module docstring."""
    if not _CODE_RE.match(code or "") or len(code) > 60:
        raise ValueError(f"document type code must be dotted lower-case, at most 60 characters: {code!r}")
    pk = model._meta.pk
    if not isinstance(pk, (models.AutoField, models.BigAutoField, models.IntegerField, models.BigIntegerField,
                           models.SmallAutoField)):
        raise TypeError(f"document type {code}: {model._meta.label} needs an integer primary key")
    existing = _types.get(code)
    if existing is not None and existing.model is not model:
        raise ValueError(f"document type {code} is already registered for {existing.model._meta.label}")
    steps = tuple((str(n), str(f)) for n, f in default_steps)
    dt = DocumentType(code=code, name=name, model=model, title=title, url=url, view_function=view_function,
                      submit_function=submit_function, callback=callback, default_steps=steps, is_final=is_final,
                      prepare=prepare, approve_many=approve_many)
    _types[code] = dt
    return dt


def unregister_document_type(code: str) -> None:
    _types.pop(code, None)


def document_types() -> list[DocumentType]:
    return sorted(_types.values(), key=lambda d: d.code)


def get(code: str) -> DocumentType:
    dt = _types.get(code)
    if dt is None:
        raise NotFound("workflow.unknown_document_type", f"未登记的单据类型：{code}", field="doc_type")
    return dt


def find(code: str) -> DocumentType | None:
    return _types.get(code)


def for_document(document: models.Model, doc_type: str | None = None) -> DocumentType:
    """The document type of `document`: `doc_type` if given (it must fit the model), else the only
    type registered for the document's model."""
    model = type(document)._meta.concrete_model
    if doc_type:
        dt = get(doc_type)
        if dt.model._meta.concrete_model is not model:
            raise ValidationFailed("workflow.document_type_mismatch",
                                   f"单据类型 {doc_type} 不适用于 {model._meta.verbose_name}", field="doc_type")
        return dt
    matches = [d for d in _types.values() if d.model._meta.concrete_model is model]
    if not matches:
        raise NotFound("workflow.unknown_document_type",
                       f"{model._meta.verbose_name} 没有登记为审核单据类型", field="doc_type")
    if len(matches) > 1:
        names = "、".join(sorted(d.code for d in matches))
        raise ValidationFailed("workflow.document_type_ambiguous",
                               f"{model._meta.verbose_name} 登记了多个单据类型（{names}），请指明单据类型",
                               field="doc_type")
    return matches[0]
