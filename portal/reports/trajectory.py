"""The implementation trajectory of Appendix 2: 50% by March 2010, rising evenly to 90% by
March 2012, then held at 90%. There is no target before March 2010."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

START = date(2010, 3, 1)
END = date(2012, 3, 1)
START_PERCENT = Fraction(50)
END_PERCENT = Fraction(90)


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def target(month: date) -> Decimal | None:
    """The target share (percent, two decimal places as printed in Appendix 2) for ``month``."""
    step = months_between(START, month)
    if step < 0:
        return None
    span = months_between(START, END)
    exact = START_PERCENT + (END_PERCENT - START_PERCENT) * Fraction(min(step, span), span)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
