"""Fiscal years and periods. The fiscal year is the calendar year; periods 1–12 are months."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from fmis.platform.errors import ValidationFailed

MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self):
        if not (MIN_YEAR <= self.year <= MAX_YEAR):
            raise ValidationFailed("periods.bad_year", f"会计年度超出范围: {self.year}", field="year")
        if not (1 <= self.month <= 12):
            raise ValidationFailed("periods.bad_month", f"会计期间应为 1–12: {self.month}", field="period")

    @classmethod
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            y, m = text.strip().split("-")
            return cls(int(y), int(m))
        except ValueError:
            raise ValidationFailed("periods.bad_format", f"会计期间格式应为 YYYY-MM: {text!r}",
                                   field="period") from None

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"


def fiscal_year_of(day: dt.date) -> int:
    return day.year


def year_periods(year: int) -> list[Period]:
    return [Period(year, m) for m in range(1, 13)]
