from flask import abort, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from portal import lifecycle
from portal.conversations import services as conversations
from portal.extensions import db
from portal.loading import PLAN_PAGE, load_for
from portal.meetings.services import proposals
from portal.meetings.summary import plan_summary
from portal.models import CrisisLevel, Domain, GoalStatus, Patient, Role, WishKind
from portal.pages import account_page, patient_page
from portal.permissions import Action, Relation
from portal.plans import bp, glance, page_cache
from portal.plans.services import people_shared_with
from portal.surveys.services import meeting_awaiting_survey
from portal.versions.services import latest_version


@bp.route("/")
@account_page(Action.OWN_ACCOUNT)
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
        return redirect(url_for("worklist.index"))
    return render_template("plans/staff_home.html")


def _suggestions(care_plan) -> dict:
    """Each waiting change beside the agreed wording it would replace, as the review shows it."""
    agreed = latest_version(care_plan.id)
    found = proposals(care_plan, agreed.snapshot if agreed else None)
    return {(p.kind, p.item.id): p for p in found}


@bp.route("/patients/<int:patient_id>/plan")
@patient_page(
    Action.VIEW_PLAN, load=page_cache.plan_state, load_as="state", audit_as="plan.view"
)
def plan(patient_id: int, access, state):
    """The plan, its body kept per reader while the plan's fingerprint is unchanged."""
    body = page_cache.cache().body(
        page_cache.reader_key(state, access, current_user.id), lambda: _body(patient_id, access)
    )
    return render_template("plans/plan.html", access=access, patient=access.patient, body=body)


def _body(patient_id: int, access) -> Markup:
    care_plan = load_for(PLAN_PAGE, patient_id)
    if care_plan is None:  # removed since the fingerprint was read
        abort(404)
    needs = {n.domain: n for n in care_plan.needs}
    summary = plan_summary(care_plan)
    waiting = lifecycle.waiting_count(care_plan)
    wishes = {w.kind: w for w in care_plan.wishes}
    return Markup(  # noqa: S704 - a template rendered with autoescaping
        render_template(
            "plans/_plan_body.html",
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
            can_write=access.allows(Action.WRITE_PLAN),
            **summary,
            review_line=glance.review_line(care_plan, summary["next_meeting"]),
            waiting=waiting,
            compare=_suggestions(care_plan) if waiting else {},
            new_results=glance.results_for_next_review(care_plan),
            survey_meeting=(
                glance.survey_still_current(meeting_awaiting_survey(care_plan.id))
                if access.relation == Relation.OWNER
                else None
            ),
            conversation_counts=(
                conversations.counts_by_item(patient_id)
                if access.allows(Action.READ_CONVERSATIONS)
                else None
            ),
            can_write_message=access.allows(Action.WRITE_MESSAGE),
        )
    )
