"""Fiscal years and periods.

China's fiscal year is the calendar year (预算年度 1 January – 31 December); accounting periods
1–12 are its months. ``Period`` is a value: ordered, hashable, parsed from ``2024-03``, ``2024-3``,
``2024/03`` or ``202403``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from fmis.platform.errors import ValidationFailed

MIN_YEAR, MAX_YEAR = 2000, 2100
_PERIOD_RE = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})|([0-9]{4})([0-9]{2})")


def check_year(year: object, *, field: str = "year") -> int:
    """A fiscal year within the supported range, as int."""
    if isinstance(year, bool) or not isinstance(year, int):
        try:
            year = int(str(year).strip())
        except ValueError:
            raise ValidationFailed("periods.bad_year", f"会计年度格式不正确: {year!r}", field=field) from None
    if not (MIN_YEAR <= year <= MAX_YEAR):
        raise ValidationFailed("periods.bad_year", f"会计年度超出范围（{MIN_YEAR}–{MAX_YEAR}）: {year}", field=field)
    return year


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self):
        check_year(self.year)
        if isinstance(self.month, bool) or not isinstance(self.month, int) or not (1 <= self.month <= 12):
            raise ValidationFailed("periods.bad_month", f"会计期间应为 1–12: {self.month}", field="period")

    @classmethod
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2024-03``, ``2024-3``, ``2024/03``, ``2024.03`` or ``202403``."""
        raw = text.strip() if isinstance(text, str) else ""
        m = _PERIOD_RE.fullmatch(raw)
        if not m:
            raise ValidationFailed("periods.bad_format", f"会计期间格式应为 YYYY-MM: {text!r}", field="period")
        year, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return cls(int(year), int(month))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def quarter(self) -> int:
        return (self.month - 1) // 3 + 1

    @property
    def index(self) -> int:
        """Months since year 0: consecutive periods differ by 1."""
        return self.year * 12 + self.month - 1

    def contains(self, day: dt.date) -> bool:
        return day.year == self.year and day.month == self.month

    def shift(self, months: int) -> Period:
        i = self.index + months
        return Period(i // 12, i % 12 + 1)

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"


@dataclass(frozen=True, order=True)
class FiscalYear:
    year: int

    def __post_init__(self):
        check_year(self.year)

    @classmethod
    def of(cls, day: dt.date) -> FiscalYear:
        return cls(fiscal_year_of(day))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, 12, 31)

    @property
    def periods(self) -> list[Period]:
        return year_periods(self.year)

    def contains(self, day: dt.date) -> bool:
        return day.year == self.year

    def __str__(self) -> str:
        return str(self.year)


def fiscal_year_of(day: dt.date) -> int:
    return day.year


def year_periods(year: int) -> list[Period]:
    return [Period(year, m) for m in range(1, 13)]


def periods_between(first: Period, last: Period) -> Iterator[Period]:
    """Every period from `first` to `last`, both included (nothing when last < first)."""
    for i in range(first.index, last.index + 1):
        yield Period(i // 12, i % 12 + 1)
