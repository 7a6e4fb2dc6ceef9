from flask import abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.meetings.summary import plan_summary
from portal.models import CrisisLevel, Domain, GoalStatus, Patient, Role, WishKind
from portal.permissions import Action, Relation, require
from portal.plans import bp
from portal.plans.services import load_plan, patients_in_care, people_shared_with
from portal.surveys.services import meeting_awaiting_survey


@bp.route("/")
@login_required
def home():
    """Each role lands where its work is."""
    if current_user.role == Role.PATIENT:
        patient_id = db.session.scalar(select(Patient.id).where(Patient.user_id == current_user.id))
        if patient_id is None:
            return render_template("plans/no_plan.html")
        return redirect(url_for("plans.plan", patient_id=patient_id))
    if current_user.role == Role.CARER:
        return render_template("plans/carer_home.html", grants=people_shared_with(current_user))
    if current_user.role == Role.PROFESSIONAL:
        patients = patients_in_care(current_user)
        # Names and NHS numbers of many patients at once: recorded against the professional.
        audit.record("patients.list", detail=f"{len(patients)} patients")
        db.session.commit()
        return render_template("plans/professional_home.html", patients=patients)
    return render_template("plans/staff_home.html")


@bp.route("/patients/<int:patient_id>/plan")
@login_required
def plan(patient_id: int):
    access = require(current_user, Action.VIEW_PLAN, patient_id)
    care_plan = load_plan(patient_id)
    if care_plan is None:
        abort(404)
    audit.record_view("plan.view", patient_id)
    db.session.commit()
    needs = {n.domain: n for n in care_plan.needs}
    wishes = {w.kind: w for w in care_plan.wishes}
    return render_template(
        "plans/plan.html",
        access=access,
        plan=care_plan,
        patient=access.patient,
        needs=needs,
        wishes=wishes,
        domains=list(Domain),
        wish_kinds=list(WishKind),
        goal_statuses=GoalStatus,
        red_steps=[
            s
            for s in care_plan.crisis_steps
            if s.level == CrisisLevel.RED and not s.removal_proposed
        ],
        can_propose=access.allows(Action.PROPOSE),
        **plan_summary(care_plan),
        survey_meeting=(
            meeting_awaiting_survey(care_plan.id) if access.relation == Relation.OWNER else None
        ),
    )
