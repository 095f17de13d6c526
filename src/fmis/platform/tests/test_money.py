from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmis.platform import money
from fmis.platform.errors import ValidationFailed

fen_values = st.integers(min_value=-money.MAX_FEN, max_value=money.MAX_FEN)


def code_of(call) -> str:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.code


@pytest.mark.parametrize(("text", "expected"), [
    ("0", "0.00"), ("12", "12.00"), ("12.3", "12.30"), ("12.34", "12.34"), ("-5.5", "-5.50"),
    ("1,234,567.89", "1234567.89"), ("  88.00 ", "88.00"), ("\u300010\u3000", "10.00"), ("+7", "7.00"),
    ("1E+2", "100.00"), ("-0", "0.00"), ("999999999999999999.99", "999999999999999999.99"),
])
def test_to_money_parses_text(text, expected):
    d = money.to_money(text)
    assert isinstance(d, Decimal)
    assert str(d) == expected


def test_to_money_accepts_int_and_decimal_and_keeps_two_places():
    assert str(money.to_money(5)) == "5.00"
    assert str(money.to_money(Decimal("1.5"))) == "1.50"
    assert money.to_money(Decimal("-0.00")).is_signed() is False


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), float("inf")])
def test_floats_are_refused(value):
    assert code_of(lambda: money.to_money(value, field="amount")) == "money.float_refused"


def test_float_refusal_names_the_field():
    with pytest.raises(ValidationFailed) as exc:
        money.to_money(0.5, field="pay_amount")
    assert exc.value.field == "pay_amount"
    assert "pay_amount" in exc.value.message


@pytest.mark.parametrize("value", ["", "abc", "1.2.3", "NaN", "Infinity", "-inf", "1,2", "12,34.5", "1,2345",
                                   None, True, [], b"12", "¥12"])
def test_garbage_is_refused(value):
    assert code_of(lambda: money.to_money(value)) == "money.invalid"


@pytest.mark.parametrize("value", ["0.001", "12.345", Decimal("0.005")])
def test_more_than_two_decimals_refused(value):
    assert code_of(lambda: money.to_money(value)) == "money.too_many_decimals"


@pytest.mark.parametrize("value", ["1000000000000000000", "1e30", "-1e30", Decimal("1E+400"), 10**40])
def test_too_large_refused_without_overflow(value):
    assert code_of(lambda: money.to_money(value)) == "money.too_large"


@pytest.mark.parametrize(("value", "expected"), [
    ("0.005", "0.01"), ("0.004", "0.00"), ("0.015", "0.02"), ("0.025", "0.03"), ("-0.005", "-0.01"),
    ("-0.004", "0.00"), ("2.675", "2.68"), ("1.2345", "1.23"), ("99.995", "100.00"),
])
def test_round_money_is_half_up(value, expected):
    assert str(money.round_money(Decimal(value))) == expected


def test_round_money_refuses_float_and_overflow():
    with pytest.raises(TypeError):
        money.round_money(0.1)
    assert code_of(lambda: money.round_money(Decimal("1e25"))) == "money.too_large"
    assert code_of(lambda: money.round_money(Decimal("999999999999999999.995"))) == "money.too_large"


def test_fen_conversion():
    assert money.to_fen("12.34") == 1234
    assert money.to_fen(Decimal("-0.01")) == -1
    assert money.to_fen("999999999999999999.99") == money.MAX_FEN
    assert money.from_fen(1234) == Decimal("12.34")
    assert str(money.from_fen(5)) == "0.05"
    assert str(money.from_fen(0)) == "0.00"
    assert code_of(lambda: money.to_fen(1.5)) == "money.float_refused"
    assert code_of(lambda: money.from_fen(1.5)) == "money.invalid"
    assert code_of(lambda: money.from_fen(True)) == "money.invalid"
    assert code_of(lambda: money.from_fen(money.MAX_FEN + 1)) == "money.too_large"


def test_total_and_fmt():
    assert money.total([]) == money.ZERO
    assert money.total([Decimal("0.10")] * 3) == Decimal("0.30")
    assert code_of(lambda: money.total([Decimal(1), 0.2])) == "money.float_refused"
    assert money.fmt(Decimal("1234567.8")) == "1,234,567.80"
    assert money.fmt(None) == ""


def test_allocate_splits_exactly_largest_remainder_first():
    assert money.allocate(Decimal("100.00"), [1, 1, 1]) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert money.allocate(Decimal("0.05"), [1, 0, 1]) == [Decimal("0.03"), Decimal("0.00"), Decimal("0.02")]
    assert money.allocate(Decimal("-10.00"), [1, 2]) == [Decimal("-3.33"), Decimal("-6.67")]
    assert code_of(lambda: money.allocate(Decimal(1), [])) == "money.no_weights"
    assert code_of(lambda: money.allocate(Decimal(1), [0, 0])) == "money.no_weights"
    assert code_of(lambda: money.allocate(Decimal(1), [1, -1])) == "money.bad_weight"
    assert code_of(lambda: money.allocate(Decimal(1), [0.5, 0.5])) == "money.bad_weight"


@given(fen_values)
def test_fen_round_trip(fen):
    assert money.to_fen(money.from_fen(fen)) == fen


@given(fen_values)
def test_text_round_trip_with_and_without_separators(fen):
    d = money.from_fen(fen)
    assert money.to_money(str(d)) == d
    assert money.to_money(money.fmt(d)) == d


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6,
                   min_value=Decimal(-999999999999999), max_value=Decimal(999999999999999)))
def test_round_money_is_nearest_with_ties_away_from_zero(d):
    r = money.round_money(d)
    assert r == r.quantize(money.CENT)
    assert abs(r - d) <= Decimal("0.005")
    if abs(r - d) == Decimal("0.005"):
        assert abs(r) > abs(d)  # half-up rounds ties away from zero


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_float_ever_becomes_money(f):
    with pytest.raises(ValidationFailed):
        money.to_money(f)


@given(fen_values, st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12)
       .filter(lambda ws: sum(ws) > 0))
def test_allocate_parts_sum_to_total_and_stay_within_a_fen(fen, weights):
    amount = money.from_fen(fen)
    parts = money.allocate(amount, weights)
    assert sum(parts, money.ZERO) == amount
    total_weight = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = amount * Decimal(w) / Decimal(total_weight)
        assert abs(part - exact) < Decimal("0.01")
        if w == 0:
            assert part == 0
