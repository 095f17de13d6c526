"""Every write of the data dictionary: elements, values, versions, merges/splits, views, imports.

Each public function is keyword-only, runs in one transaction, checks the user's function
permission (``user=None`` means the system itself, e.g. the preload at install time), validates
with errors that name the field or line, relies on database constraints and row locks for the
invariants, and writes the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fmis.dictionary import filters
from fmis.dictionary.functions import (
    ELEMENT_MANAGE,
    PRELOAD,
    VALUE_IMPORT,
    VALUE_MANAGE,
    VALUE_RESTRUCTURE,
    VERSION_MANAGE,
    VIEW_MANAGE,
)
from fmis.dictionary.models import (
    ELEMENT_CODE_REGEX,
    DataElement,
    Restructure,
    Status,
    Value,
    ValueLink,
    ValueVersion,
)
from fmis.platform import audit
from fmis.platform.codes import CodeScheme, validate_code_chars
from fmis.platform.errors import Conflict, DomainError, NotFound, ValidationFailed

CATEGORY_ELEMENT = "DICT_CATEGORY"
MAX_VALUE_NAME = 200
MAX_NOTE = 500

# Fields of a value that can trigger a version (数据项可选版本变更字段)
VERSION_FIELDS: dict[str, str] = {
    "code": _("编码"), "name": _("名称"), "parent_code": _("上级编码"), "status": _("状态"),
    "valid_from": _("启用日期"), "valid_to": _("停用日期"), "note": _("备注"), "sort_order": _("排序号"),
}


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _today() -> dt.date:
    return timezone.localdate()


def _actor(user) -> str:
    return (getattr(user, "username", "") or "system")[:150]


def _require(user, function: str) -> None:
    if user is None:
        return
    from fmis.iam.permissions import require

    require(user, function)


# --------------------------------------------------------------------------- references

ReferenceChecker = Callable[[str], "str | None"]
_value_checkers: dict[str, list[ReferenceChecker]] = defaultdict(list)
_element_checkers: list[ReferenceChecker] = []


def register_reference_checker(element_code: str, fn: ReferenceChecker) -> ReferenceChecker:
    """Let another module report references to values of `element_code`.

    ``fn(value_code)`` returns a short Chinese description of where the code is used (for example
    "指标 3 条") or ``None``/"" when it is not used. A referenced value cannot be deleted nor have
    its code changed. Register in ``AppConfig.ready()``. Returns `fn`.
    """
    if fn not in _value_checkers[element_code]:
        _value_checkers[element_code].append(fn)
    return fn


def unregister_reference_checker(element_code: str, fn: ReferenceChecker) -> None:
    if fn in _value_checkers.get(element_code, []):
        _value_checkers[element_code].remove(fn)


def register_element_reference_checker(fn: ReferenceChecker) -> ReferenceChecker:
    """Let another module report references to a data element by code (``fn(element_code)``)."""
    if fn not in _element_checkers:
        _element_checkers.append(fn)
    return fn


def unregister_element_reference_checker(fn: ReferenceChecker) -> None:
    if fn in _element_checkers:
        _element_checkers.remove(fn)


def _external_value_references(element_code: str, code: str) -> list[str]:
    out = []
    for fn in list(_value_checkers.get(element_code, ())):
        found = fn(code)
        if found:
            out.append(str(found))
    return out


def _external_element_references(element_code: str) -> list[str]:
    out = []
    for fn in _element_checkers.copy():
        found = fn(element_code)
        if found:
            out.append(str(found))
    return out


def _refuse_referenced(code: str, what: str, reasons: list[str]) -> Conflict:
    return Conflict("dictionary.referenced",
                    f"{what} {code} 已被引用（{'；'.join(reasons)}），不能删除；如不再使用，请将其状态设为“9-停用”",
                    references=reasons)


# --------------------------------------------------------------------------- parsing helpers

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")


def parse_date(text: Any, *, field: str, label: str = "日期") -> dt.date | None:
    """'' → None; ISO and common Chinese spreadsheet forms; a clear error naming `field` otherwise."""
    if text is None or isinstance(text, dt.date):
        return text
    s = str(text).strip()
    if not s:
        return None
    s = s.split("T")[0].split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValidationFailed("dictionary.bad_date", f"{label} {text!r} 不是有效日期（YYYY-MM-DD）", field=field)


# The English words are what the value export writes when the interface is in English.
_STATUS_WORDS = {"0": "0", "正常": "0", "0-正常": "0", "启用": "0", "9": "9", "停用": "9", "9-停用": "9",
                 "Normal": "0", "0-Normal": "0", "Disabled": "9", "9-Disabled": "9"}


def parse_status(text: Any, *, field: str = "status") -> str:
    s = str(text if text is not None else "").strip().replace(" ", "")
    if s in _STATUS_WORDS:
        return _STATUS_WORDS[s]
    raise ValidationFailed("dictionary.bad_status", f"状态 {text!r} 不正确，应为“0-正常”或“9-停用”", field=field)


def _check_dates(valid_from: dt.date | None, valid_to: dt.date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise ValidationFailed("dictionary.dates_reversed", "停用日期不能早于启用日期", field="valid_to")


def _integrity_to_error(exc: IntegrityError, *, code: str = "", name: str = "") -> DomainError:
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
    text = f"{constraint} {exc}"
    if "dict_value_element_code_uniq" in text:
        return ValidationFailed("dictionary.value.duplicate_code", f"编码 {code} 已存在于该数据项的值集中",
                                field="code")
    if "dict_version_value_day_uniq" in text:
        return Conflict("dictionary.version.conflict", "同一数据项值当天的版本正在被同时修改，请重试")
    if "dataelement" in text and "_code_" in text:
        return ValidationFailed("dictionary.element.duplicate_code", f"编码 {code} 已被其他数据项或数据项视图使用",
                                field="code")
    if "dataelement" in text and "_name_" in text:
        return ValidationFailed("dictionary.element.duplicate_name", f"名称“{name}”已被其他数据项或数据项视图使用",
                                field="name")
    return ValidationFailed("dictionary.integrity", f"数据不符合完整性约束：{constraint or exc}")


# --------------------------------------------------------------------------- elements

_ELEMENT_ATTRS = ("code", "name", "data_type", "length", "decimals", "code_format_type", "code_format",
                  "is_element", "status", "valid_from", "valid_to", "description", "maintained_in_dictionary",
                  "values_preset", "version_fields", "category_code")


def _clean_common(attrs: dict) -> None:
    code = str(attrs.get("code") or "").strip()
    if not code:
        raise ValidationFailed("dictionary.element.code_required", "编码不能为空", field="code")
    if len(code) > 30:
        raise ValidationFailed("dictionary.element.code_too_long", f"编码不能超过 30 个字符：{code}", field="code")
    if not re.match(ELEMENT_CODE_REGEX, code):
        raise ValidationFailed("dictionary.element.code_chars",
                               f"编码只能包含字母和数字（可用下划线分隔）：{code!r}", field="code")
    attrs["code"] = code
    name = str(attrs.get("name") or "").strip()
    if not name:
        raise ValidationFailed("dictionary.element.name_required", "名称不能为空", field="name")
    if len(name) > 50:
        raise ValidationFailed("dictionary.element.name_too_long", "名称不能超过 50 个字符", field="name")
    attrs["name"] = name
    status = str(attrs.get("status") or "0")
    attrs["status"] = parse_status(status, field="status")
    attrs["valid_from"] = parse_date(attrs.get("valid_from"), field="valid_from", label="启用日期")
    attrs["valid_to"] = parse_date(attrs.get("valid_to"), field="valid_to", label="停用日期")
    _check_dates(attrs["valid_from"], attrs["valid_to"])
    desc = str(attrs.get("description") or "")
    if len(desc) > 500:
        raise ValidationFailed("dictionary.element.description_too_long", "说明不能超过 500 个字符",
                               field="description")
    attrs["description"] = desc


def _int_or_none(v: Any, field: str, label: str) -> int | None:
    if v is None or v == "":
        return None
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise ValidationFailed("dictionary.element.not_integer", f"{label}必须是整数：{v!r}", field=field) from None
    if n < 0:
        raise ValidationFailed("dictionary.element.negative", f"{label}不能为负数", field=field)
    return n


def _clean_element(attrs: dict) -> None:
    _clean_common(attrs)
    dtype = str(attrs.get("data_type") or "V").strip().upper()
    if dtype not in DataElement.DataType.values:
        raise ValidationFailed("dictionary.element.bad_type", f"数据类型 {dtype!r} 不正确，应为 V、S、N、D、T 之一",
                               field="data_type")
    attrs["data_type"] = dtype
    length = _int_or_none(attrs.get("length"), "length", "数据长度")
    decimals = _int_or_none(attrs.get("decimals"), "decimals", "小数位数")
    if dtype in ("D", "T") and length is not None:
        raise ValidationFailed("dictionary.element.length_not_allowed", "日期型、时间型数据项不能设置数据长度",
                               field="length")
    if dtype in ("S", "N") and not length:
        raise ValidationFailed("dictionary.element.length_required", "字符型、数字型数据项必须设置数据长度",
                               field="length")
    if dtype == "N" and length is not None and length > 38:
        raise ValidationFailed("dictionary.element.length_too_big", "数字型数据长度不能超过 38", field="length")
    if dtype == "S" and length is not None and length > 4000:
        raise ValidationFailed("dictionary.element.length_too_big", "字符型数据长度不能超过 4000", field="length")
    if dtype == "V" and length is not None and not 1 <= length <= 30:
        raise ValidationFailed("dictionary.element.length_range", "代码集的数据长度（编码长度）应在 1～30 之间",
                               field="length")
    if decimals is not None and dtype != "N":
        raise ValidationFailed("dictionary.element.decimals_not_allowed", "只有数字型数据项可以设置小数位数",
                               field="decimals")
    if dtype == "N" and decimals is not None and length is not None and decimals >= length:
        raise ValidationFailed("dictionary.element.decimals_too_big", "小数位数必须小于数据长度", field="decimals")
    attrs["length"], attrs["decimals"] = length, decimals

    fmt_type = str(attrs.get("code_format_type") or "0").strip()[:1]
    if fmt_type not in DataElement.CodeFormatType.values:
        raise ValidationFailed("dictionary.element.bad_format_type", "编码格式类型应为 0-无编码格式、1-顺序码、2-层码",
                               field="code_format_type")
    if fmt_type != "0" and dtype != "V":
        raise ValidationFailed("dictionary.element.format_needs_code_set", "只有代码集（V）数据项可以设置编码格式类型",
                               field="code_format_type")
    fmt = str(attrs.get("code_format") or "").strip()
    if fmt_type == "2":
        if not fmt:
            raise ValidationFailed("dictionary.element.format_required", "编码格式类型为“2-层码”时必须设置编码格式，如 3-2-2",
                                   field="code_format")
        scheme = CodeScheme.parse(fmt)
        fmt = str(scheme)
        if scheme.max_length > 30:
            raise ValidationFailed("dictionary.element.format_too_long", f"编码格式 {fmt} 的总长度超过 30",
                                   field="code_format")
        if length is not None and length < scheme.max_length:
            raise ValidationFailed("dictionary.element.length_below_format",
                                   f"数据长度 {length} 小于编码格式 {fmt} 的最大长度 {scheme.max_length}", field="length")
    elif fmt:
        raise ValidationFailed("dictionary.element.format_not_allowed", "只有编码格式类型为“2-层码”时才设置编码格式",
                               field="code_format")
    attrs["code_format_type"], attrs["code_format"] = fmt_type, fmt

    attrs["is_element"] = bool(attrs.get("is_element"))
    if attrs["is_element"] and dtype != "V":
        raise ValidationFailed("dictionary.element.flag_needs_code_set", "只有数据类型为“V-代码集”的数据项才能设为要素",
                               field="is_element")
    attrs["maintained_in_dictionary"] = bool(attrs.get("maintained_in_dictionary", True)) and dtype == "V"
    attrs["values_preset"] = bool(attrs.get("values_preset"))
    if attrs["values_preset"] and dtype != "V":
        raise ValidationFailed("dictionary.element.preset_needs_code_set", "只有代码集数据项才有值集",
                               field="values_preset")
    fields = attrs.get("version_fields")
    attrs["version_fields"] = _clean_version_fields(fields if fields is not None else ["code", "name"])


def _clean_version_fields(fields: Iterable[str]) -> list[str]:
    out: list[str] = []
    for f in fields:
        f = str(f).strip()
        if not f:
            continue
        if f not in VERSION_FIELDS:
            raise ValidationFailed("dictionary.element.bad_version_field",
                                   f"版本变更字段 {f!r} 不存在，可选：{'、'.join(VERSION_FIELDS)}", field="version_fields")
        if f not in out:
            out.append(f)
    return out


def _category(code: str | None) -> Value | None:
    code = (code or "").strip()
    if not code:
        return None
    value = Value.objects.filter(element__code=CATEGORY_ELEMENT, code=code).first()
    if value is None or not value.is_active:
        raise ValidationFailed("dictionary.element.bad_category", f"数据项分类 {code} 不存在或已停用", field="category")
    return value


def _save(obj, **names) -> None:
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise _integrity_to_error(exc, **names) from None


def _lock_element(code: str, *, kind: str | None = None) -> DataElement:
    qs = DataElement.objects.select_for_update().filter(code=code)
    if kind:
        qs = qs.filter(kind=kind)
    element = qs.first()
    if element is None:
        what = "数据项视图" if kind == DataElement.Kind.VIEW else "数据项"
        raise NotFound("dictionary.element.not_found", f"{what} {code} 不存在", field="code")
    return element


def create_element(*, user, code: str, name: str, data_type: str = "V", length: int | None = None,
                   decimals: int | None = None, code_format_type: str = "0", code_format: str = "",
                   is_element: bool = False, status: str = "0", valid_from: dt.date | None = None,
                   valid_to: dt.date | None = None, description: str = "", maintained_in_dictionary: bool = True,
                   values_preset: bool = False, version_fields: Sequence[str] | None = None,
                   category_code: str = "") -> DataElement:
    """Create a basic data item (基础数据项)."""
    _require(user, ELEMENT_MANAGE)
    attrs = {"code": code, "name": name, "data_type": data_type, "length": length, "decimals": decimals,
             "code_format_type": code_format_type, "code_format": code_format, "is_element": is_element,
             "status": status, "valid_from": valid_from, "valid_to": valid_to, "description": description,
             "maintained_in_dictionary": maintained_in_dictionary, "values_preset": values_preset,
             "version_fields": version_fields}
    _clean_element(attrs)
    with transaction.atomic():
        element = DataElement(kind=DataElement.Kind.BASE, category=_category(category_code), **attrs)
        _save(element, code=attrs["code"], name=attrs["name"])
        audit.record(user, "dictionary.element.create", element)
    return element


def update_element(*, user, code: str, **changes: Any) -> DataElement:
    """Change a basic data item. Preset items are view-only; the value-set shape (type, code format)
    cannot change once values exist; a referenced item keeps its code."""
    _require(user, ELEMENT_MANAGE)
    unknown = set(changes) - set(_ELEMENT_ATTRS)
    if unknown:
        raise ValidationFailed("dictionary.element.unknown_field", f"未知字段：{'、'.join(sorted(unknown))}",
                               field=min(unknown))
    with transaction.atomic():
        element = _lock_element(code, kind=DataElement.Kind.BASE)
        if element.is_preset:
            raise Conflict("dictionary.element.preset", f"数据项 {element.code} 为系统预设，只能查看，不能修改")
        before = audit.snapshot(element)
        attrs = {k: getattr(element, k) for k in _ELEMENT_ATTRS if k != "category_code"}
        attrs["category_code"] = element.category.code if element.category_id else ""
        attrs.update(changes)
        _clean_element(attrs)
        has_values = element.values.exists()
        if has_values:
            for f, label in (("data_type", "数据类型"), ("code_format_type", "编码格式类型"), ("code_format", "编码格式")):
                if attrs[f] != getattr(element, f):
                    raise Conflict("dictionary.element.shape_locked",
                                   f"数据项 {element.code} 已有值集数据，不能修改{label}", field=f)
            if attrs["length"] is not None and element.values.annotate(code_len=Length("code")).filter(
                    code_len__gt=attrs["length"]).exists():
                raise Conflict("dictionary.element.length_below_values",
                               f"已有编码长度超过 {attrs['length']} 的值，不能缩短数据长度", field="length")
        if attrs["code"] != element.code:
            reasons = _external_element_references(element.code)
            if element.views.exists():
                reasons.append("数据项视图 " + "、".join(element.views.values_list("code", flat=True)))
            if reasons:
                raise Conflict("dictionary.element.code_referenced",
                               f"数据项 {element.code} 已被引用（{'；'.join(reasons)}），不能修改编码", field="code")
        if attrs["is_element"] is False and element.is_element and element.views.filter(is_element=True).exists():
            raise Conflict("dictionary.element.views_are_elements",
                           "该数据项的视图被设为要素，请先取消视图的要素标志", field="is_element")
        if attrs["status"] == Status.DISABLED and element.views.filter(status=Status.NORMAL).exists():
            raise Conflict("dictionary.element.active_views",
                           "该数据项有正常状态的数据项视图，请先停用视图", field="status")
        element.category = _category(attrs.pop("category_code"))
        for k, v in attrs.items():
            setattr(element, k, v)
        _save(element, code=attrs["code"], name=attrs["name"])
        audit.record(user, "dictionary.element.update", element, before=before)
    return element


def set_version_fields(*, user, element_code: str, fields: Sequence[str]) -> DataElement:
    """Choose which value fields record a version (版本变更字段). Old versions are kept."""
    _require(user, VERSION_MANAGE)
    cleaned = _clean_version_fields(fields)
    with transaction.atomic():
        element = _lock_element(element_code, kind=DataElement.Kind.BASE)
        if not (element.is_code_set and element.maintained_in_dictionary and element.is_active):
            raise Conflict("dictionary.version.not_eligible",
                           "只有具有值集、值集由数据字典维护且状态正常的数据项才能设置版本变更字段", field="version_fields")
        before = audit.snapshot(element)
        element.version_fields = cleaned
        element.save(update_fields=["version_fields", "updated_at"])
        audit.record(user, "dictionary.element.version_fields", element, before=before)
    return element


def delete_element(*, user, code: str) -> None:
    """Delete a basic item nothing references; otherwise refuse and suggest 停用."""
    _require(user, ELEMENT_MANAGE)
    with transaction.atomic():
        element = _lock_element(code, kind=DataElement.Kind.BASE)
        if element.is_preset:
            raise Conflict("dictionary.element.preset", f"数据项 {element.code} 为系统预设，只能查看，不能删除")
        reasons = []
        n = element.values.count()
        if n:
            reasons.append(f"值集中有 {n} 个值")
        views = list(element.views.values_list("code", flat=True))
        if views:
            reasons.append("数据项视图 " + "、".join(views))
        if element.value_versions.exists() or element.restructures.exists():
            reasons.append("历史版本或合并拆分记录")
        reasons += _external_element_references(element.code)
        if reasons:
            raise _refuse_referenced(element.code, "数据项", reasons)
        before = audit.snapshot(element)
        audit.record(user, "dictionary.element.delete", element, before=before, after={})
        element.delete()


# --------------------------------------------------------------------------- values

def _value_element(code: str, *, for_update: bool = True) -> DataElement:
    """The basic code-set element whose values the dictionary maintains (locked for the transaction)."""
    qs = DataElement.objects.filter(code=code)
    if for_update:
        qs = qs.select_for_update()
    element = qs.first()
    if element is None:
        raise NotFound("dictionary.element.not_found", f"数据项 {code} 不存在", field="element")
    if element.is_view:
        raise Conflict("dictionary.value.view_readonly", f"{code} 是数据项视图，值集只能在其来源数据项中维护",
                       field="element")
    if not element.is_code_set:
        raise Conflict("dictionary.value.not_code_set", f"数据项 {code} 不是代码集，没有值集", field="element")
    if not element.maintained_in_dictionary:
        raise Conflict("dictionary.value.not_maintained", f"数据项 {code} 的值集不在数据字典中维护", field="element")
    return element


def _check_values_writable(element: DataElement) -> None:
    if element.values_preset:
        raise Conflict("dictionary.value.set_preset", f"数据项 {element.code} 的值集全部为系统预设，不能修改")


def _check_value_code(element: DataElement, code: str, *, field: str = "code") -> tuple[str, int, str | None]:
    """Validate a code against the element's code format; return (code, level, derived parent code)."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("dictionary.value.code_required", "编码不能为空", field=field)
    max_len = element.length or 30
    validate_code_chars(code, field=field, max_length=max_len)
    if element.is_hierarchical:
        scheme = element.scheme
        try:
            level = scheme.level(code)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.code, exc.message, field=field) from None
        return code, level, scheme.parent(code)
    if element.code_format_type == DataElement.CodeFormatType.SEQUENTIAL and not code.isdigit():
        raise ValidationFailed("dictionary.value.sequential_digits", f"顺序码只能由数字组成：{code}", field=field)
    return code, 1, None


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("dictionary.value.name_required", "名称不能为空", field="name")
    if len(name) > MAX_VALUE_NAME:
        raise ValidationFailed("dictionary.value.name_too_long", f"名称不能超过 {MAX_VALUE_NAME} 个字符", field="name")
    return name


