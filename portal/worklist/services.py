"""The professional's worklist: the practice's patients, what each needs next, a page at a time.

Everything is decided in SQL over one row per patient (the patient, their plan, and whether
anything waits for review), so a practice of 8,000 costs one query: the practice's rows are
read once (its patients from an index that carries what the filters read of them), counted for
every filter in one aggregate, and sorted for one page, which comes back with the counts even
when it is empty.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, exists, func, literal, or_, select, true, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from portal import audit
from portal.compliance import NEW_PATIENT_DAYS
from portal.extensions import db
from portal.models import (
    REVIEWABLE,
    CarePlan,
    Contact,
    CrisisStep,
    OfferOutcome,
    Patient,
    PlanOffer,
    User,
    UsualState,
)
from portal.nhs_number import normalise
from portal.pagination import Page
from portal.permissions import memberships_in_force, not_objected_sql

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
    NOT_OFFERED = "not_offered"  # no plan, and never offered one
    DECLINED = "declined"  # no plan: the last offer was declined


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
    Filter.NOT_OFFERED: _l("Not yet offered a plan"),
    Filter.DECLINED: _l("Declined a plan"),
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


def _requests():
    """Plans whose patient asked for a different named contact: a few, read from a partial
    index of their own."""
    asked = aliased(CarePlan)
    return (
        select(asked.id.label("plan_id"))
        .where(asked.named_contact_request.is_not(None))
        .subquery("requests")
    )


def _sources():
    """What is joined to each patient and plan: the waiting changes and the contact requests."""
    return _waiting(), _requests()


def _offers():
    """Whether the patient was ever offered a plan, and whether the last offer was declined
    (the last by date, as the register reads it)."""
    later = aliased(PlanOffer)
    offered = exists().where(PlanOffer.patient_id == Patient.id)
    last_declined = exists().where(
        PlanOffer.patient_id == Patient.id,
        PlanOffer.outcome == OfferOutcome.DECLINED,
        ~exists().where(
            later.patient_id == PlanOffer.patient_id,
            or_(
                later.offered_on > PlanOffer.offered_on,
                and_(later.offered_on == PlanOffer.offered_on, later.id > PlanOffer.id),
            ),
        ),
    )
    return offered, last_declined


def _conditions(sources, today: date) -> dict[Filter, ColumnElement[bool]]:
    """Each filter as SQL over one joined row. Nothing from a plan the patient closed to the
    practice is revealed (``not_objected_sql``): such a row is in "all" only."""
    waiting, requests = sources
    visible = not_objected_sql()
    has_plan = CarePlan.id.is_not(None)
    offered, last_declined = _offers()
    return {
        Filter.CRISIS: and_(visible, waiting.c.crisis == 1),
        Filter.NEW_PATIENT: and_(
            Patient.initial_assessment_date > today - timedelta(days=NEW_PATIENT_DAYS),
            Patient.initial_assessment_date <= today,
            or_(~has_plan, CarePlan.agreed_version == 0),
        ),
        Filter.OVERDUE: and_(visible, CarePlan.next_review_date < today),
        Filter.CONTACT_REQUEST: and_(visible, requests.c.plan_id.is_not(None)),
        Filter.PROPOSALS: and_(visible, waiting.c.plan_id.is_not(None)),
        Filter.NO_PLAN: ~has_plan,
        Filter.DUE_SOON: and_(
            visible,
            CarePlan.next_review_date >= today,
            CarePlan.next_review_date <= today + timedelta(days=DUE_SOON_DAYS),
        ),
        Filter.NOT_OFFERED: and_(~has_plan, ~offered),
        Filter.DECLINED: and_(~has_plan, last_declined),
    }


def _base(user: User, whose: Whose, search: Search, sources, members=()) -> Select:
    """The practice's patients, and ``members``: those the user reaches through a care team
    membership (read first as a short list, so the practice's own list keeps its index)."""
    waiting, requests = sources
    mine = Patient.organisation_id == user.organisation_id
    if members:
        mine = or_(mine, Patient.id.in_(list(members)))
    query = (
        select(Patient)
        .outerjoin(CarePlan, CarePlan.patient_id == Patient.id)
        .outerjoin(waiting, waiting.c.plan_id == CarePlan.id)
        .outerjoin(requests, requests.c.plan_id == CarePlan.id)
        .where(mine)
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
    # Patients of other practices reached through a membership: the widest scope of each.
    member_scopes: dict[int, str]


def _sorted(columns):
    """Most urgent first; then the earliest review (none last), then by name."""
    return (
        columns.urgency,
        columns.next_review_date.is_(None),
        columns.next_review_date,
        columns.family_name,
        columns.given_name,
        columns.patient_id,
    )


def _totals(flag) -> list:
    """Every filter counted in one aggregate pass (``flag(f)``: whether a row is in f)."""
    return [
        func.count().label("n_all"),
        *(func.count().filter(flag(f)).label(f"n_{f.value}") for f in URGENCY),
    ]


def _read_counts(row) -> dict[Filter, int]:
    found = row._mapping
    return {Filter.ALL: found["n_all"]} | {f: found[f"n_{f.value}"] or 0 for f in URGENCY}


def _counts(base: Select, conditions) -> dict[Filter, int]:
    """How many patients each filter holds, in one statement."""
    sums = _totals(lambda f: conditions[f])
    return _read_counts(db.session.execute(base.with_only_columns(*sums)).one())


def my_counts(user: User, today: date) -> dict[Filter, int]:
    """How many of the patients this professional is named contact for each filter holds
    (the morning digest)."""
    sources = _sources()
    return _counts(_base(user, Whose.MINE, Search(), sources), _conditions(sources, today))


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
    sources = _sources()
    conditions = _conditions(sources, today)
    scopes = member_scopes(user)
    base = _base(user, whose, search, sources, scopes)
    # Every patient in scope once, with a 1/0 column per filter, read once (a CTE): one
    # aggregate counts each filter over them, and one page is sorted from them.
    every = base.with_only_columns(
        Patient.id.label("patient_id"),
        CarePlan.id.label("plan_id"),
        CarePlan.next_review_date.label("next_review_date"),
        CarePlan.named_contact_id.label("named_contact_id"),
        Patient.family_name.label("family_name"),
        Patient.given_name.label("given_name"),
        *(case((conditions[f], 1), else_=0).label(f.value) for f in URGENCY),
    ).cte("every_patient")
    totals = select(*_totals(lambda f: every.c[f.value] == 1)).subquery("totals")
    # How urgent each is, from its flags (each condition is evaluated once, in the CTE).
    urgency = case(
        *((every.c[f.value] == 1, i) for i, f in enumerate(URGENCY)), else_=len(URGENCY)
    ).label("urgency")
    chosen_rows = select(every, urgency)
    if chosen is not Filter.ALL:
        chosen_rows = chosen_rows.where(every.c[chosen.value] == 1)

    def one_page(number: int):
        """The counts, and the page's rows beside them (one row of counts alone if none)."""
        top = (
            chosen_rows.order_by(*_sorted(chosen_rows.selected_columns))
            .limit(PAGE_SIZE)
            .offset((number - 1) * PAGE_SIZE)
            .subquery("top")
        )
        contact = aliased(User)
        return list(
            db.session.execute(
                select(Patient, top, contact.display_name, totals)
                .select_from(totals)
                .outerjoin(top, true())
                .outerjoin(Patient, Patient.id == top.c.patient_id)
                .outerjoin(contact, contact.id == top.c.named_contact_id)
                .order_by(*_sorted(top.c))
            )
        )

    page = max(1, page)
    found = one_page(page)
    counts = _read_counts(found[0])
    last = max(1, -(-counts[chosen] // PAGE_SIZE))
    if page > last:  # past the end (a stale link): the last page
        page = last
        found = one_page(page) if counts[chosen] else []
    found = [r for r in found if r[0] is not None]
    total = counts[chosen]
    rows = [
        Row(
            patient=r[0],
            plan_id=r.plan_id,
            next_review_date=r.next_review_date,
            named_contact=r.display_name,
            objected=r[0].care_team_consent is False,
            flags=tuple(f for f in URGENCY if r._mapping[f.value]),
        )
        for r in found
    ]
    found = Page(items=rows, page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total)
    return Worklist(page=found, rows=rows, counts=counts, member_scopes=scopes)


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


def member_scopes(user: User) -> dict[int, str]:
    """Patients of other practices that ``user`` reaches through a care team membership, with
    the widest scope of each: they join the worklist, each row linking to what it opens."""
    from portal.models import CareTeamMembership, Scope

    widest = (Scope.CRISIS, Scope.VIEW, Scope.CONTRIBUTE)
    scopes: dict[int, str] = {}
    rows = db.session.execute(
        memberships_in_force(user.id)
        .with_only_columns(CareTeamMembership.patient_id, CareTeamMembership.scope)
        .join(Patient, Patient.id == CareTeamMembership.patient_id)
        .where(Patient.organisation_id != (user.organisation_id or 0))
    )
    for patient_id, scope in rows:
        if widest.index(Scope(scope)) >= widest.index(Scope(scopes.get(patient_id, "crisis"))):
            scopes[patient_id] = scope
    return scopes
