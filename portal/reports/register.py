"""The register in the commissioner's report: the people on the practices' registers (the
report's denominator) and how many were offered a plan, accepted, declined, already had one
(baseline) or have a plan that meets the requirements (the uptake), counted as they stood on a
given day. People who left a register are not counted.

Published through the report's small-number suppression, like every other figure. A summarised
month keeps its register figures as stored cells (dimension ``register``, the figure as key), so
it reads them back as they stood and never counts the registers again.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, delete, exists, func, insert, or_, select

from portal.compliance import as_of_sql, evidence, meets_sql
from portal.extensions import db
from portal.models import MonthlySummaryCell, OfferOutcome, Patient, PlanOffer, RegisterEntry
from portal.reports import suppression
from portal.reports.services import PORTAL

BASELINE_DAYS = 365  # an existing plan counts when reviewed within the year before the day

FIGURES = ("on_register", "offered", "accepted", "declined", "baseline", "compliant")
DIMENSION = "register"


@dataclass(frozen=True)
class RegisterRow:
    organisation_id: int | None  # None: every organisation together
    on_register: int | None
    offered: int | None
    accepted: int | None
    declined: int | None
    baseline: int | None
    compliant: int | None  # with a plan that meets the requirements: the uptake's numerator

    def share(self, figure: str) -> float | None:
        return suppression.percent(getattr(self, figure), self.on_register)

    @property
    def uptake(self) -> float | None:
        return self.share("compliant")


def _answered(outcome: str, day: date):
    return exists().where(
        PlanOffer.patient_id == Patient.id,
        PlanOffer.outcome == outcome,
        PlanOffer.outcome_on <= day,
    )


def raw_counts(day: date, organisation_id: int | None = None) -> dict[int, dict[str, int]]:
    """Counts per organisation of the people on a register on ``day``."""
    accepted = _answered(OfferOutcome.ACCEPTED, day)
    offered = exists().where(PlanOffer.patient_id == Patient.id, PlanOffer.offered_on <= day)
    ev = evidence(organisation_id).cte("ev")
    meeting = Patient.id.in_(select(ev.c.patient_id).where(meets_sql(ev, *as_of_sql(day))))
    query = (
        select(
            Patient.organisation_id,
            func.count().label("on_register"),
            func.count().filter(offered).label("offered"),
            func.count().filter(accepted).label("accepted"),
            func.count()
            .filter(and_(_answered(OfferOutcome.DECLINED, day), ~accepted))
            .label("declined"),
            func.count()
            .filter(
                RegisterEntry.existing_plan_reviewed_on.between(
                    day - timedelta(days=BASELINE_DAYS), day
                )
            )
            .label("baseline"),
            func.count().filter(meeting).label("compliant"),
        )
        .join(RegisterEntry, RegisterEntry.patient_id == Patient.id)
        .where(
            RegisterEntry.registered_on <= day,
            or_(RegisterEntry.left_on.is_(None), RegisterEntry.left_on > day),
        )
        .group_by(Patient.organisation_id)
    )
    if organisation_id is not None:
        query = query.where(Patient.organisation_id == organisation_id)
    return {
        row.organisation_id: {f: getattr(row, f) for f in FIGURES}
        for row in db.session.execute(query)
    }


def _published(organisation_id, counts: dict[str, int | None]) -> RegisterRow:
    return RegisterRow(
        organisation_id,
        **{f: None if counts[f] is None else suppression.count(counts[f]) for f in FIGURES},
    )


def _total(raw: dict[int, dict[str, int | None]], figure: str) -> int | None:
    values = [counts[figure] for counts in raw.values()]
    return None if None in values else sum(values)


def store(month: date, day: date) -> None:
    """Keep the month's register figures with its summary (the caller commits)."""
    cell = MonthlySummaryCell
    db.session.execute(delete(cell).where(cell.month == month, cell.dimension == DIMENSION))
    rows = [
        {
            "month": month,
            "organisation_id": organisation_id,
            "dimension": DIMENSION,
            "key": figure,
            "people": counts[figure],
            "compliant": 0,
        }
        for organisation_id, counts in raw_counts(day).items()
        for figure in FIGURES
    ]
    if rows:
        db.session.execute(insert(cell), rows)


def _stored(month: date, organisation_id: int | None) -> dict[int, dict[str, int]]:
    cell = MonthlySummaryCell
    query = select(cell.organisation_id, cell.key, cell.people).where(
        cell.month == month, cell.dimension == DIMENSION
    )
    if organisation_id is not None:
        query = query.where(cell.organisation_id == organisation_id)
    raw: dict[int, dict[str, int | None]] = {}
    for org, figure, people in db.session.execute(query):
        # A figure a month stored before it was counted is unknown (None), not zero.
        raw.setdefault(org, dict.fromkeys(FIGURES))[figure] = people
    return raw


def register_figures(
    day: date,
    organisation_id: int | None = None,
    summarised_month: date | None = None,
) -> list[RegisterRow]:
    """The total first, then (for every organisation together) one row per organisation.

    ``summarised_month``: read the figures stored with that month's summary instead.
    """
    if summarised_month is not None:
        raw = _stored(summarised_month, organisation_id)
    else:
        raw = raw_counts(day, organisation_id)
    total = {f: _total(raw, f) for f in FIGURES}
    rows = [_published(organisation_id, total)]
    if organisation_id is None:
        rows += [_published(org, counts) for org, counts in sorted(raw.items())]
    return rows


@dataclass(frozen=True)
class Headline:
    """The uptake the report leads with, and what it divides by."""

    people: int | None
    compliant: int | None
    percent: float | None
    difference: float | None  # percentage points above (or below) the month's target
    denominator: str  # services.REGISTER, PORTAL or MIXED

    @property
    def from_register(self) -> bool:
        return self.denominator != PORTAL


def headline(report) -> Headline:
    """The report's own totals: they divide by the same people as every other figure on it
    (the registers once imported, the portal before; said on the page)."""
    return Headline(
        report.people, report.compliant, report.percent, report.difference, report.denominator
    )


def for_report(report, organisation_id: int | None) -> list[RegisterRow]:
    """The registers as the report stands: from the month's summary when it has one."""
    stored = report.month if report.calculated_at else None
    return register_figures(report.as_of, organisation_id, summarised_month=stored)
