"""Finding a patient's plan from the patient id in the address; no plan is a 404.

A module of its own, so that any blueprint can use it without importing another's routes.
"""

from flask import abort
from sqlalchemy import select

from portal.extensions import db
from portal.models import CarePlan


def plan_id_for(patient_id: int) -> int:
    """The id of the patient's plan, without loading the plan."""
    plan_id = db.session.scalar(select(CarePlan.id).where(CarePlan.patient_id == patient_id))
    if plan_id is None:
        abort(404)
    return plan_id


def plan_row(patient_id: int) -> CarePlan | None:
    """The patient's plan alone (nothing of its contents), for a page's ``load=``."""
    return db.session.scalar(select(CarePlan).where(CarePlan.patient_id == patient_id))
