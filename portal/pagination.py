"""Long lists shown a page at a time, in two queries (a count and one page) whatever the size."""

from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, func, select

from portal.extensions import db
from portal.fields import whole_number

PAGE_DIGITS = 9  # a page number longer than this is no page: 20 digits overflowed the query


def requested_page() -> int:
    """The page number the address asks for; anything else (``²``, 20 digits) is page 1."""
    return whole_number(request.args.get("page"), digits=PAGE_DIGITS) or 1


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    pages: int
    total: int

    @property
    def numbers(self) -> list[int | None]:
        return page_numbers(self.page, self.pages)


def paginate(query: Select, page: int, per_page: int, *options) -> Page:
    """One page of ``query`` (which must be ordered); a page number out of range shows the
    nearest page. ``options`` (eager loads) apply to the page, not the count."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(
        db.session.scalars(query.options(*options).limit(per_page).offset((page - 1) * per_page))
    )
    return Page(items=items, page=page, pages=pages, total=total)


def page_numbers(page: int, pages: int) -> list[int | None]:
    """Page links to show: first, last and the current page's neighbours; None is an ellipsis."""
    wanted = {1, pages, page - 1, page, page + 1}
    shown: list[int | None] = []
    for number in range(1, pages + 1):
        if number in wanted:
            if shown and shown[-1] is not None and number - shown[-1] > 1:
                shown.append(None)
            shown.append(number)
    return shown
