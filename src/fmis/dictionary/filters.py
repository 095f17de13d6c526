"""Filter expressions of data-element views (数据项视图筛选条件).

A filter is JSON. A condition::

    {"field": "code", "op": "starts_with", "value": "201"}
    {"field": "level", "op": "between", "value": "1", "value2": "2"}
    {"field": "code", "op": "in", "value": "2010101,2010102"}

and conditions combine with::

    {"logic": "and", "items": [...]}   {"logic": "or", "items": [...]}   {"logic": "not", "item": {...}}

The eleven operators are the seed's: = <> > >= < <= 在…之间 (between) 在…之内 (in, comma list
without quotes) 匹配开始 (starts_with) 匹配结尾 (ends_with) 匹配所有 (contains). ``normalize``
validates a filter and returns its canonical form; ``compile_q`` turns it into a Django ``Q``
over ``Value``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fmis.platform.errors import ValidationFailed

MAX_DEPTH = 8
MAX_NODES = 200


@dataclass(frozen=True)
class FilterField:
    key: str
    label: str
    path: str
    kind: str  # str | int | bool | date


FIELDS: dict[str, FilterField] = {f.key: f for f in [
    FilterField("code", _("编码"), "code", "str"),
    FilterField("name", _("名称"), "name", "str"),
    FilterField("parent_code", _("上级编码"), "parent__code", "str"),
    FilterField("level", _("级次"), "level", "int"),
    FilterField("is_leaf", _("是否末级"), "is_leaf", "bool"),
    FilterField("status", _("状态"), "status", "str"),
    FilterField("valid_from", _("启用日期"), "valid_from", "date"),
    FilterField("valid_to", _("停用日期"), "valid_to", "date"),
    FilterField("note", _("备注"), "note", "str"),
    FilterField("is_preset", _("系统预设"), "is_preset", "bool"),
    FilterField("sort_order", _("排序号"), "sort_order", "int"),
]}

# canonical operator → (label, needs value2)
OPERATORS: dict[str, tuple[str, bool]] = {
    "eq": ("=", False),
    "ne": ("<>", False),
    "gt": (">", False),
    "ge": (">=", False),
    "lt": ("<", False),
    "le": ("<=", False),
    "between": (_("在…之间"), True),
    "in": (_("在…之内"), False),
    "starts_with": (_("匹配开始"), False),
    "ends_with": (_("匹配结尾"), False),
    "contains": (_("匹配所有"), False),
}
_ALIASES = {
    **{op: op for op in OPERATORS},
    "=": "eq", "==": "eq", "<>": "ne", "!=": "ne", ">": "gt", ">=": "ge", "<": "lt", "<=": "le",
    "between": "between", "在…之间": "between", "在...之间": "between",
    "in": "in", "在…之内": "in", "在...之内": "in",
    "starts_with": "starts_with", "like_start": "starts_with", "匹配开始": "starts_with",
    "ends_with": "ends_with", "like_end": "ends_with", "匹配结尾": "ends_with",
    "contains": "contains", "like": "contains", "匹配所有": "contains",
}
_STRING_ONLY = {"starts_with", "ends_with", "contains"}
_BOOL_OPS = {"eq", "ne", "in"}
_TRUE = {"1", "true", "是", "y", "yes", "t"}
_FALSE = {"0", "false", "否", "n", "no", "f"}


def operator_label(op: str) -> str:
    return str(OPERATORS.get(op, (op, False))[0])


def _fail(where: str, message: str) -> ValidationFailed:
    return ValidationFailed("dictionary.view.bad_filter", f"筛选条件{where}：{message}", field="filter")


def _convert(field: FilterField, raw: Any, where: str) -> Any:
    text = "" if raw is None else str(raw).strip()
    if field.kind == "str":
        return text
    if text == "":
        raise _fail(where, f"字段“{field.label}”需要输入值")
    if field.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise _fail(where, f"字段“{field.label}”的值 {text!r} 不是整数") from None
    if field.kind == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _fail(where, f"字段“{field.label}”的值 {text!r} 应为 是/否（1/0）")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _fail(where, f"字段“{field.label}”的值 {text!r} 不是日期（YYYY-MM-DD）") from None


def _normalize_condition(node: dict, where: str) -> dict:
    key = node.get("field")
    field = FIELDS.get(key) if isinstance(key, str) else None
    if field is None:
        raise _fail(where, f"字段 {key!r} 不存在，可用字段：{'、'.join(FIELDS)}")
    raw_op = node.get("op", node.get("operator"))
    op = _ALIASES.get(str(raw_op).strip().lower() if raw_op is not None else "")
    if op is None:
        raise _fail(where, f"操作符 {raw_op!r} 不支持，可用：{'、'.join(str(v[0]) for v in OPERATORS.values())}")
    if op in _STRING_ONLY and field.kind != "str":
        raise _fail(where, f"操作符“{operator_label(op)}”只能用于文字字段，不能用于“{field.label}”")
    if field.kind == "bool" and op not in _BOOL_OPS:
        raise _fail(where, f"字段“{field.label}”只能使用 =、<>、在…之内")
    value = node.get("value")
    out: dict[str, Any] = {"field": field.key, "op": op}
    if op == "in":
        items = value if isinstance(value, list) else str(value if value is not None else "").split(",")
        items = [str(v).strip() for v in items if str(v).strip() != ""]
        if not items:
            raise _fail(where, "“在…之内”需要至少一个值（用逗号分隔）")
        for v in items:
            _convert(field, v, where)
        out["value"] = items
        return out
    if isinstance(value, (list, dict)):
        raise _fail(where, "值必须是单个值")
    text = "" if value is None else str(value).strip()
    if op in _STRING_ONLY and text == "":
        raise _fail(where, f"“{operator_label(op)}”需要输入值")
    _convert(field, text, where)
    out["value"] = text
    if op == "between":
        value2 = node.get("value2")
        if value2 is None or str(value2).strip() == "":
            raise _fail(where, "“在…之间”需要输入第二个值")
        v1, v2 = _convert(field, text, where), _convert(field, value2, where)
        if v1 > v2:
            raise _fail(where, "“在…之间”的第一个值不能大于第二个值")
        out["value2"] = str(value2).strip()
    return out


def _normalize(node: Any, where: str, depth: int, count: list[int]) -> dict:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _fail("", f"条件过多（最多 {MAX_NODES} 个）")
    if depth > MAX_DEPTH:
        raise _fail(where, f"嵌套过深（最多 {MAX_DEPTH} 层）")
    if not isinstance(node, dict):
        raise _fail(where, "应为条件或条件组")
    if "logic" in node:
        logic = str(node["logic"]).strip().lower()
        if logic in ("and", "or"):
            items = node.get("items")
            if not isinstance(items, list) or not items:
                raise _fail(where, f"“{logic.upper()}”条件组至少需要一个条件")
            return {"logic": logic,
                    "items": [_normalize(it, f"{where}.{i + 1}" if where else f"{i + 1}", depth + 1, count)
                              for i, it in enumerate(items)]}
        if logic == "not":
            if "item" not in node:
                raise _fail(where, "“NOT”需要一个条件")
            return {"logic": "not", "item": _normalize(node["item"], f"{where}.1" if where else "1", depth + 1, count)}
        raise _fail(where, f"逻辑运算 {node['logic']!r} 不支持，可用：AND、OR、NOT")
    return _normalize_condition(node, where)


def normalize(expr: Any) -> dict | None:
    """Validate `expr` and return its canonical form; None or {} means "all values"."""
    if expr is None or expr == {} or expr == "":
        return None
    return _normalize(expr, "", 0, [0])


def _condition_q(node: dict) -> Q:
    field = FIELDS[node["field"]]
    op = node["op"]
    path = field.path
    if op == "in":
        return Q(**{f"{path}__in": [_convert(field, v, "") for v in node["value"]]})
    v = _convert(field, node["value"], "")
    if op == "eq":
        return Q(**{path: v})
    if op == "ne":
        return ~Q(**{path: v})
    if op in ("gt", "ge", "lt", "le"):
        lookup = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[op]
        return Q(**{f"{path}__{lookup}": v})
    if op == "between":
        return Q(**{f"{path}__range": (v, _convert(field, node["value2"], ""))})
    lookup = {"starts_with": "startswith", "ends_with": "endswith", "contains": "contains"}[op]
    return Q(**{f"{path}__{lookup}": v})


def _compile(node: dict) -> Q:
    logic = node.get("logic")
    if logic == "and":
        q = Q()
        for it in node["items"]:
            q &= _compile(it)
        return q
    if logic == "or":
        q = Q(pk__in=[])
        for it in node["items"]:
            q |= _compile(it)
        return q
    if logic == "not":
        return ~_compile(node["item"])
    return _condition_q(node)


def compile_q(expr: dict | None) -> Q:
    """A Q over ``Value`` for a (canonical or raw) filter; an empty filter selects everything."""
    canonical = normalize(expr)
    return Q() if canonical is None else _compile(canonical)


def describe(expr: dict | None) -> str:
    """A readable one-line rendering, e.g. ``编码 匹配开始 201 AND NOT (状态 = 9)``."""
    if not expr:
        return "（全部值）"

    def render(node: dict) -> str:
        logic = node.get("logic")
        if logic in ("and", "or"):
            parts = [render(it) for it in node["items"]]
            inner = f" {logic.upper()} ".join(parts)
            return f"({inner})" if len(parts) > 1 else inner
        if logic == "not":
            return f"NOT {render(node['item'])}"
        label = FIELDS[node["field"]].label
        value = ",".join(node["value"]) if isinstance(node["value"], list) else node["value"]
        if node["op"] == "between":
            return _("%(field)s 在 %(low)s 与 %(high)s 之间") % {"field": label, "low": value, "high": node["value2"]}
        return f"{label} {operator_label(node['op'])} {value}"

    return render(expr)
