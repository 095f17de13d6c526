import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmis.platform.errors import ValidationFailed
from fmis.platform.periods import (
    FiscalYear,
    Period,
    check_year,
    fiscal_year_of,
    periods_between,
    year_periods,
)


def code_of(call) -> str:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.code


@pytest.mark.parametrize("text", ["2024-03", "2024-3", "2024/03", "2024.03", "202403", " 2024-03 "])
def test_parse_formats(text):
    assert Period.parse(text) == Period(2024, 3)


@pytest.mark.parametrize("text", ["2024", "20243", "2024-", "24-03", "2024-003", "2024-03-01", "abc", "", None])
def test_parse_refuses_bad_format(text):
    assert code_of(lambda: Period.parse(text)) == "periods.bad_format"


def test_range_checks():
    assert code_of(lambda: Period.parse("2024-13")) == "periods.bad_month"
    assert code_of(lambda: Period(2024, 0)) == "periods.bad_month"
    assert code_of(lambda: Period(1999, 5)) == "periods.bad_year"
    assert code_of(lambda: Period(2101, 5)) == "periods.bad_year"
    assert code_of(lambda: check_year("20x4")) == "periods.bad_year"
    assert check_year("2025") == 2025


def test_days_and_navigation():
    p = Period(2024, 2)
    assert p.first_day == dt.date(2024, 2, 1)
    assert p.last_day == dt.date(2024, 2, 29)  # leap year
    assert Period(2023, 2).last_day == dt.date(2023, 2, 28)
    assert Period(2024, 12).next() == Period(2025, 1)
    assert Period(2024, 1).previous() == Period(2023, 12)
    assert Period(2024, 11).shift(14) == Period(2026, 1)
    assert str(Period(2024, 3)) == "2024-03"
    assert Period(2024, 3).quarter == 1 and Period(2024, 12).quarter == 4
    assert Period.of(dt.date(2024, 7, 31)) == Period(2024, 7)
    assert Period(2024, 7).contains(dt.date(2024, 7, 1)) and not Period(2024, 7).contains(dt.date(2024, 8, 1))
    assert Period(2024, 12) < Period(2025, 1)


def test_fiscal_year():
    fy = FiscalYear(2024)
    assert fy.first_day == dt.date(2024, 1, 1) and fy.last_day == dt.date(2024, 12, 31)
    assert fy.periods == year_periods(2024)
    assert len(fy.periods) == 12 and fy.periods[0] == Period(2024, 1) and fy.periods[-1] == Period(2024, 12)
    assert FiscalYear.of(dt.date(2024, 12, 31)) == fy
    assert fiscal_year_of(dt.date(2025, 1, 1)) == 2025
    assert code_of(lambda: FiscalYear(1900)) == "periods.bad_year"


def test_periods_between():
    assert list(periods_between(Period(2024, 11), Period(2025, 2))) == [
        Period(2024, 11), Period(2024, 12), Period(2025, 1), Period(2025, 2)]
    assert list(periods_between(Period(2025, 2), Period(2024, 11))) == []


periods = st.builds(Period, st.integers(2001, 2099), st.integers(1, 12))


@given(periods)
def test_period_properties(p):
    assert Period.parse(str(p)) == p
    assert p.next().previous() == p
    assert p.next().index == p.index + 1
    assert p.contains(p.first_day) and p.contains(p.last_day)
    assert (p.last_day + dt.timedelta(days=1)) == p.next().first_day
