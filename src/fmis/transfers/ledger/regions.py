"""Region codes (财政区划) as the contracts see them: level and parent derived from the code.

6-digit codes: ``PP0000`` a province, ``PPCC00`` a city, ``PPCCXX`` a county; the central level is
``000000``. A 9-digit code is below the 6-digit county it starts with. Contracts never read the
application's region table: every node must reach the same answer from the ledger alone.
"""

from __future__ import annotations

import re

CENTRAL = "000000"
LEVELS = {"central": 0, "province": 1, "city": 2, "county": 3}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
_CODE = re.compile(r"^[0-9]{6}([0-9]{3})?$")


def valid(code: object) -> bool:
    return isinstance(code, str) and bool(_CODE.match(code))


def level_of(code: str) -> int:
    if code == CENTRAL:
        return 0
    if len(code) == 9:
        return 4
    if code.endswith("0000"):
        return 1
    if code.endswith("00"):
        return 2
    return 3


def parent_of(code: str) -> str | None:
    if code == CENTRAL:
        return None
    if len(code) == 9:
        return code[:6]
    if code.endswith("0000"):
        return CENTRAL
    if code.endswith("00"):
        return code[:2] + "0000"
    return code[:4] + "00"


def is_below(code: str, ancestor: str) -> bool:
    """True if `code` is strictly below `ancestor`."""
    p = parent_of(code)
    while p is not None:
        if p == ancestor:
            return True
        p = parent_of(p)
    return False
