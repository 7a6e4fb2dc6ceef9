"""The professional's worklist: the practice's patients, what each needs next, a page at a time.

Everything is decided in SQL over one row per patient (the patient, their plan, and whether
anything waits for review), so a practice of 8,000 costs two queries: the counts for every
filter (which also size the pages), and one page of rows.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from portal import audit
from portal.compliance import NEW_PATIENT_DAYS
from portal.extensions import db
from portal.models import REVIEWABLE, CarePlan, Contact, CrisisStep, Patient, User, UsualState
from portal.nhs_number import normalise
from portal.pagination import Page
from portal.permissions import not_objected_sql

PAGE_SIZE = 25
DUE_SOON_DAYS = 56  # "due in the next 8 weeks"
SEARCH_LIMIT = 100  # characters of a search that are read
# The crisis page: steps, the usual state of health and who to ring.
CRISIS_MODELS = (CrisisStep, UsualState, Contact)
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d %m %Y")
_DIGITS = re.compile(r"\d{3,10}")


class Filter(StrEnum):
    """What a professional can narrow the list to, in the order the page offers them."""

    ALL = "all"
    CRISIS = "crisis"
    NEW_PATIENT = "new_patient"
    OVERDUE = "overdue"
    CONTACT_REQUEST = "contact_request"
    PROPOSALS = "proposals"
    NO_PLAN = "no_plan"
    DUE_SOON = "due_soon"


class Whose(StrEnum):
    MINE = "mine"  # I am the named contact
    PRACTICE = "practice"


FILTER_LABELS = {
    Filter.ALL: _l("All"),
    Filter.CRISIS: _l("Crisis plan changed, not reviewed"),
    Filter.NEW_PATIENT: _l("New patients near day 28"),
    Filter.OVERDUE: _l("Review overdue"),
    Filter.CONTACT_REQUEST: _l("Asked for a different named contact"),
    Filter.PROPOSALS: _l("Changes waiting for review"),
    Filter.NO_PLAN: _l("No plan yet"),
    Filter.DUE_SOON: _l("Review due in the next 8 weeks"),
}
WHOSE_LABELS = {Whose.MINE: _l("My patients"), Whose.PRACTICE: _l("All the practice")}
# What needs doing first comes first: the order of the filters above, after "all".
URGENCY = [f for f in Filter if f is not Filter.ALL]


@dataclass(frozen=True)
class Search:
    """What was typed in the search box, read as an NHS number, a date of birth or a name."""

    text: str = ""

    @property
    def nhs_digits(self) -> str | None:
        digits = normalise(self.text)
        return digits if _DIGITS.fullmatch(digits) else None

    @property
    def date_of_birth(self) -> date | None:
        for pattern in DATE_FORMATS:
            try:
                return datetime.strptime(self.text, pattern).date()  # noqa: DTZ007 - a date
            except ValueError:
                continue
        return None

    def condition(self) -> ColumnElement[bool] | None:
        if not self.text:
            return None
        if born := self.date_of_birth:  # before digits: 12-03-1947 is a date
            return Patient.date_of_birth == born
        if digits := self.nhs_digits:
            return Patient.nhs_number.startswith(digits, autoescape=True)
        words = self.text.lower().split()
        return and_(
            *(
                or_(
                    func.lower(Patient.given_name).contains(word, autoescape=True),
                    func.lower(Patient.family_name).contains(word, autoescape=True),
                )
                for word in words
            )
        )


def parse_search(raw: str | None) -> Search:
    text = " ".join((raw or "").split())[:SEARCH_LIMIT]
    return Search("".join(ch for ch in text if ch.isprintable()))


@dataclass(frozen=True)
class Row:
    """One patient on the worklist and what waits for them."""

    patient: Patient
    plan_id: int | None
    next_review_date: date | None
    named_contact: str | None
    objected: bool
    flags: tuple[Filter, ...]


def _waiting():
    """Plans with a change waiting for review, and whether one is on the crisis page."""
    parts = [
        select(
            model.plan_id.label("plan_id"),
            literal(1 if model in CRISIS_MODELS else 0).label("crisis"),
        ).where(model.pending_review.is_(True))
        for model in REVIEWABLE
    ]
    waiting = union_all(*parts).subquery("waiting_rows")
    return (
        select(waiting.c.plan_id, func.max(waiting.c.crisis).label("crisis"))
        .group_by(waiting.c.plan_id)
        .subquery("waiting")
    )


def _conditions(waiting, today: date) -> dict[Filter, ColumnElement[bool]]:
    """Each filter as SQL over one joined row. Nothing from a plan the patient closed to the
    practice is revealed (``not_objected_sql``): such a row is in "all" only."""
    visible = not_objected_sql()
    has_plan = CarePlan.id.is_not(None)
    return {
        Filter.CRISIS: and_(visible, waiting.c.crisis == 1),
        Filter.NEW_PATIENT: and_(
            Patient.initial_assessment_date > today - timedelta(days=NEW_PATIENT_DAYS),
            Patient.initial_assessment_date <= today,
            or_(~has_plan, CarePlan.agreed_version == 0),
        ),
        Filter.OVERDUE: and_(visible, CarePlan.next_review_date < today),
        Filter.CONTACT_REQUEST: and_(visible, CarePlan.named_contact_request.is_not(None)),
        Filter.PROPOSALS: and_(visible, waiting.c.plan_id.is_not(None)),
        Filter.NO_PLAN: ~has_plan,
        Filter.DUE_SOON: and_(
            visible,
            CarePlan.next_review_date >= today,
            CarePlan.next_review_date <= today + timedelta(days=DUE_SOON_DAYS),
        ),
    }


def _base(user: User, whose: Whose, search: Search, waiting) -> Select:
    query = (
        select(Patient)
        .outerjoin(CarePlan, CarePlan.patient_id == Patient.id)
        .outerjoin(waiting, waiting.c.plan_id == CarePlan.id)
        .where(Patient.organisation_id == user.organisation_id)
    )
    if whose is Whose.MINE:
        query = query.where(CarePlan.named_contact_id == user.id, not_objected_sql())
    if (found := search.condition()) is not None:
        query = query.where(found)
    return query


@dataclass(frozen=True)
class Worklist:
    page: Page
    rows: list[Row]
    counts: dict[Filter, int]


def worklist(
    user: User,
    whose: Whose = Whose.PRACTICE,
    chosen: Filter = Filter.ALL,
    search: Search | None = None,
    page: int = 1,
    today: date | None = None,
) -> Worklist:
    """One page of the practice's patients, most urgent first, with the count for each filter
    (within the search and "my patients" or "all the practice")."""
    today = today or date.today()
    search = search or Search()
    waiting = _waiting()
    conditions = _conditions(waiting, today)
    base = _base(user, whose, search, waiting)

    sums = [func.count()] + [func.sum(case((conditions[f], 1), else_=0)) for f in URGENCY]
    totals = db.session.execute(base.with_only_columns(*sums)).one()
    counts = {Filter.ALL: totals[0]} | {f: totals[i + 1] or 0 for i, f in enumerate(URGENCY)}

    urgency = case(*((conditions[f], i) for i, f in enumerate(URGENCY)), else_=len(URGENCY)).label(
        "urgency"
    )
    contact = aliased(User)
    query = base.add_columns(
        CarePlan.id,
        CarePlan.next_review_date,
        contact.display_name,
        *(conditions[f].label(f.value) for f in URGENCY),
    ).outerjoin(contact, contact.id == CarePlan.named_contact_id)
    if chosen is not Filter.ALL:
        query = query.where(conditions[chosen])
    query = query.order_by(
        urgency,
        CarePlan.next_review_date.is_(None),
        CarePlan.next_review_date,
        Patient.family_name,
        Patient.given_name,
        Patient.id,
    )
    total = counts[chosen]
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    found = Page(
        items=list(db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))),
        page=page,
        pages=pages,
        total=total,
    )
    rows = [
        Row(
            patient=r[0],
            plan_id=r[1],
            next_review_date=r[2],
            named_contact=r[3],
            objected=r[0].care_team_consent is False,
            flags=tuple(f for i, f in enumerate(URGENCY) if r[4 + i]),
        )
        for r in found.items
    ]
    return Worklist(page=found, rows=rows, counts=counts)


def start_plan(patient: Patient, user: User) -> CarePlan:
    """An empty plan for a patient who has none, to write with them; commits.

    Starting twice (a double click, two professionals at once) gives the one plan.
    """
    existing = db.session.scalar(select(CarePlan).where(CarePlan.patient_id == patient.id))
    if existing is not None:
        return existing
    plan = CarePlan(patient_id=patient.id, next_review_date=None)
    db.session.add(plan)
    try:
        db.session.flush()
    except IntegrityError:  # started by someone else since the read above
        db.session.rollback()
        return db.session.scalars(select(CarePlan).where(CarePlan.patient_id == patient.id)).one()
    audit.record("plan.start", patient.id, f"plan {plan.id}", actor_id=user.id)
    db.session.commit()
    return plan
