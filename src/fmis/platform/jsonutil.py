"""Canonical JSON: stable text for hashing and signing."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        raise TypeError("float is not allowed in canonical JSON")
    return value


def canonical(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
