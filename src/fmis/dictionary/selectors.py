"""Reads of the data dictionary.

Two kinds:
- what users see (lists, details, exports, API): ``*_for(user=...)``, always through
  ``restrict(user, function)``;
- lookups other modules' services use to validate and resolve codes: ``get_value``,
  ``validate_value``, ``values``, ``is_descendant``, ``value_as_of``. A view's code works
  wherever an element code is accepted: its values are the source element's values that pass
  the view's filter.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from fmis.dictionary import filters
from fmis.dictionary.functions import ELEMENT_VIEW, VIEW_VIEW
from fmis.dictionary.models import DataElement, Restructure, Status, Value, ValueLink, ValueVersion
from fmis.platform.errors import NotFound, ValidationFailed

# --------------------------------------------------------------------------- user-facing


def elements_for(*, user, q: str = "", status: str = "", element_only: bool = False) -> QuerySet[DataElement]:
    qs = DataElement.objects.restrict(user, ELEMENT_VIEW).filter(kind=DataElement.Kind.BASE)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(description__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if element_only:
        qs = qs.filter(is_element=True)
    return qs.select_related("category").order_by("code")


def element_for(*, user, code: str) -> DataElement:
    element = (DataElement.objects.restrict(user, ELEMENT_VIEW).filter(code=code, kind=DataElement.Kind.BASE)
               .select_related("category").first())
    if element is None:
        raise NotFound("dictionary.element.not_found", f"数据项 {code} 不存在", field="code")
    return element


def values_for(*, user, element: DataElement, q: str = "", status: str = "",
               ids: list[int] | None = None) -> QuerySet[Value]:
    qs = Value.objects.restrict(user, ELEMENT_VIEW).filter(element=element)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(code__startswith=q) | Q(name__icontains=q) | Q(note__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.select_related("parent").order_by("code")


def value_for(*, user, value_id: int) -> Value:
    value = (Value.objects.restrict(user, ELEMENT_VIEW).filter(pk=value_id)
             .select_related("element", "parent").first())
    if value is None:
        raise NotFound("dictionary.value.not_found", "数据项值不存在", field="value")
    return value


def versions_for(*, user, element: DataElement, value_id: int | None = None) -> QuerySet[ValueVersion]:
    qs = ValueVersion.objects.filter(element=element)
    if not _allowed(user, ELEMENT_VIEW):
        qs = qs.none()
    if value_id is not None:
        qs = qs.filter(value_id=value_id)
    return qs.select_related("value").order_by("-day", "-id")


def restructures_for(*, user, element: DataElement) -> QuerySet[Restructure]:
    qs = Restructure.objects.filter(element=element)
    if not _allowed(user, ELEMENT_VIEW):
        qs = qs.none()
    return qs.prefetch_related("links__source", "links__target").order_by("-created_at", "-id")


def links_of(*, user, value: Value) -> QuerySet[ValueLink]:
    qs = ValueLink.objects.filter(Q(source=value) | Q(target=value))
    if not _allowed(user, ELEMENT_VIEW):
        qs = qs.none()
    return qs.select_related("restructure", "source", "target").order_by("-restructure__created_at")


def views_for(*, user, q: str = "", source: DataElement | None = None) -> QuerySet[DataElement]:
    qs = DataElement.objects.restrict(user, VIEW_VIEW).filter(kind=DataElement.Kind.VIEW)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if source is not None:
        qs = qs.filter(source=source)
    return qs.select_related("source").order_by("code")


def view_for(*, user, code: str) -> DataElement:
    view = (DataElement.objects.restrict(user, VIEW_VIEW).filter(code=code, kind=DataElement.Kind.VIEW)
            .select_related("source").first())
    if view is None:
        raise NotFound("dictionary.view.not_found", f"数据项视图 {code} 不存在", field="code")
    return view


def view_values_for(*, user, view: DataElement, q: str = "") -> QuerySet[Value]:
    qs = Value.objects.restrict(user, VIEW_VIEW).filter(element_id=view.source_id).filter(
        filters.compile_q(view.filter))
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(code__startswith=q) | Q(name__icontains=q))
    return qs.select_related("parent").order_by("code")


def preview_view_values(*, user, source_code: str, expr: dict | None) -> QuerySet[Value]:
    """Values a filter would select from `source_code`, before the view is saved."""
    source = DataElement.objects.filter(code=source_code, kind=DataElement.Kind.BASE).first()
    if source is None:
        raise ValidationFailed("dictionary.view.bad_source", f"来源数据项 {source_code} 不存在", field="source")
    return (Value.objects.restrict(user, VIEW_VIEW).filter(element=source).filter(filters.compile_q(expr))
            .select_related("parent").order_by("code"))


def _allowed(user, function: str) -> bool:
    from fmis.iam.permissions import can

    return can(user, function)


# --------------------------------------------------------------------------- lookups for other modules


def resolve(element_code: str) -> tuple[DataElement, Q] | None:
    """(basic element, filter) for an element or view code; None when there is no such code-set item."""
    element = DataElement.objects.filter(code=element_code).select_related("source").first()
    if element is None:
        return None
    if element.is_view:
        return element, filters.compile_q(element.filter)
    if not element.is_code_set:
        return None
    return element, Q()


def values(element_code: str, *, active_only: bool = True) -> QuerySet[Value]:
    """The values of an element (or view), in code order; only 正常 ones unless active_only=False.

    With active_only, a disabled element or view has no values."""
    found = resolve(element_code)
    if found is None:
        return Value.objects.none()
    element, q = found
    base_id = element.source_id if element.is_view else element.pk
    qs = Value.objects.filter(element_id=base_id).filter(q)
    if active_only:
        if not element.is_active or (element.is_view and element.source.status != Status.NORMAL):
            return Value.objects.none()
        qs = qs.filter(status=Status.NORMAL)
    return qs.select_related("parent").order_by("code")


def get_value(element_code: str, code: str) -> Value | None:
    """The value `code` of an element (or view), whatever its status; None if there is none."""
    if not code:
        return None
    return values(element_code, active_only=False).filter(code=code).first()


def validate_value(*, element_code: str, code: str, field: str) -> Value:
    """The 正常 value `code` of `element_code`, or ValidationFailed naming `field`.

    Inside a transaction the value row is locked FOR KEY SHARE until commit, so it cannot be
    deleted while the caller stores a reference to it (``delete_value`` locks it FOR UPDATE and
    then asks the registered reference checkers)."""
    element = DataElement.objects.filter(code=element_code).select_related("source").first()
    if element is None:
        raise ValidationFailed("dictionary.unknown_element", f"数据项 {element_code} 不存在", field=field)
    label = element.name
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("dictionary.value_required", f"{label}不能为空", field=field)
    if not element.is_active:
        raise ValidationFailed("dictionary.element_disabled", f"数据项“{label}”已停用", field=field)
    value = get_value(element_code, code)
    if value is None:
        raise ValidationFailed("dictionary.value_missing", f"{label} {code} 不存在", field=field, value_code=code)
    if not value.is_active:
        raise ValidationFailed("dictionary.value_disabled", f"{label} {code}（{value.name}）已停用", field=field,
                               value_code=code)
    if transaction.get_connection().in_atomic_block:
        with connection.cursor() as cur:
            cur.execute(f"SELECT 1 FROM {Value._meta.db_table} WHERE id = %s FOR KEY SHARE", [value.pk])
            if cur.fetchone() is None:
                raise ValidationFailed("dictionary.value_missing", f"{label} {code} 不存在", field=field, value_code=code)
    return value


def is_descendant(element_code: str, code: str, ancestor: str, *, include_self: bool = False) -> bool:
    """Whether `code` lies below `ancestor` in the element's value tree (both must exist)."""
    if include_self and code == ancestor:
        return get_value(element_code, code) is not None
    found = resolve(element_code)
    if found is None or code == ancestor:
        return False
    element, q = found
    base_id = element.source_id if element.is_view else element.pk
    current = Value.objects.filter(element_id=base_id, code=code).filter(q).values("parent_id").first()
    if current is None or not Value.objects.filter(element_id=base_id, code=ancestor).filter(q).exists():
        return False
    parent_id = current["parent_id"]
    seen = 0
    while parent_id is not None and seen < 64:
        row = Value.objects.filter(pk=parent_id).values("code", "parent_id").first()
        if row is None:
            return False
        if row["code"] == ancestor:
            return True
        parent_id = row["parent_id"]
        seen += 1
    return False


def value_as_of(element_code: str, code: str, on: dt.date) -> dict | None:
    """The version-tracked fields of a value as they were at the end of day `on`.

    `code` is the current code. Starts from the current row and undoes, newest first, every
    version recorded after `on`."""
    from fmis.dictionary.services import VERSION_FIELDS, version_snapshot

    value = get_value(element_code, code)
    if value is None:
        return None
    state = version_snapshot(value, VERSION_FIELDS)
    for v in ValueVersion.objects.filter(value=value, day__gt=on).order_by("-day", "-id"):
        state.update(v.before)
    return state
