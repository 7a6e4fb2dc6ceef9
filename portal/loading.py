"""Loading a whole plan in a fixed number of queries, built once at import rather than per request.

A plan is read as one statement for the plan and what it has one of (joined), then one
statement per collection (needs, goals, crisis steps, ...), each taking the plan's or the
patient's id as a bound parameter and set on the plan as loaded. This is what
``selectinload`` would send, but ``selectinload`` builds each collection's statement again
for every request, with its loader options and their cache keys, which was most of the plan
page's own CPU. The number of queries stays fixed whatever the size of the plan.
"""

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm import joinedload, load_only
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.models import (
    CarePlan,
    CareTeamMember,
    Condition,
    Contact,
    CrisisStep,
    Goal,
    NeedsSection,
    User,
    UsualState,
    Wish,
)
from portal.models.patient import patient_conditions


@dataclass(frozen=True)
class Collection:
    """One collection of the plan (or of its patient), and the statement that reads it.

    ``statement`` takes ``:owner`` (the plan's or the patient's id), orders as the
    relationship does and eager-loads what each row shows.
    """

    name: str
    statement: Select
    of_patient: bool = False


@dataclass(frozen=True)
class PlanLoad:
    plan: Select  # takes :patient_id
    collections: tuple[Collection, ...]


def _of_plan(model, *options, order_by=None) -> Select:
    order = order_by if order_by is not None else (model.id,)
    return (
        select(model).options(*options).where(model.plan_id == bindparam("owner")).order_by(*order)
    )


_FOR_PATIENT = CarePlan.patient_id == bindparam("patient_id")


def _author(relationship):
    """Who proposed or changed an item: the pages show only the name, so only it is read
    (every column read costs the driver a description per row set)."""
    return joinedload(relationship).options(load_only(User.display_name))


_CONDITIONS = Collection(
    "conditions",
    select(Condition)
    .join(patient_conditions, patient_conditions.c.condition_code == Condition.code)
    .where(patient_conditions.c.patient_id == bindparam("owner"))
    .order_by(Condition.name),
    of_patient=True,
)
_NEEDS = Collection("needs", _of_plan(NeedsSection, _author(NeedsSection.updated_by)))
_GOALS = Collection("goals", _of_plan(Goal, _author(Goal.proposed_by), _author(Goal.updated_by)))
_WISHES = Collection("wishes", _of_plan(Wish, _author(Wish.updated_by)))
_CARE_TEAM = Collection(
    "care_team",
    _of_plan(CareTeamMember, order_by=(CareTeamMember.position, CareTeamMember.id)),
)


def _crisis_steps(*options) -> Collection:
    return Collection(
        "crisis_steps",
        _of_plan(CrisisStep, *options, order_by=(CrisisStep.position, CrisisStep.id)),
    )


def _contacts(*options) -> Collection:
    return Collection(
        "contacts", _of_plan(Contact, *options, order_by=(Contact.position, Contact.id))
    )


# The patient is not joined: every page reading a plan has loaded the patient already to
# decide access (``permissions.require``), and ``plan.patient`` is then found in the session.
_PATIENT_AND_CONTACT = (joinedload(CarePlan.named_contact).joinedload(User.organisation),)

# The plan page, its PDF, FHIR export and review preparation.
WHOLE_PLAN = PlanLoad(
    select(CarePlan)
    .options(*_PATIENT_AND_CONTACT, joinedload(CarePlan.usual_state))
    .where(_FOR_PATIENT),
    (_CONDITIONS, _NEEDS, _GOALS, _WISHES, _crisis_steps(), _contacts(), _CARE_TEAM),
)

# The plan page: the same, less the care team (the page links to it, it does not list it).
PLAN_PAGE = PlanLoad(
    WHOLE_PLAN.plan, tuple(c for c in WHOLE_PLAN.collections if c is not _CARE_TEAM)
)

# The review page: as above, with who last changed every item (to show what is proposed).
REVIEW_PLAN = PlanLoad(
    select(CarePlan)
    .options(
        *_PATIENT_AND_CONTACT,
        joinedload(CarePlan.usual_state)
        .joinedload(UsualState.updated_by)
        .load_only(User.display_name),
    )
    .where(_FOR_PATIENT),
    (
        _CONDITIONS,
        _NEEDS,
        _GOALS,
        _WISHES,
        _crisis_steps(_author(CrisisStep.updated_by)),
        _contacts(_author(Contact.updated_by)),
        _CARE_TEAM,
    ),
)

# Recording a review meeting: what the decisions and the new version's snapshot read (the
# named contact, the usual state and the five collections), without who proposed what (the
# form shows it, the save does not) nor the conditions and the care team (not in a snapshot).
RECORD_MEETING = PlanLoad(
    select(CarePlan)
    .options(*_PATIENT_AND_CONTACT, joinedload(CarePlan.usual_state))
    .where(_FOR_PATIENT),
    (
        Collection("needs", _of_plan(NeedsSection)),
        Collection("goals", _of_plan(Goal)),
        Collection("wishes", _of_plan(Wish)),
        _crisis_steps(),
        _contacts(),
    ),
)

# The crisis page: only what a paramedic or carer reads in a hurry, with who changed what
# (a change not yet reviewed names who made it) and who last reviewed it.
CONTINGENCY = PlanLoad(
    select(CarePlan)
    .options(
        joinedload(CarePlan.usual_state)
        .joinedload(UsualState.updated_by)
        .load_only(User.display_name),
        joinedload(CarePlan.contingency_reviewed_by),
    )
    .where(_FOR_PATIENT),
    (
        _crisis_steps(_author(CrisisStep.updated_by)),
        _contacts(_author(Contact.updated_by)),
    ),
)


def load_for(load: PlanLoad, patient_id: int) -> CarePlan | None:
    """Read a plan as ``load`` describes, for a patient; collections already read are kept."""
    plan = db.session.scalars(load.plan, {"patient_id": patient_id}).first()
    if plan is None:
        return None
    for collection in load.collections:
        owner = plan.patient if collection.of_patient else plan
        if collection.name in inspect(owner).dict:
            continue  # read earlier in this session: as an eager load would, keep it
        rows = db.session.scalars(collection.statement, {"owner": owner.id}).unique().all()
        set_committed_value(owner, collection.name, list(rows))
    return plan
