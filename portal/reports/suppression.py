"""Small-number suppression: the one place where every figure a commissioner sees is made safe.

- 0 stays 0; 1 to 7 is hidden (``None``, shown as ``*``); every other count is rounded to the
  nearest 5. Totals are rounded on their own, never summed from rounded cells.
- A breakdown that hides exactly one of its cells also hides its next smallest non-zero cell,
  so the hidden one cannot be worked out by taking the others from the total (secondary
  suppression). A breakdown whose shown cells and total would still pin a hidden cell to one
  value (four groups of 7 with a total shown as 30 can only be 7 each) is not shown at all.
- In a breakdown's rows, a count beside a hidden number of people is hidden too.
- Percentages and averages are only given when the count they are taken over is shown, and
  percentages are worked out from the published (rounded) figures, so they reveal nothing the
  figures do not.

Services build raw counts and pass them through here before anything leaves them; views, the
CSV and the command line only ever see the published values.
"""

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

HIDDEN_UP_TO = 7
ROUND_TO = 5
SUPPRESSED = "*"
_SLACK = ROUND_TO // 2  # a shown count is within this of the truth
_UNBOUNDED = 10**12

K = TypeVar("K", bound=Hashable)


def count(n: int) -> int | None:
    """A published count: 0, ``None`` (hidden) or ``n`` rounded to the nearest 5."""
    if n < 0:
        raise ValueError("counts are never negative")
    if n == 0:
        return 0
    if n <= HIDDEN_UP_TO:
        return None
    return ROUND_TO * ((n + _SLACK) // ROUND_TO)


def _bounds(shown: int) -> tuple[int, int]:
    return (0, 0) if shown == 0 else (shown - _SLACK, shown + _SLACK)


def pinned(published: Iterable[int | None], total: int | None, partition: bool = True) -> bool:
    """Whether the published cells and total leave a hidden cell only one possible value.

    Reads the figures as anyone knowing these rules would: a shown count is within 2 of the
    truth; a hidden count is 1 to 7, except that when exactly two are hidden one of them may be
    larger (the secondary). In a partition the cells add up to the total; otherwise (people
    counted under each of their conditions) they add up to at least the total.
    """
    values = list(published)
    hidden = values.count(None)
    if not hidden:
        return False
    shown = [_bounds(v) for v in values if v is not None]
    low, high = (1, HIDDEN_UP_TO) if total is None else _bounds(total)
    rest_low = low - sum(hi for _lo, hi in shown)  # what the hidden cells add up to
    rest_high = high - sum(lo for lo, _hi in shown) if partition else _UNBOUNDED
    small, large = (1, HIDDEN_UP_TO), (HIDDEN_UP_TO + 1, _UNBOUNDED)
    others = hidden - 1
    cases = [(small, others, 0)]  # (this cell, hidden others small, hidden others large)
    if hidden == 2:
        cases += [(small, 0, 1), (large, 1, 0)]
    possible = set()
    for own, others_small, others_large in cases:
        others_low = others_small * small[0] + others_large * large[0]
        others_high = others_small * small[1] + others_large * large[1]
        lo = max(own[0], rest_low - others_high)
        hi = min(own[1], rest_high - others_low)
        possible.update(range(lo, min(hi, lo + 1) + 1))  # two values are enough to know
    return len(possible) <= 1


def breakdown(
    cells: Mapping[K, int],
    total: int | None = None,
    partition: bool = True,
    hide: Iterable[K] = (),
) -> dict[K, int | None] | None:
    """Publish the cells of one breakdown; ``None`` if it cannot be shown safely at all.

    ``total`` is the raw total the cells add up to (published elsewhere with ``count``); given
    it, a breakdown whose hidden cells it would give away is withheld. ``hide`` names cells to
    hide whatever their size (the counts beside a hidden number of people).
    """
    published = {key: count(n) for key, n in cells.items()}
    for key in hide:
        published[key] = None
    if list(published.values()).count(None) == 1:
        shown = [(n, i, key) for i, (key, n) in enumerate(cells.items()) if published[key]]
        if shown:
            published[min(shown)[2]] = None
    if total is not None and pinned(published.values(), count(total), partition):
        return None
    return published


def percent(numerator: int | None, denominator: int | None) -> float | None:
    """A percentage of two published counts, to one decimal place; ``None`` if either is hidden
    or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(100 * numerator / denominator, 1)


def mean(total: float, n: int) -> float | None:
    """An average over ``n`` raw values, to one decimal place, only when ``n`` may be shown."""
    if not count(n):
        return None
    return round(total / n, 1)
