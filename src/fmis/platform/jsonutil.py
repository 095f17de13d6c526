"""Canonical JSON: stable text for hashing and signing.

``jsonable`` turns Decimals, dates, UUIDs and lazy translation strings into strings and refuses
floats (money must never pass through a float). ``canonical`` is the one text form that hashes and
signatures are computed over: sorted keys, no spaces, UTF-8 kept as is.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise


def jsonable(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=canonical)
    if isinstance(value, float):
        raise TypeError("float is not allowed in canonical JSON")
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def jsonable_lenient(value: Any) -> Any:
    """Like ``jsonable`` but never fails: anything else becomes its text (for error documents)."""
    if isinstance(value, dict):
        return {str(k): jsonable_lenient(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable_lenient(v) for v in value]
    try:
        return jsonable(value)
    except TypeError:
        return str(value)


def canonical(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
