"""Loading a whole plan in a fixed number of queries, whatever its size."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.loading import WHOLE_PLAN, load_for
from portal.models import AccessGrant, CarePlan, Patient, User
from portal.permissions import active_grants_query


def load_plan(patient_id: int) -> CarePlan | None:
    return load_for(WHOLE_PLAN, patient_id)


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