def _check_note(note: str) -> str:
    note = note or ""
    if len(note) > MAX_NOTE:
        raise ValidationFailed("dictionary.value.note_too_long", f"备注不能超过 {MAX_NOTE} 个字符", field="note")
    return note


def _resolve_parent(element: DataElement, parent_code: str | None, given: str, *, status: str) -> Value | None:
    """The parent row for a new or moved value (locked), checking it against the code scheme."""
    given = (given or "").strip()
    if element.is_hierarchical:
        if given and given != parent_code:
            raise ValidationFailed("dictionary.value.parent_mismatch",
                                   f"上级编码 {given} 与编码格式推出的上级 {parent_code or '（无）'} 不一致", field="parent_code")
    elif given:
        raise ValidationFailed("dictionary.value.flat_no_parent", f"数据项 {element.code} 不是层码，不能指定上级编码",
                               field="parent_code")
    if not parent_code:
        return None
    parent = Value.objects.select_for_update().filter(element=element, code=parent_code).first()
    if parent is None:
        raise ValidationFailed("dictionary.value.parent_missing", f"上级编码 {parent_code} 不存在，请先增加上级值",
                               field="parent_code")
    if status == Status.NORMAL and not parent.is_active:
        raise ValidationFailed("dictionary.value.parent_disabled", f"上级编码 {parent_code} 已停用", field="parent_code")
    return parent


