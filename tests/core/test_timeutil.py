from datetime import date

import pytest

from nibog.core.money import format_inr, percent_of
from nibog.core.timeutil import age_in_months


@pytest.mark.parametrize(
    ("born", "on", "months"),
    [
        (date(2024, 1, 15), date(2024, 2, 14), 0),  # day before the monthiversary
        (date(2024, 1, 15), date(2024, 2, 15), 1),
        (date(2024, 1, 31), date(2024, 2, 29), 1),  # month end in a leap February
        (date(2023, 1, 31), date(2023, 2, 27), 0),
        (date(2023, 1, 31), date(2023, 2, 28), 1),  # month end in a common February
        (date(2024, 2, 29), date(2025, 2, 28), 12),  # leap-day birthday in a common year
        (date(2024, 2, 29), date(2025, 2, 27), 11),
        (date(2024, 2, 29), date(2028, 2, 29), 48),
        (date(2020, 6, 10), date(2026, 6, 9), 71),  # the day before a birthday
        (date(2020, 6, 10), date(2026, 6, 10), 72),
        (date(2025, 5, 5), date(2025, 5, 5), 0),
    ],
)
def test_age_in_months_counts_whole_completed_months(born, on, months):
    assert age_in_months(born, on) == months


def test_percent_is_integer_paise_rounded_half_up():
    assert percent_of(79900, 10) == 7990
    assert percent_of(99, 50) == 50  # 49.5 → 50
    assert isinstance(percent_of(12345, 15), int)


def test_format_inr():
    # Indian digit grouping, paise only when there are some.
    assert format_inr(79900) == "₹799"
    assert format_inr(179900) == "₹1,799"
    assert format_inr(123456700) == "₹12,34,567"
    assert format_inr(12345678) == "₹1,23,456.78"
    assert format_inr(-5000) == "-₹50"
    assert format_inr(179900, "hi") == "₹1,799"
