"""Money: Decimal with two places (yuan.fen). Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from fmis.platform.errors import ValidationFailed

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999999999.99")  # NUMERIC(20,2)
ZERO = Decimal("0.00")


def to_money(value: object, *, field: str = "amount") -> Decimal:
    """Parse `value` as money. Floats are refused; more than two decimals are refused."""
    if isinstance(value, float):
        raise ValidationFailed("money.float_refused", f"{field}: 金额不能使用浮点数", field=field)
    if isinstance(value, bool):
        raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确", field=field)
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确: {value!r}", field=field) from None
    if not d.is_finite():
        raise ValidationFailed("money.invalid", f"{field}: 金额格式不正确: {value!r}", field=field)
    if d != d.quantize(CENT):
        raise ValidationFailed("money.too_many_decimals", f"{field}: 金额最多两位小数: {value}", field=field)
    if abs(d) > MAX_MONEY:
        raise ValidationFailed("money.too_large", f"{field}: 金额超出范围: {value}", field=field)
    return d.quantize(CENT)


def round_money(value: Decimal) -> Decimal:
    """Round a computed Decimal half-up to the fen."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    return int((to_money(value) * 100).to_integral_value())


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def fmt(value: Decimal | None) -> str:
    """Format for display with thousands separators: 1,234,567.89."""
    if value is None:
        return ""
    return f"{value:,.2f}"
