"""Eager-loading statements for a whole plan, built once at import rather than per request.

Each statement takes the patient id as a bound parameter, so the same object is executed on
every request: SQLAlchemy then reuses its cache key and compiled SQL instead of rebuilding and
re-hashing a dozen loader options each time, which was a large part of the plan page's CPU.
The number of queries stays fixed whatever the size of the plan.
"""

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.models import (
    CarePlan,
    Contact,
    CrisisStep,
    Goal,
    NeedsSection,
    Patient,
    User,
    UsualState,
    Wish,
)

_FOR_PATIENT = CarePlan.patient_id == bindparam("patient_id")

_WHOLE_PLAN = (
    joinedload(CarePlan.patient).selectinload(Patient.conditions),
    joinedload(CarePlan.named_contact).joinedload(User.organisation),
    selectinload(CarePlan.needs).joinedload(NeedsSection.updated_by),
    selectinload(CarePlan.goals).options(joinedload(Goal.proposed_by), joinedload(Goal.updated_by)),
    selectinload(CarePlan.wishes).joinedload(Wish.updated_by),
    selectinload(CarePlan.crisis_steps),
    joinedload(CarePlan.usual_state),  # one row: joined, saving a round trip
    selectinload(CarePlan.contacts),
    selectinload(CarePlan.care_team),
)

# The plan page, its PDF, FHIR export and review preparation.
WHOLE_PLAN: Select = select(CarePlan).options(*_WHOLE_PLAN).where(_FOR_PATIENT)

# The review page: as above, with who last changed every item (to show what is proposed).
REVIEW_PLAN: Select = (
    select(CarePlan)
    .options(
        *_WHOLE_PLAN,
        selectinload(CarePlan.crisis_steps).joinedload(CrisisStep.updated_by),
        joinedload(CarePlan.usual_state).joinedload(UsualState.updated_by),
        selectinload(CarePlan.contacts).joinedload(Contact.updated_by),
    )
    .where(_FOR_PATIENT)
)

# The crisis page: only what a paramedic or carer reads in a hurry, with who changed what
# (a change not yet reviewed names who made it) and who last reviewed it.
CONTINGENCY: Select = (
    select(CarePlan)
    .options(
        selectinload(CarePlan.crisis_steps).joinedload(CrisisStep.updated_by),
        joinedload(CarePlan.usual_state).joinedload(UsualState.updated_by),
        selectinload(CarePlan.contacts).joinedload(Contact.updated_by),
        joinedload(CarePlan.contingency_reviewed_by),
    )
    .where(_FOR_PATIENT)
)


def load_for(statement: Select, patient_id: int) -> CarePlan | None:
    """Run one of the statements above for a patient."""
    return db.session.scalars(statement, {"patient_id": patient_id}).first()
