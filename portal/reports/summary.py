"""Stored monthly summaries: each month counted in SQL, and an ended month kept as it stood.

``summarise`` counts a month with the statement the live report uses (``cells_sql``), grouped
by organisation, and writes the rows with one INSERT ... SELECT, replacing any earlier summary
of the month in the same transaction. Nothing is looped over per patient.

``summarise_missing`` is the nightly job: it summarises every month that has no final summary
(the current month too, as it stands so far, so that no month is counted live on a busy day),
and reads again the new-patient figures of months summarised before their 28 days were over
(a plan agreed in the first days of the next month still counts for a patient assessed late
in the month). Those figures rest only on dates, so reading them later changes nothing else.
"""

from datetime import date, timedelta

from sqlalchemy import Date, delete, func, insert, literal, select, update

from portal.compliance import NEW_PATIENT_DAYS
from portal.extensions import db
from portal.models import MonthlySummary, MonthlySummaryCell, Patient
from portal.models.base import utcnow
from portal.reports import register
from portal.reports.forms import EARLIEST_YEAR
from portal.reports.services import add_months, cells_sql, first_of_month, last_of_month, no_jit

COLUMNS = ("organisation_id", "dimension", "key", "people", "compliant")


def closed(month: date, today: date) -> bool:
    """A month can be summarised once it has ended."""
    return last_of_month(month) < today


def new_patients_final(month: date, read_on: date) -> bool:
    """New-patient figures read on ``read_on`` include every plan agreed within 28 days."""
    return read_on > last_of_month(month) + timedelta(days=NEW_PATIENT_DAYS)


def _insert_cells(month: date, today: date, only=None) -> None:
    cells = cells_sql(month, None, today, only).subquery("cells")
    no_jit()
    db.session.execute(
        insert(MonthlySummaryCell).from_select(
            ("month", *COLUMNS),
            select(literal(month, Date()), *(cells.c[name] for name in COLUMNS)),
        )
    )


def summarise(month: date, today: date | None = None) -> int:
    """Count a month (or the current month so far) and store it in place of any earlier
    summary; the cells written."""
    today = today or date.today()
    month = first_of_month(month)
    if month > today:
        raise ValueError("the month has not started yet")
    db.session.execute(delete(MonthlySummaryCell).where(MonthlySummaryCell.month == month))
    db.session.execute(delete(MonthlySummary).where(MonthlySummary.month == month))
    db.session.execute(
        insert(MonthlySummary).values(month=month, calculated_at=utcnow(), new_patients_on=today)
    )
    _insert_cells(month, today)
    register.store(month, min(last_of_month(month), today))
    cells = select(func.count()).where(MonthlySummaryCell.month == month)
    written = db.session.scalar(cells)
    db.session.commit()
    return written


def finish_new_patients(month: date, today: date) -> None:
    """Read the month's new-patient figures again, leaving everything else as stored."""
    db.session.execute(
        delete(MonthlySummaryCell).where(
            MonthlySummaryCell.month == month, MonthlySummaryCell.dimension == "new"
        )
    )
    _insert_cells(month, today, only=("new",))
    db.session.execute(
        update(MonthlySummary).where(MonthlySummary.month == month).values(new_patients_on=today)
    )
    db.session.commit()


def first_month() -> date | None:
    """The first month anyone was registered or assessed (not before the report's first year)."""
    registered, assessed = db.session.execute(
        select(func.min(Patient.created_at), func.min(Patient.initial_assessment_date))
    ).one()
    days = [d for d in (registered and registered.date(), assessed) if d]
    if not days:
        return None
    return max(first_of_month(min(days)), date(EARLIEST_YEAR, 1, 1))


def summarise_missing(today: date | None = None) -> tuple[list[date], list[date]]:
    """Summarise every month since the first without a final summary (the current month so
    far included), and finish the new-patient figures that were read too early.
    Returns (summarised, finished)."""
    today = today or date.today()
    start = first_month()
    read_on = select(MonthlySummary.month, MonthlySummary.new_patients_on)
    stored = dict(db.session.execute(read_on).tuples().all())
    summarised, finished = [], []
    month = start
    while month is not None and month <= today:
        # a summary read before its month ended holds the month so far: read it again
        if month not in stored or not closed(month, stored[month]):
            summarise(month, today)
            summarised.append(month)
        month = add_months(month, 1)
    for month, read_on in sorted(stored.items()):
        if month in summarised:
            continue
        if not new_patients_final(month, read_on) and new_patients_final(month, today):
            finish_new_patients(month, today)
            finished.append(month)
    return summarised, finished
