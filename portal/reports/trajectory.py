"""The uptake trajectory: monthly targets a commissioner has set, or else Appendix 2.

Appendix 2: 50% by March 2010, rising evenly to 90% by March 2012, then held at 90%, with no
target before March 2010. A target a commissioner sets for a month holds until the next month
that has one; before the first of them there is no target.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import select

from portal.extensions import db
from portal.models import TrajectoryTarget

START = date(2010, 3, 1)
END = date(2012, 3, 1)
START_PERCENT = Fraction(50)
END_PERCENT = Fraction(90)


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def stored() -> dict[date, Decimal]:
    """The targets commissioners have set, by month (one query: read once per report)."""
    rows = db.session.execute(select(TrajectoryTarget.month, TrajectoryTarget.percent))
    return {month: Decimal(percent).quantize(Decimal("0.01")) for month, percent in rows}


def target(month: date, set_targets: dict[date, Decimal] | None = None) -> Decimal | None:
    """The target share for ``month``: from ``set_targets`` when any are set, else Appendix 2
    (two decimal places as printed there)."""
    if set_targets:
        earlier = [m for m in set_targets if m <= month]
        return set_targets[max(earlier)] if earlier else None
    return appendix_2(month)


def appendix_2(month: date) -> Decimal | None:
    step = months_between(START, month)
    if step < 0:
        return None
    span = months_between(START, END)
    exact = START_PERCENT + (END_PERCENT - START_PERCENT) * Fraction(min(step, span), span)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
