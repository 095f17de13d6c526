"""Template filters available in every template (registered as a builtin in settings)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from fmis.platform.money import fmt

register = template.Library()


@register.filter
def money(value) -> str:
    """1234567.8 → 1,234,567.80 (yuan with fen, thousands separated); '' for None or ''."""
    if value is None or value == "":
        return ""
    try:
        return fmt(value if isinstance(value, Decimal) else Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)
