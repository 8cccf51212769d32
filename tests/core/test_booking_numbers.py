from datetime import date

from nibog.booking.numbers import looks_like_booking_number, new_booking_number


def test_booking_numbers_are_well_formed_and_not_sequential():
    numbers = [new_booking_number(date(2026, 12, 1)) for _ in range(2000)]
    assert all(n.startswith("NIB-26-") and looks_like_booking_number(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
    # No look-alike characters a parent could misread over the phone.
    assert not any(c in n[7:] for n in numbers for c in "01OIL")
    # Not a sequence: consecutive numbers share no common prefix pattern.
    assert len({n[7:9] for n in numbers}) > 100
