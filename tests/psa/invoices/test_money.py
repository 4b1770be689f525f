"""Invoice arithmetic held to its rules with hypothesis: integers only, half-up per line
and once on the subtotal, total = sum of lines + tax."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.kit import money
from tenantry.psa.time.schemas import parse_duration

minutes = st.integers(min_value=1, max_value=24 * 60)
rates = st.integers(min_value=0, max_value=10**7)
tax_bp = st.integers(min_value=0, max_value=10_000)


def _decimal_half_up(numerator: int, denominator: int) -> int:
    """An independent reference: exact decimal division, then ROUND_HALF_UP."""
    value = Decimal(numerator) / Decimal(denominator)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@settings(max_examples=300, deadline=None)
@given(minutes, rates)
def test_a_time_line_is_minutes_times_rate_over_60_half_up(m: int, rate: int) -> None:
    amount = money.time_amount(m, rate)
    assert isinstance(amount, int)
    assert amount == _decimal_half_up(m * rate, 60)
    # Never more than half a minor unit from the exact value.
    assert abs(amount * 60 - m * rate) <= 30


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(minutes, rates), max_size=40), st.lists(rates, max_size=5), tax_bp)
def test_total_is_the_sum_of_the_lines_plus_tax_on_the_subtotal(
    time_lines: list[tuple[int, int]], fixed: list[int], bp: int
) -> None:
    amounts = [money.time_amount(m, r) for m, r in time_lines] + fixed
    subtotal, tax, total = money.totals(amounts, bp)
    assert all(isinstance(v, int) for v in (subtotal, tax, total))
    assert subtotal == sum(amounts)
    assert tax == _decimal_half_up(subtotal * bp, 10_000)
    assert total == subtotal + tax
    assert 0 <= tax <= subtotal


def test_half_up_at_the_exact_half() -> None:
    # 1 minute at 30 cents/h = 0.5 cent → 1; 3 minutes at 10/h = 0.5 → 1.
    assert money.time_amount(1, 30) == 1
    assert money.time_amount(3, 10) == 1
    assert money.time_amount(1, 29) == 0
    # 19 % of 2.50 = 0.475 → 0.48 (half-up), of 0.05 = 0.0095 → 0.01.
    assert money.tax_amount(250, 1900) == 48
    assert money.tax_amount(5, 1900) == 1
    # 90 minutes at 95.00/h = 142.50
    assert money.time_amount(90, 9500) == 14250
    # 7 minutes at 100.00/h = 11.6666… → 11.67
    assert money.time_amount(7, 10000) == 1167


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("95", "EUR", 9500), ("1,250.50", "EUR", 125050), ("0.5", "EUR", 50), ("1000", "JPY", 1000),
     ("1.234", "KWD", 1234)],
)  # fmt: skip
def test_amounts_parse_to_minor_units(text: str, currency: str, minor: int) -> None:
    assert money.parse_amount(text, currency) == minor
    assert money.parse_amount(money.format_amount(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [("1.001", "EUR"), ("abc", "EUR"), ("-1", "EUR"), ("1.5", "JPY"), ("NaN", "EUR")],
)
def test_bad_amounts_are_refused(text: str, currency: str) -> None:
    with pytest.raises(ValueError):
        money.parse_amount(text, currency)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["EUR", "JPY", "KWD", "USD"]))
def test_format_and_parse_round_trip(minor: int, currency: str) -> None:
    assert money.parse_amount(money.format_amount(minor, currency), currency) == minor


def test_tax_rates_in_percent_become_basis_points() -> None:
    assert money.parse_rate_percent("19") == 1900
    assert money.parse_rate_percent("7.5") == 750
    assert money.parse_rate_percent("") == 0
    for bad in ("101", "-1", "7.555", "x"):
        with pytest.raises(ValueError):
            money.parse_rate_percent(bad)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("1:30", 90), ("1h30", 90), ("1.5h", 90), ("45m", 45), ("2h", 120)],
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "x", "0", "25:00", "1:7", "1.55h", "24:01"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
