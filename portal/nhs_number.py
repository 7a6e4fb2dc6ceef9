"""NHS number validation with the modulus-11 check digit (NHS Data Dictionary)."""

import re

_SEPARATORS = re.compile(r"[\s-]")


def normalise(value: str) -> str:
    return _SEPARATORS.sub("", value or "")


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit, or None when it would be 10 (such numbers are never issued)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


def is_valid(value: str) -> bool:
    digits = normalise(value)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    return check_digit(digits[:9]) == int(digits[9])


def synthetic(n: int, start: int = 900_000_000, step: int = 7) -> str:
    """A valid NHS number unique to ``n``, for test and benchmark data."""
    base = start + n * step
    while (check := check_digit(f"{base:09d}")) is None:
        base += 1
    return f"{base:09d}{check}"


def formatted(value: str) -> str:
    """3-3-4 grouping, as printed on NHS letters."""
    d = normalise(value)
    return f"{d[:3]} {d[3:6]} {d[6:]}" if len(d) == 10 else d
