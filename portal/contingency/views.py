from flask import abort, render_template
from flask_login import current_user, login_required

from portal import audit
from portal.contingency import bp
from portal.contingency.services import steps_by_level
from portal.extensions import db
from portal.permissions import Action, require
from portal.plans.services import load_plan


@bp.route("/patients/<int:patient_id>/crisis")
@login_required
def crisis(patient_id: int):
    access = require(current_user, Action.VIEW_CRISIS, patient_id)
    care_plan = load_plan(patient_id)
    if care_plan is None:
        abort(404)
    audit.record("crisis.view", patient_id)
    db.session.commit()
    return render_template(
        "contingency/crisis.html",
        access=access,
        patient=access.patient,
        plan=care_plan,
        levels=steps_by_level(care_plan.crisis_steps),
        can_view_plan=access.allows(Action.VIEW_PLAN),
    )
