"""Money: Decimal with two places (yuan.fen). Never float.

``to_money`` parses what people and files give us (strings with thousands separators, ints,
Decimals) and refuses floats, more than two decimals, non-finite values and amounts that do not fit
``NUMERIC(20,2)``. ``round_money`` rounds a computed Decimal half-up to the fen. Contracts and bank
messages count in fen (``to_fen`` / ``from_fen``). ``allocate`` splits an amount by weights so that
the parts add up exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from fmis.platform.errors import ValidationFailed

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999999999.99")  # NUMERIC(20,2)
MAX_FEN = 99999999999999999999
ZERO = Decimal("0.00")

_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")  # 1,234,567.89


def _refuse_float(value: object, field: str) -> None:
    if isinstance(value, float):
        raise ValidationFailed("money.float_refused", f"{field}: 金额不能使用浮点数", field=field)
    if isinstance(value, bool):
        raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确: {value!r}", field=field)


def to_money(value: object, *, field: str = "amount") -> Decimal:
    """Parse `value` as money. Floats are refused; more than two decimals are refused."""
    _refuse_float(value, field)
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        text = value.strip(" \t\r\n\u00a0\u3000")
        if "," in text:
            # thousands separators only where they belong: "1,2" is refused, not read as 12
            if not _GROUPED.fullmatch(text):
                raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确: {value!r}", field=field)
            text = text.replace(",", "")
        try:
            d = Decimal(text)
        except (InvalidOperation, ValueError):
            raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确: {value!r}", field=field) from None
    else:
        raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确: {value!r}", field=field)
    if not d.is_finite():
        raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确: {value!r}", field=field)
    # the range check comes first: quantizing a huge number would overflow the context
    if abs(d) > MAX_MONEY:
        raise ValidationFailed("money.too_large", f"{field}: 金额超出范围: {value}", field=field)
    q = d.quantize(CENT)
    if d != q:
        raise ValidationFailed("money.too_many_decimals", f"{field}: 金额最多两位小数: {value}", field=field)
    return q if q else ZERO  # no negative zero


def round_money(value: Decimal | int) -> Decimal:
    """Round a computed Decimal half-up to the fen (0.005 → 0.01, -0.005 → -0.01)."""
    if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"round_money needs a Decimal or int, not {type(value).__name__}")
    d = Decimal(value)
    if not d.is_finite():
        raise ValidationFailed("money.invalid", f"金额格式不正确: {value}", field="amount")
    if abs(d) > MAX_MONEY + Decimal("0.005"):
        raise ValidationFailed("money.too_large", f"金额超出范围: {value}", field="amount")
    with localcontext() as ctx:
        ctx.prec = 40
        q = d.quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(q) > MAX_MONEY:
        raise ValidationFailed("money.too_large", f"金额超出范围: {value}", field="amount")
    return q if q else ZERO


def to_fen(value: object, *, field: str = "amount") -> int:
    """Money as an integer number of fen: Decimal("12.34") → 1234."""
    return int(to_money(value, field=field).scaleb(2))


def from_fen(fen: int, *, field: str = "amount") -> Decimal:
    """Fen as money: 1234 → Decimal("12.34")."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise ValidationFailed("money.invalid", f"{field}: 分必须是整数: {fen!r}", field=field)
    if abs(fen) > MAX_FEN:
        raise ValidationFailed("money.too_large", f"{field}: 金额超出范围: {fen} 分", field=field)
    d = Decimal(fen).scaleb(-2).quantize(CENT)
    return d if d else ZERO


def total(values: Iterable[Decimal]) -> Decimal:
    """Exact sum of money values, ZERO for none. Floats are refused."""
    s = ZERO
    for v in values:
        s += to_money(v)
    if abs(s) > MAX_MONEY:
        raise ValidationFailed("money.too_large", f"合计金额超出范围: {s}", field="amount")
    return s


def allocate(amount: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """Split `amount` in proportion to `weights`; the parts add up to `amount` exactly.

    Each part is first rounded down to the fen; the fen left over go one by one to the parts with
    the largest remainders (ties: the earlier part). Weights must be non-negative, not all zero.
    """
    amount = to_money(amount)
    if not weights:
        raise ValidationFailed("money.no_weights", "分配比例不能为空", field="weights")
    ws = []
    for w in weights:
        if isinstance(w, (float, bool)) or not isinstance(w, (Decimal, int)):
            raise ValidationFailed("money.bad_weight", f"分配比例必须是整数或 Decimal: {w!r}", field="weights")
        if not Decimal(w).is_finite() or w < 0:
            raise ValidationFailed("money.bad_weight", f"分配比例不能为负数: {w}", field="weights")
        ws.append(Decimal(w))
    weight_sum = sum(ws, Decimal(0))
    if weight_sum == 0:
        raise ValidationFailed("money.no_weights", "分配比例之和不能为零", field="weights")
    sign = -1 if amount < 0 else 1
    fen_total = abs(to_fen(amount))
    with localcontext() as ctx:
        ctx.prec = 60
        exact = [Decimal(fen_total) * w / weight_sum for w in ws]
        floors = [int(x.to_integral_value(rounding=ROUND_DOWN)) for x in exact]
        remainders = [x - f for x, f in zip(exact, floors, strict=True)]
    left = fen_total - sum(floors)
    for i in sorted(range(len(ws)), key=lambda i: (-remainders[i], i))[:left]:
        floors[i] += 1
    return [from_fen(sign * f) for f in floors]


def fmt(value: Decimal | None) -> str:
    """Format for display with thousands separators: 1,234,567.89."""
    if value is None:
        return ""
    return f"{value:,.2f}"
