"""Money is integer paise. Percentages round half up, on integers only.

Shown the Indian way through Babel's ``en_IN``/``hi_IN`` data: ``₹799``, ``₹1,799``,
``₹12,34,567``, paise only when there are some (``₹12,345.50``).
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency

CURRENCY = "INR"
# Indian digit grouping; the pattern without decimals is used for whole rupees.
_WHOLE = "¤#,##,##0"
_WITH_PAISE = "¤#,##,##0.00"


def percent_of(amount_paise: int, percent: int) -> int:
    """``percent``% of an amount, rounded half up to the paisa, without floats."""
    return (amount_paise * percent + 50) // 100


def format_inr(amount_paise: int, locale: str = "en") -> str:
    """``79900`` -> ``₹799``; ``1234567800`` -> ``₹1,23,45,678``; ``1234550`` -> ``₹12,345.50``."""
    rupees = Decimal(int(amount_paise)) / 100
    pattern = _WHOLE if amount_paise % 100 == 0 else _WITH_PAISE
    return format_currency(
        rupees, CURRENCY, format=pattern, locale=_indian(locale), currency_digits=False
    )


def _indian(locale: str) -> str:
    """``en`` -> ``en_IN``, ``hi`` -> ``hi_IN``: the language's Indian variant (its grouping)."""
    language = str(locale).replace("-", "_").split("_")[0] or "en"
    return f"{language}_IN"
