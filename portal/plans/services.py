"""Loading a whole plan in a fixed number of queries, whatever its size."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.models import AccessGrant, CarePlan, Goal, NeedsSection, Patient, User, Wish
from portal.permissions import active_grants_query


def plan_query():
    return select(CarePlan).options(
        joinedload(CarePlan.patient).selectinload(Patient.conditions),
        joinedload(CarePlan.named_contact).joinedload(User.organisation),
        selectinload(CarePlan.needs).joinedload(NeedsSection.updated_by),
        selectinload(CarePlan.goals).options(
            joinedload(Goal.proposed_by), joinedload(Goal.updated_by)
        ),
        selectinload(CarePlan.wishes).joinedload(Wish.updated_by),
        selectinload(CarePlan.crisis_steps),
        selectinload(CarePlan.usual_state),
        selectinload(CarePlan.contacts),
        selectinload(CarePlan.care_team),
    )


def load_plan(patient_id: int) -> CarePlan | None:
    return db.session.scalars(plan_query().where(CarePlan.patient_id == patient_id)).first()


def people_shared_with(user: User) -> list[AccessGrant]:
    """Active grants to a carer, with the patients, for the carer's home page."""
    return list(
        db.session.scalars(
            active_grants_query()
            .where(AccessGrant.grantee_id == user.id)
            .options(joinedload(AccessGrant.patient))
            .order_by(AccessGrant.id)
        )
    )


def patients_in_care(user: User) -> list[Patient]:
    """Patients of the professional's organisation who consented to share with the care team."""
    return list(
        db.session.scalars(
            select(Patient)
            .where(
                Patient.organisation_id == user.organisation_id,
                Patient.care_team_consent.is_(True),
            )
            .options(joinedload(Patient.plan))
            .order_by(Patient.family_name, Patient.given_name)
        )
    )
