"""Money is integer paise. Percentages round half up, on integers only."""

from __future__ import annotations

CURRENCY = "INR"


def percent_of(amount_paise: int, percent: int) -> int:
    """``percent``% of an amount, rounded half up to the paisa, without floats."""
    return (amount_paise * percent + 50) // 100


def format_inr(amount_paise: int) -> str:
    rupees, paise = divmod(abs(amount_paise), 100)
    sign = "-" if amount_paise < 0 else ""
    return f"{sign}₹{rupees:,}.{paise:02d}"
