"""Loading a whole plan in a fixed number of queries, whatever its size."""

from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.loading import WHOLE_PLAN, load_for
from portal.models import AccessGrant, CarePlan, User
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