def _create_value(element: DataElement, *, code: str, name: str, parent_code: str = "", status: str = "0",
                  valid_from=None, valid_to=None, note: str = "", sort_order: int = 0, is_preset: bool = False,
                  user=None) -> Value:
    code, level, derived_parent = _check_value_code(element, code)
    name = _check_name(name)
    status = parse_status(status)
    valid_from = parse_date(valid_from, field="valid_from", label="启用日期")
    valid_to = parse_date(valid_to, field="valid_to", label="停用日期")
    _check_dates(valid_from, valid_to)
    note = _check_note(note)
    parent = _resolve_parent(element, derived_parent, parent_code, status=status)
    value = Value(element=element, code=code, name=name, parent=parent, level=level, status=status,
                  valid_from=valid_from, valid_to=valid_to, note=note, sort_order=int(sort_order or 0),
                  is_preset=is_preset, is_leaf=True)
    _save(value, code=code)
    if parent is not None and parent.is_leaf:
        Value.objects.filter(pk=parent.pk).update(is_leaf=False)
    audit.record(user, "dictionary.value.create", value)
    return value


def add_value(*, user, element_code: str, code: str, name: str, parent_code: str = "", status: str = "0",
              valid_from: dt.date | None = None, valid_to: dt.date | None = None, note: str = "",
              sort_order: int = 0) -> Value:
    """Add a value. For a hierarchical element the parent follows from the code and must exist."""
    _require(user, VALUE_MANAGE)
    with transaction.atomic():
        element = _value_element(element_code)
        _check_values_writable(element)
        if not element.is_active:
            raise Conflict("dictionary.value.element_disabled", f"数据项 {element.code} 已停用，不能增加值")
        return _create_value(element, code=code, name=name, parent_code=parent_code, status=status,
                             valid_from=valid_from, valid_to=valid_to, note=note, sort_order=sort_order, user=user)


