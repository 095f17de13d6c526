"""The bank message interface (docs/bank-interface.md): JSON Schemas and their validation.

The schemas below are the ones published in the document. ``validate(kind, message)`` checks a
message against its schema and raises ``ValidationFailed`` naming the first offending field as a
JSON path (``entries[2].amount``), with every problem listed in ``errors``. The checker covers the
schema keywords these schemas use: type, required, properties, additionalProperties, items, enum,
const, pattern, minLength, maxLength, minItems, maxItems.
"""

from __future__ import annotations

import re
from typing import Any

from fmis.platform.errors import ValidationFailed

VERSION = "1.0"
AMOUNT = {"type": "string", "pattern": r"^(0|[1-9][0-9]{0,17})\.[0-9]{2}$",
          "description": "元，两位小数，如 \"1234.50\""}
POSITIVE_AMOUNT = {"type": "string", "pattern": r"^(0\.(0[1-9]|[1-9][0-9])|[1-9][0-9]{0,17}\.[0-9]{2})$",
                   "description": "大于零的金额，元，两位小数"}
CODE = {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,40}$"}
SERIAL = {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$", "description": "银行流水号，同一银行内唯一"}
ACCOUNT = {"type": "string", "pattern": r"^[0-9]{8,32}$"}
DATE = {"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"}
DATETIME = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"}
TEXT = {"type": "string", "maxLength": 300}

VOUCHER_SCHEMA: dict[str, Any] = {
    "$id": "urn:fmis:bank:voucher:1.0",
    "title": "支付凭证报文（财政 → 代理银行）",
    "type": "object",
    "additionalProperties": False,
    "required": ["message_type", "version", "voucher_no", "bank_code", "fiscal_year", "region_code",
                 "agency_code", "agency_name", "pay_mode", "settle_mode", "payer", "payee", "amount", "purpose",
                 "classification", "issued_at", "signature"],
    "properties": {
        "message_type": {"const": "voucher"},
        "version": {"const": VERSION},
        "voucher_no": CODE,
        "bank_code": CODE,
        "fiscal_year": {"type": "integer"},
        "region_code": CODE,
        "agency_code": CODE,
        "agency_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "pay_mode": {"enum": ["direct", "authorized"]},
        "settle_mode": CODE,
        "payer": {"type": "object", "additionalProperties": False, "required": ["account_no", "account_name"],
                  "properties": {"account_no": ACCOUNT, "account_name": {"type": "string", "minLength": 1}}},
        "payee": {"type": "object", "additionalProperties": False, "required": ["name", "account_no", "bank"],
                  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                                 "account_no": ACCOUNT, "bank": {"type": "string", "minLength": 1, "maxLength": 200}}},
        "amount": POSITIVE_AMOUNT,
        "purpose": TEXT,
        "classification": {"type": "object", "additionalProperties": False,
                           "required": ["func_code", "gov_eco_code", "dept_eco_code", "fund_type"],
                           "properties": {"func_code": CODE, "gov_eco_code": CODE, "dept_eco_code": CODE,
                                          "fund_type": CODE}},
        "issued_at": DATETIME,
        "signature": {"type": "object", "additionalProperties": False, "required": ["suite", "public_key", "value"],
                      "properties": {"suite": {"enum": ["sm2", "ed25519"]},
                                     "public_key": {"type": "string", "pattern": "^[0-9a-f]+$"},
                                     "value": {"type": "string", "pattern": "^[0-9a-f]+$"}}},
    },
}

RECEIPT_SCHEMA: dict[str, Any] = {
    "$id": "urn:fmis:bank:receipt:1.0",
    "title": "支付回单报文（代理银行 → 财政）",
    "type": "object",
    "additionalProperties": False,
    "required": ["message_type", "version", "bank_code", "serial_no", "voucher_no", "result", "amount", "value_date"],
    "properties": {
        "message_type": {"const": "receipt"},
        "version": {"const": VERSION},
        "bank_code": CODE,
        "serial_no": SERIAL,
        "voucher_no": CODE,
        "result": {"enum": ["success", "failed"]},
        "amount": AMOUNT,
        "value_date": DATE,
        "reason": TEXT,
    },
}

REFUND_SCHEMA: dict[str, Any] = {
    "$id": "urn:fmis:bank:refund:1.0",
    "title": "退款报文（代理银行 → 财政）",
    "type": "object",
    "additionalProperties": False,
    "required": ["message_type", "version", "bank_code", "serial_no", "voucher_no", "amount", "value_date", "reason"],
    "properties": {
        "message_type": {"const": "refund"},
        "version": {"const": VERSION},
        "bank_code": CODE,
        "serial_no": SERIAL,
        "voucher_no": CODE,
        "amount": POSITIVE_AMOUNT,
        "value_date": DATE,
        "reason": {"type": "string", "minLength": 1, "maxLength": 300},
    },
}

STATEMENT_SCHEMA: dict[str, Any] = {
    "$id": "urn:fmis:bank:statement:1.0",
    "title": "日终对账单报文（代理银行 → 财政）",
    "type": "object",
    "additionalProperties": False,
    "required": ["message_type", "version", "bank_code", "date", "entries"],
    "properties": {
        "message_type": {"const": "statement"},
        "version": {"const": VERSION},
        "bank_code": CODE,
        "date": DATE,
        "entries": {"type": "array", "maxItems": 100000, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["serial_no", "voucher_no", "kind", "amount"],
            "properties": {"serial_no": SERIAL, "voucher_no": CODE, "kind": {"enum": ["pay", "refund"]},
                           "amount": POSITIVE_AMOUNT}}},
    },
}

# Batches (批量): many vouchers to one bank in one message, many receipts back in one message.
# Each voucher inside a batch is the complete, individually signed voucher message; each receipt
# entry is a receipt message without the envelope fields (message_type, version, bank_code).
MAX_BATCH = 1000

VOUCHER_BATCH_SCHEMA: dict[str, Any] = {
    "$id": "urn:fmis:bank:voucher_batch:1.0",
    "title": "支付凭证批量报文（财政 → 代理银行）",
    "type": "object",
    "additionalProperties": False,
    "required": ["message_type", "version", "batch_no", "bank_code", "count", "vouchers"],
    "properties": {
        "message_type": {"const": "voucher_batch"},
        "version": {"const": VERSION},
        "batch_no": CODE,
        "bank_code": CODE,
        "count": {"type": "integer"},
        "vouchers": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": VOUCHER_SCHEMA},
    },
}

RECEIPT_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["serial_no", "voucher_no", "result", "amount", "value_date"],
    "properties": {k: v for k, v in RECEIPT_SCHEMA["properties"].items()
                   if k not in ("message_type", "version", "bank_code")},
}

RECEIPT_BATCH_SCHEMA: dict[str, Any] = {
    "$id": "urn:fmis:bank:receipt_batch:1.0",
    "title": "支付回单批量报文（代理银行 → 财政）",
    "type": "object",
    "additionalProperties": False,
    "required": ["message_type", "version", "bank_code", "batch_no", "receipts"],
    "properties": {
        "message_type": {"const": "receipt_batch"},
        "version": {"const": VERSION},
        "bank_code": CODE,
        "batch_no": SERIAL,
        "receipts": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": RECEIPT_ENTRY_SCHEMA},
    },
}

BATCH_SCHEMAS = {"voucher_batch": VOUCHER_BATCH_SCHEMA, "receipt_batch": RECEIPT_BATCH_SCHEMA}
# every message of the interface, as published in docs/bank-interface.md
SCHEMAS = {"voucher": VOUCHER_SCHEMA, "receipt": RECEIPT_SCHEMA, "refund": REFUND_SCHEMA,
           "statement": STATEMENT_SCHEMA, **BATCH_SCHEMAS}
_ALL_SCHEMAS = SCHEMAS

_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
_TYPE_NAMES = {"object": "对象", "array": "数组", "string": "字符串", "integer": "整数", "boolean": "布尔值"}


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _check(schema: dict, value: Any, path: str, errors: list[dict]) -> None:
    field = path or "(message)"
    if "const" in schema and value != schema["const"]:
        errors.append({"field": field, "message": f"字段 {field} 必须为 {schema['const']!r}"})
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append({"field": field, "message": f"字段 {field} 必须是 {'、'.join(map(str, schema['enum']))} 之一"})
        return
    kind = schema.get("type")
    if kind:
        ok = isinstance(value, _TYPES[kind]) and not (kind == "integer" and isinstance(value, bool))
        if not ok:
            errors.append({"field": field, "message": f"字段 {field} 应为{_TYPE_NAMES[kind]}"})
            return
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append({"field": field, "message": f"字段 {field} 不能为空" if schema["minLength"] == 1
                           else f"字段 {field} 长度不能少于 {schema['minLength']}"})
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append({"field": field, "message": f"字段 {field} 长度不能超过 {schema['maxLength']}"})
        if "pattern" in schema and not re.search(schema["pattern"], value):
            desc = schema.get("description", "")
            errors.append({"field": field, "message": f"字段 {field} 格式不正确：{value[:60]!r}"
                           + (f"（{desc}）" if desc else "")})
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append({"field": _path(path, name), "message": f"缺少字段 {_path(path, name)}"})
        for name, item in value.items():
            if name in props:
                _check(props[name], item, _path(path, name), errors)
            elif schema.get("additionalProperties") is False:
                errors.append({"field": _path(path, str(name)), "message": f"不认识的字段 {_path(path, str(name))}"})
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append({"field": field, "message": f"字段 {field} 至少需要 {schema['minItems']} 项"})
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append({"field": field, "message": f"字段 {field} 不能超过 {schema['maxItems']} 项"})
        if "items" in schema:
            for i, item in enumerate(value):
                _check(schema["items"], item, _path(path, i), errors)


def problems(kind: str, message: Any) -> list[dict]:
    """Every way `message` departs from the schema of `kind` (empty when it conforms)."""
    errors: list[dict] = []
    _check(_ALL_SCHEMAS[kind], message, "", errors)
    return errors


def validate(kind: str, message: Any) -> dict:
    """`message` if it conforms to the schema of `kind`; else ValidationFailed naming the field."""
    errors = problems(kind, message)
    if errors:
        first = errors[0]
        raise ValidationFailed("treasury.bank_message_invalid", f"银行报文不符合接口规范：{first['message']}",
                               field=first["field"], errors=errors)
    return message