def version_snapshot(value: Value, fields: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f == "parent_code":
            out[f] = value.parent.code if value.parent_id else ""
        elif f in ("valid_from", "valid_to"):
            d = getattr(value, f)
            out[f] = d.isoformat() if d else None
        else:
            out[f] = getattr(value, f)
    return out


def _record_version(element: DataElement, value: Value, before: dict, after: dict, user) -> ValueVersion | None:
    """Upsert the day's increment for `value`; one row per (value, day) keeps the day's first 'before'
    and last 'after'. A day whose changes cancel out leaves no row."""
    if not (element.is_code_set and element.maintained_in_dictionary and element.is_active):
        return None
    keys = [k for k in element.version_fields if k in before and before.get(k) != after.get(k)]
    if not keys:
        return None
    b = {k: before[k] for k in keys}
    a = {k: after[k] for k in keys}
    day = _today()
    table = ValueVersion._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO {table} (element_id, value_id, day, before, after, changed_at, changed_by)
                VALUES (%s, %s, %s, %s::jsonb, %s::jsonb, %s, %s)
                ON CONFLICT (value_id, day) DO UPDATE SET
                    before = EXCLUDED.before || {table}.before,
                    after = {table}.after || EXCLUDED.after,
                    changed_at = EXCLUDED.changed_at,
                    changed_by = EXCLUDED.changed_by
                RETURNING id""",
            [element.pk, value.pk, day, json.dumps(b, ensure_ascii=False), json.dumps(a, ensure_ascii=False),
             timezone.now(), _actor(user)])
        version_id = cur.fetchone()[0]
        cur.execute(f"DELETE FROM {table} WHERE id = %s AND before = after", [version_id])
        if cur.rowcount:
            return None
    return ValueVersion.objects.get(pk=version_id)


def _lock_value(value_id: int) -> Value:
    value = Value.objects.select_for_update(of=("self",)).select_related("element", "parent").filter(pk=value_id).first()
    if value is None:
        raise NotFound("dictionary.value.not_found", "数据项值不存在", field="value")
    return value


def _apply_value_changes(value: Value, *, user, code=UNSET, name=UNSET, status=UNSET, valid_from=UNSET,
                         valid_to=UNSET, note=UNSET, sort_order=UNSET, allow_preset: bool = False) -> Value:
    """Validate and apply changes to a locked value; record the version and the audit entry."""
    element = value.element
    if value.is_preset and not allow_preset:
        raise Conflict("dictionary.value.preset", f"数据项值 {value.code} 为系统预设，不能修改或删除")
    before_row = audit.snapshot(value)
    before_version = version_snapshot(value, VERSION_FIELDS)
    old_parent_id = value.parent_id
    if name is not UNSET:
        value.name = _check_name(name)
    if note is not UNSET:
        value.note = _check_note(note)
    if sort_order is not UNSET:
        try:
            value.sort_order = int(sort_order or 0)
        except (TypeError, ValueError):
            raise ValidationFailed("dictionary.value.bad_sort", "排序号必须是整数", field="sort_order") from None
    if valid_from is not UNSET:
        value.valid_from = parse_date(valid_from, field="valid_from", label="启用日期")
    if valid_to is not UNSET:
        value.valid_to = parse_date(valid_to, field="valid_to", label="停用日期")
    _check_dates(value.valid_from, value.valid_to)
    if status is not UNSET:
        new_status = parse_status(status)
        if new_status != value.status:
            if new_status == Status.DISABLED and value.children.filter(status=Status.NORMAL).exists():
                raise Conflict("dictionary.value.active_children",
                               f"数据项值 {value.code} 还有正常状态的下级值，请先停用下级", field="status")
            if new_status == Status.NORMAL and value.parent_id and not value.parent.is_active:
                raise Conflict("dictionary.value.parent_disabled",
                               f"上级 {value.parent.code} 已停用，请先启用上级", field="status")
            value.status = new_status
    if code is not UNSET and (code or "").strip() != value.code:
        new_code, level, derived_parent = _check_value_code(element, code)
        if value.children.exists():
            raise Conflict("dictionary.value.code_has_children", f"数据项值 {value.code} 有下级值，不能修改编码",
                           field="code")
        reasons = _external_value_references(element.code, value.code)
        if reasons:
            raise Conflict("dictionary.value.code_referenced",
                           f"数据项值 {value.code} 已被引用（{'；'.join(reasons)}），不能修改编码", field="code")
        parent = _resolve_parent(element, derived_parent, "", status=value.status)
        if parent is not None and parent.pk == value.pk:
            raise ValidationFailed("dictionary.value.own_parent", "数据项值不能是自己的上级", field="code")
        value.code, value.level, value.parent = new_code, level, parent
    _save(value, code=value.code)
    if value.parent_id != old_parent_id:
        if value.parent_id:
            Value.objects.filter(pk=value.parent_id, is_leaf=True).update(is_leaf=False)
        if old_parent_id:
            _refresh_leaf(old_parent_id)
    after_version = version_snapshot(value, VERSION_FIELDS)
    if after_version != before_version:
        _record_version(element, value, before_version, after_version, user)
        audit.record(user, "dictionary.value.update", value, before=before_row)
    return value


def _refresh_leaf(value_id: int) -> None:
    """Mark a value as leaf when it has no children left (one conditional update)."""
    Value.objects.filter(pk=value_id).exclude(Exists(Value.objects.filter(parent_id=OuterRef("pk")))).update(
        is_leaf=True)


def update_value(*, user, value_id: int, code: str = UNSET, name: str = UNSET, status: str = UNSET,
                 valid_from: dt.date | None = UNSET, valid_to: dt.date | None = UNSET, note: str = UNSET,
                 sort_order: int = UNSET) -> Value:
    """Change a value; changes to the element's version-change fields record a version."""
    _require(user, VALUE_MANAGE)
    with transaction.atomic():
        value = _lock_value(value_id)
        element = _value_element(value.element.code, for_update=False)
        _check_values_writable(element)
        value.element = element
        return _apply_value_changes(value, user=user, code=code, name=name, status=status, valid_from=valid_from,
                                    valid_to=valid_to, note=note, sort_order=sort_order)


def set_value_status(*, user, value_id: int, status: str) -> Value:
    """Enable (0-正常) or disable (9-停用) a value."""
    return update_value(user=user, value_id=value_id, status=status)


def value_references(value: Value) -> list[str]:
    """Why a value cannot be deleted: children, versions, merge/split links, categories, other modules."""
    reasons = []
    n = value.children.count()
    if n:
        reasons.append(f"有 {n} 个下级值")
    n = value.versions.count()
    if n:
        reasons.append(f"有 {n} 条历史版本")
    if value.links_out.exists() or value.links_in.exists():
        reasons.append("有合并/拆分关联关系")
    cats = list(value.categorized_elements.values_list("code", flat=True)[:5])
    if cats:
        reasons.append("是数据项 " + "、".join(cats) + " 的分类")
    reasons += _external_value_references(value.element.code, value.code)
    return reasons


def delete_value(*, user, value_id: int) -> None:
    """Delete a value nothing references; otherwise refuse with the references and suggest 停用."""
    _require(user, VALUE_MANAGE)
    with transaction.atomic():
        value = _lock_value(value_id)
        element = _value_element(value.element.code, for_update=False)
        _check_values_writable(element)
        if value.is_preset:
            raise Conflict("dictionary.value.preset", f"数据项值 {value.code} 为系统预设，不能修改或删除")
        reasons = value_references(value)
        if reasons:
            raise _refuse_referenced(value.code, "数据项值", reasons)
        parent_id = value.parent_id
        audit.record(user, "dictionary.value.delete", value, before=audit.snapshot(value), after={})
        value.delete()
        if parent_id:
            _refresh_leaf(parent_id)


def delete_version(*, user, version_id: int) -> None:
    """Delete one historical version row (版本记录不需要保留时)."""
    _require(user, VERSION_MANAGE)
    with transaction.atomic():
        version = ValueVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise NotFound("dictionary.version.not_found", "历史版本不存在", field="version")
        audit.record(user, "dictionary.version.delete", version, before=audit.snapshot(version), after={})
        version.delete()


# --------------------------------------------------------------------------- merge and split

def _restructure_element(element_code: str) -> DataElement:
    element = _value_element(element_code)
    _check_values_writable(element)
    if not element.is_active:
        raise Conflict("dictionary.restructure.element_disabled", f"数据项 {element.code} 已停用，不能合并或拆分")
    return element


def _lock_sources(element: DataElement, codes: Sequence[str]) -> list[Value]:
    rows = {v.code: v for v in Value.objects.select_for_update(of=("self",)).select_related("parent")
            .filter(element=element, code__in=list(codes)).order_by("pk")}
    out = []
    for c in codes:
        v = rows.get(c)
        if v is None:
            raise ValidationFailed("dictionary.restructure.source_missing", f"被合并（拆分）的值 {c} 不存在",
                                   field="sources")
        if not v.is_active:
            raise ValidationFailed("dictionary.restructure.source_disabled", f"值 {c} 已停用，不能合并或拆分",
                                   field="sources")
        if v.is_preset:
            raise ValidationFailed("dictionary.restructure.source_preset", f"值 {c} 为系统预设，不能合并或拆分",
                                   field="sources")
        if v.children.filter(status=Status.NORMAL).exists():
            raise ValidationFailed("dictionary.restructure.source_has_children",
                                   f"值 {c} 有正常状态的下级值，只能合并或拆分末级值", field="sources")
        v.element = element
        out.append(v)
    return out


def _disable_sources(sources: list[Value], user) -> None:
    for v in sources:
        _apply_value_changes(v, user=user, status=Status.DISABLED)


def merge_values(*, user, element_code: str, source_codes: Sequence[str], target_code: str, target_name: str,
                 note: str = "") -> Restructure:
    """Merge ≥2 values into one new value: sources become 停用, links record source → target."""
    _require(user, VALUE_RESTRUCTURE)
    codes = [c.strip() for c in source_codes if c and c.strip()]
    if len(set(codes)) != len(codes):
        raise ValidationFailed("dictionary.restructure.duplicate_sources", "被合并的值有重复", field="sources")
    if len(codes) < 2:
        raise ValidationFailed("dictionary.restructure.merge_needs_two", "合并至少需要两个被合并的值", field="sources")
    with transaction.atomic():
        element = _restructure_element(element_code)
        sources = _lock_sources(element, codes)
        target = _create_value(element, code=target_code, name=target_name, user=user)
        _disable_sources(sources, user)
        op = Restructure.objects.create(element=element, kind=Restructure.Kind.MERGE, note=_check_note(note),
                                        created_by=_actor(user))
        ValueLink.objects.bulk_create([ValueLink(restructure=op, source=s, target=target) for s in sources])
        audit.record(user, "dictionary.value.merge", op,
                     after={"element": element.code, "sources": codes, "target": target.code, "note": op.note})
    return op


def split_value(*, user, element_code: str, source_code: str, targets: Sequence[tuple[str, str]],
                note: str = "") -> Restructure:
    """Split one value into ≥2 new values given as (code, name): the source becomes 停用."""
    _require(user, VALUE_RESTRUCTURE)
    pairs = [((c or "").strip(), (n or "").strip()) for c, n in targets if (c or "").strip() or (n or "").strip()]
    if len(pairs) < 2:
        raise ValidationFailed("dictionary.restructure.split_needs_two", "拆分至少需要两个拆分后的值", field="targets")
    target_codes = [c for c, __ in pairs]
    if len(set(target_codes)) != len(target_codes):
        raise ValidationFailed("dictionary.restructure.duplicate_targets", "拆分后的编码有重复", field="targets")
    with transaction.atomic():
        element = _restructure_element(element_code)
        (source,) = _lock_sources(element, [(source_code or "").strip()])
        new_values = []
        for i, (c, n) in enumerate(pairs, start=1):
            try:
                new_values.append(_create_value(element, code=c, name=n, user=user))
            except ValidationFailed as exc:
                raise ValidationFailed(exc.code, f"拆分后第 {i} 个值：{exc.message}", field="targets") from None
        _disable_sources([source], user)
        op = Restructure.objects.create(element=element, kind=Restructure.Kind.SPLIT, note=_check_note(note),
                                        created_by=_actor(user))
        ValueLink.objects.bulk_create([ValueLink(restructure=op, source=source, target=t) for t in new_values])
        audit.record(user, "dictionary.value.split", op,
                     after={"element": element.code, "source": source.code, "targets": target_codes, "note": op.note})
    return op


# --------------------------------------------------------------------------- views

_VIEW_ATTRS = ("code", "name", "source_code", "is_element", "status", "valid_from", "valid_to", "description",
               "filter")


def _clean_view(attrs: dict) -> DataElement:
    _clean_common(attrs)
    source_code = str(attrs.get("source_code") or "").strip()
    if not source_code:
        raise ValidationFailed("dictionary.view.source_required", "来源数据项不能为空", field="source")
    source = DataElement.objects.filter(code=source_code).first()
    if source is None or source.is_view or not source.is_code_set:
        raise ValidationFailed("dictionary.view.bad_source", f"来源数据项 {source_code} 不存在或不是具有值集的基础数据项",
                               field="source")
    if not source.is_active:
        raise ValidationFailed("dictionary.view.source_disabled", f"来源数据项 {source_code} 已停用", field="source")
    attrs["is_element"] = bool(attrs.get("is_element"))
    if attrs["is_element"] and not source.is_element:
        raise ValidationFailed("dictionary.view.flag_needs_element_source",
                               f"来源数据项 {source_code} 不是要素，数据项视图不能设为要素", field="is_element")
    attrs["filter"] = filters.normalize(attrs.get("filter"))
    return source


def create_view(*, user, code: str, name: str, source_code: str, is_element: bool = False, status: str = "0",
                valid_from: dt.date | None = None, valid_to: dt.date | None = None, description: str = "",
                filter: dict | None = None) -> DataElement:
    """Create a data-element view (数据项视图) over an enabled value-set basic item."""
    _require(user, VIEW_MANAGE)
    attrs = {"code": code, "name": name, "source_code": source_code, "is_element": is_element, "status": status,
             "valid_from": valid_from, "valid_to": valid_to, "description": description, "filter": filter}
    with transaction.atomic():
        source = _clean_view(attrs)
        DataElement.objects.select_for_update().filter(pk=source.pk).first()
        attrs.pop("source_code")
        view = DataElement(kind=DataElement.Kind.VIEW, source=source, data_type="V", maintained_in_dictionary=False,
                           version_fields=[], **attrs)
        _save(view, code=attrs["code"], name=attrs["name"])
        audit.record(user, "dictionary.view.create", view)
    return view


def update_view(*, user, code: str, **changes: Any) -> DataElement:
    _require(user, VIEW_MANAGE)
    unknown = set(changes) - set(_VIEW_ATTRS)
    if unknown:
        raise ValidationFailed("dictionary.view.unknown_field", f"未知字段：{'、'.join(sorted(unknown))}",
                               field=min(unknown))
    with transaction.atomic():
        view = _lock_element(code, kind=DataElement.Kind.VIEW)
        if view.is_preset:
            raise Conflict("dictionary.view.preset", f"数据项视图 {view.code} 为系统预设，只能查看，不能修改")
        before = audit.snapshot(view)
        attrs = {k: getattr(view, k) for k in _VIEW_ATTRS if k != "source_code"}
        attrs["source_code"] = view.source.code
        attrs.update(changes)
        source = _clean_view(attrs)
        if attrs["code"] != view.code:
            reasons = _external_element_references(view.code)
            if reasons:
                raise Conflict("dictionary.element.code_referenced",
                               f"数据项视图 {view.code} 已被引用（{'；'.join(reasons)}），不能修改编码", field="code")
        attrs.pop("source_code")
        view.source = source
        for k, v in attrs.items():
            setattr(view, k, v)
        _save(view, code=attrs["code"], name=attrs["name"])
        audit.record(user, "dictionary.view.update", view, before=before)
    return view


def delete_view(*, user, code: str) -> None:
    _require(user, VIEW_MANAGE)
    with transaction.atomic():
        view = _lock_element(code, kind=DataElement.Kind.VIEW)
        if view.is_preset:
            raise Conflict("dictionary.view.preset", f"数据项视图 {view.code} 为系统预设，只能查看，不能删除")
        reasons = _external_element_references(view.code)
        if reasons:
            raise _refuse_referenced(view.code, "数据项视图", reasons)
        audit.record(user, "dictionary.view.delete", view, before=audit.snapshot(view), after={})
        view.delete()


# --------------------------------------------------------------------------- import

IMPORT_COLUMNS: dict[str, str] = {
    "编码": "code", "名称": "name", "上级编码": "parent_code", "状态": "status",
    "启用日期": "valid_from", "停用日期": "valid_to", "备注": "note",
    "code": "code", "name": "name", "parent_code": "parent_code", "status": "status",
    "valid_from": "valid_from", "valid_to": "valid_to", "note": "note",
}
IMPORT_HEADERS = ["编码", "名称", "上级编码", "状态", "启用日期", "停用日期", "备注"]
_FIELD_LABELS = {"code": "编码", "name": "名称", "parent_code": "上级编码", "status": "状态",
                 "valid_from": "启用日期", "valid_to": "停用日期", "note": "备注", "file": "文件"}


def import_values(*, user, element_code: str, file) -> dict[str, int]:
    """Import a value set from xlsx (编码, 名称, 上级编码, 状态, 启用日期, 停用日期, 备注).

    All or nothing: every line is checked first and all line errors are reported in one
    ``ValidationFailed``; nothing is written unless the whole file is valid. Idempotent: values are
    matched by code and only differences are written, so the same file twice changes nothing.
    Returns counts {"created", "updated", "unchanged"}.
    """
    from fmis.platform.xlsx import read_rows

    _require(user, VALUE_IMPORT)
    rows = list(read_rows(file, IMPORT_COLUMNS, required=("code", "name")))
    if not rows:
        raise ValidationFailed("dictionary.import.no_rows", "文件中没有数据行", field="file")
    with transaction.atomic():
        element = _value_element(element_code)
        _check_values_writable(element)
        if not element.is_active:
            raise Conflict("dictionary.import.element_disabled", f"数据项 {element.code} 已停用，不能导入")
        existing = {v.code: v for v in Value.objects.select_for_update().filter(element=element)}
        by_id = {v.pk: v for v in existing.values()}
        errors: list[dict] = []
        parsed: dict[str, dict] = {}
        first_line: dict[str, int] = {}  # every well-formed code in the file → its first line

        def err(line: int, field: str, message: str) -> None:
            errors.append({"line": line, "field": _FIELD_LABELS.get(field, field), "message": message})

        for line, row in rows:
            item: dict[str, Any] = {"line": line}
            ok = True
            try:
                code, level, derived = _check_value_code(element, row.get("code", ""))
                item.update(code=code, level=level, parent=derived)
            except ValidationFailed as exc:
                err(line, "code", exc.message)
                ok = False
            for key, fn in (("name", lambda v: _check_name(v)),
                            ("note", lambda v: _check_note(v)),
                            ("valid_from", lambda v: parse_date(v, field="valid_from", label="启用日期")),
                            ("valid_to", lambda v: parse_date(v, field="valid_to", label="停用日期"))):
                try:
                    item[key] = fn(row.get(key, ""))
                except ValidationFailed as exc:
                    err(line, key, exc.message)
                    ok = False
            raw_status = (row.get("status") or "").strip()
            try:
                item["status"] = parse_status(raw_status) if raw_status else None
            except ValidationFailed as exc:
                err(line, "status", exc.message)
                ok = False
            if ok and item["valid_from"] and item["valid_to"] and item["valid_to"] < item["valid_from"]:
                err(line, "valid_to", "停用日期不能早于启用日期")
                ok = False
            given_parent = (row.get("parent_code") or "").strip()
            if ok and element.is_hierarchical and given_parent and given_parent != item["parent"]:
                err(line, "parent_code",
                    f"上级编码 {given_parent} 与编码 {item['code']} 按编码格式 {element.code_format} 推出的上级 "
                    f"{item['parent'] or '（无）'} 不一致")
                ok = False
            if ok and not element.is_hierarchical and given_parent:
                err(line, "parent_code", f"数据项 {element.code} 不是层码，上级编码应为空")
                ok = False
            if "code" in item:
                if item["code"] in first_line:
                    err(line, "code", f"编码 {item['code']} 与第 {first_line[item['code']]} 行重复")
                    ok = False
                else:
                    first_line[item["code"]] = line
            if ok:
                parsed[item["code"]] = item

        # final statuses after the import, for parent/child status consistency
        def final_status(code: str) -> str | None:
            if code in parsed:
                st = parsed[code]["status"]
                if st is not None:
                    return st
            if code in existing:
                return existing[code].status
            return Status.NORMAL if code in parsed else None

        children_by_parent: dict[str, list[str]] = defaultdict(list)
        for v in existing.values():
            if v.parent_id and v.parent_id in by_id:
                children_by_parent[by_id[v.parent_id].code].append(v.code)
        for code, item in parsed.items():
            if item["parent"]:
                children_by_parent[item["parent"]].append(code)

        for code, item in parsed.items():
            line = item["line"]
            current = existing.get(code)
            status = final_status(code)
            parent = item["parent"]
            if parent:
                if parent in first_line and parent not in parsed:
                    continue  # the parent's own line already has an error
                pst = final_status(parent)
                if pst is None:
                    err(line, "parent_code", f"上级编码 {parent} 不存在（数据库和文件中都没有）")
                    continue
                if status == Status.NORMAL and pst == Status.DISABLED:
                    err(line, "status", f"上级编码 {parent} 为停用状态，下级不能为正常")
                    continue
            if status == Status.DISABLED:
                active_kids = sorted({c for c in children_by_parent.get(code, []) if final_status(c) == Status.NORMAL})
                if active_kids:
                    err(line, "status", f"还有正常状态的下级值（{'、'.join(active_kids[:5])}），不能停用")
                    continue
            if current is not None and current.is_preset and _import_differs(current, item):
                err(line, "code", f"数据项值 {code} 为系统预设，不能修改")

        if errors:
            errors.sort(key=lambda e: e["line"])
            raise ValidationFailed("dictionary.import.invalid",
                                   f"导入失败：共 {len(errors)} 处错误，未导入任何数据。", errors=errors)

        created = updated = unchanged = 0
        ordered = sorted(parsed.values(), key=lambda it: (it["level"], it["line"]))
        # disabling runs last and bottom-up, so that children are disabled before their parents
        disabling = [it for it in ordered if it["code"] in existing and it["status"] == Status.DISABLED
                     and existing[it["code"]].status == Status.NORMAL]
        disabling_codes = {it["code"] for it in disabling}
        for item in [it for it in ordered if it["code"] not in disabling_codes] + disabling[::-1]:
            code = item["code"]
            current = existing.get(code)
            if current is None:
                value = _create_value(element, code=code, name=item["name"], parent_code="",
                                      status=item["status"] or Status.NORMAL, valid_from=item["valid_from"],
                                      valid_to=item["valid_to"], note=item["note"], user=user)
                existing[code] = value
                created += 1
            elif _import_differs(current, item):
                current.element = element
                _apply_value_changes(current, user=user, name=item["name"],
                                     status=item["status"] if item["status"] is not None else UNSET,
                                     valid_from=item["valid_from"], valid_to=item["valid_to"], note=item["note"])
                updated += 1
            else:
                unchanged += 1
        if created or updated:
            audit.record(user, "dictionary.value.import", element, before=None,
                         after={"element": element.code, "created": created, "updated": updated,
                                "unchanged": unchanged})
    return {"created": created, "updated": updated, "unchanged": unchanged}


def _import_differs(current: Value, item: dict) -> bool:
    if current.name != item["name"] or current.note != item["note"]:
        return True
    if current.valid_from != item["valid_from"] or current.valid_to != item["valid_to"]:
        return True
    return item["status"] is not None and item["status"] != current.status


# --------------------------------------------------------------------------- preload

def preload_standard(*, user=None) -> dict[str, int]:
    """Load the standard data elements and value sets (idempotent).

    Creates the preset elements that are missing and the standard values that are missing;
    existing rows are left as they are (a user may have disabled a standard value). Returns
    counts: elements_created, values_created, values_existing.
    """
    from fmis.dictionary import standard_data

    _require(user, PRELOAD)
    counts = {"elements_created": 0, "values_created": 0, "values_existing": 0}
    with transaction.atomic():
        # the category element first: the others point to its values
        specs = sorted(standard_data.ELEMENTS, key=lambda s: s["code"] != CATEGORY_ELEMENT)
        for spec in specs:
            attrs = {k: v for k, v in spec.items() if k not in ("values", "category")}
            _clean_element(attrs)
            element = DataElement.objects.select_for_update().filter(code=attrs["code"]).first()
            if element is None:
                element = DataElement(kind=DataElement.Kind.BASE, is_preset=True, **attrs)
                if spec.get("category"):
                    element.category = Value.objects.filter(element__code=CATEGORY_ELEMENT,
                                                            code=spec["category"]).first()
                _save(element, code=attrs["code"], name=attrs["name"])
                counts["elements_created"] += 1
            elif element.category_id is None and spec.get("category"):
                cat = Value.objects.filter(element__code=CATEGORY_ELEMENT, code=spec["category"]).first()
                if cat is not None:
                    DataElement.objects.filter(pk=element.pk, category__isnull=True).update(category=cat)
            made, kept = _preload_values(element, spec["values"])
            counts["values_created"] += made
            counts["values_existing"] += kept
        if counts["elements_created"] or counts["values_created"]:
            audit.record(user, "dictionary.preload", None, object_type="dictionary.dataelement",
                         object_repr="标准数据项与值集", after=dict(counts))
    return counts


def _preload_values(element: DataElement, rows: Sequence[tuple]) -> tuple[int, int]:
    """Insert missing standard values level by level with ON CONFLICT DO NOTHING semantics."""
    scheme = element.scheme
    items = []
    for order, row in enumerate(rows):
        code, name = row[0], row[1]
        note = row[2] if len(row) > 2 else ""
        level = scheme.level(code) if scheme else 1
        parent = scheme.parent(code) if scheme else None
        items.append((level, order, code, name, note, parent))
    codes = {it[2] for it in items}
    missing_parents = {it[5] for it in items if it[5] and it[5] not in codes}
    if missing_parents:
        raise ValueError(f"standard data for {element.code}: parents missing {sorted(missing_parents)}")
    existing_before = set(Value.objects.filter(element=element, code__in=codes).values_list("code", flat=True))
    by_level: dict[int, list] = defaultdict(list)
    for it in items:
        by_level[it[0]].append(it)
    ids: dict[str, int] = {}
    for level in sorted(by_level):
        batch = by_level[level]
        parents_needed = {it[5] for it in batch if it[5]}
        if parents_needed:
            ids.update(dict(Value.objects.filter(element=element, code__in=parents_needed)
                            .values_list("code", "pk")))
        new = [Value(element=element, code=code, name=name, note=note, level=lvl, sort_order=order,
                     parent_id=ids.get(parent) if parent else None, is_preset=True, is_leaf=True)
               for (lvl, order, code, name, note, parent) in batch if code not in existing_before]
        Value.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    Value.objects.filter(element=element, is_leaf=True).filter(
        Exists(Value.objects.filter(parent_id=OuterRef("pk")))).update(is_leaf=False)
    made = len(codes - existing_before)
    return made, len(existing_before)
