from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.authorship import (
    agreed_with_patient,
    form_for,
    read_back,
    saved_in_clinic,
    section_title,
)
from portal.editing import EditConflict
from portal.extensions import db
from portal.fields import seen_version
from portal.goals import bp, services
from portal.goals.forms import ConfirmForm, GoalForm
from portal.i18n import format_date
from portal.limits import PlanFull, has_room
from portal.models import Goal, GoalStatus
from portal.pages import patient_page
from portal.permissions import Access, Action, with_patient
from portal.plan_lookup import plan_id_for

# The goals' section of the plan page. Saving a goal leads back there, and its message is
# flashed to show there too: at the top of a long page it would be out of sight.
GOALS = "goals"


def _back_to_goals(patient_id: int):
    return redirect(url_for("plans.plan", patient_id=patient_id, _anchor=GOALS))


def _shown(values: dict) -> dict:
    """Saved or typed values as the conflict table shows them (dates in the reader's format)."""
    shown = dict(values)
    if shown.get("target_date"):
        shown["target_date"] = format_date(shown["target_date"], "long")
    return shown


def _goal_form_page(
    access: Access,
    form: GoalForm,
    goal: Goal | None = None,
    conflict=None,
    closed=False,
    full: str | None = None,
):
    """``full``: the plan's goals limit message, when a new goal no longer fits; the form
    then shows what was typed again, so it can be copied (nothing is saved)."""
    page = render_template(
        "goals/goal_form.html",
        access=access,
        patient=access.patient,
        form=form,
        goal=goal,
        conflict=conflict,
        closed=closed,
        full=full,
        example_year=date.today().year + 1,
    )
    return page, 409 if conflict or closed or full else 200


def _viewed(goal: Goal, patient_id: int) -> None:
    audit.record("goal.view", patient_id, f"goal {goal.id}")
    db.session.commit()


def _save(access: Access, form, title: str, form_page, save, saved_message: str):
    """The one way both goal forms save once valid: a professional's goal agreed with the
    patient now is read back first (H14, ``portal.authorship``), then ``save(agreed_now)``
    saves it, returning ``None`` or the page to answer instead (a conflict). Patients and
    carers are told ``saved_message``."""
    instead = read_back(form, access, title, form_page)
    if instead is not None:
        return instead
    instead = save(agreed_with_patient(form, access))
    if instead is not None:
        return instead
    flash(saved_in_clinic(form, access) if with_patient(access) else saved_message, GOALS)
    return _back_to_goals(access.patient.id)


@bp.route("/patients/<int:patient_id>/goals/new", methods=["GET", "POST"])
@patient_page(Action.ADD_GOAL)
def new(patient_id: int, access):
    """Add a goal: a proposal for the review, or, for a professional writing with the
    patient, agreed with them now, as ``edit`` saves it."""
    plan_id = plan_id_for(patient_id)
    form = form_for(GoalForm, access)()
    if request.method == "GET" and not has_room(Goal, plan_id):
        flash(PlanFull(Goal).message, GOALS)
        return _back_to_goals(patient_id)
    if not form.validate_on_submit():
        return _goal_form_page(access, form)
    if not has_room(Goal, plan_id):
        # Filled up since the form was opened (someone else added a goal): before the
        # read-back page (H14), the form again with what was typed, never a lost goal.
        return _goal_form_page(access, form, full=PlanFull(Goal).message)

    def save(agreed_now: bool):
        try:
            services.add_goal(
                plan_id, form.changes(), current_user, patient_id, with_patient=agreed_now
            )
        except PlanFull as full:  # filled up while the read-back page was open
            return _goal_form_page(access, form, full=full.message)
        return None

    return _save(
        access,
        form,
        section_title(Goal()),
        lambda: _goal_form_page(access, form),
        save,
        _("Your new goal has been saved. It will be talked about at the next review."),
    )


@bp.route("/patients/<int:patient_id>/goals/<int:goal_id>/edit", methods=["GET", "POST"])
@patient_page(Action.WRITE_PLAN)
def edit(patient_id: int, goal_id: int, access):
    """Change a goal: a proposal for the review, or, for a professional writing with the
    patient, agreed with them now (read back first, ``portal.authorship``)."""
    goal = services.goal_for(patient_id, goal_id)
    form_class = form_for(GoalForm, access)
    if request.method == "GET":
        if goal.status not in services.OPEN:
            abort(404)
        form = form_class(obj=goal)
        form.version.data = str(goal.version)
        _viewed(goal, patient_id)
        return _goal_form_page(access, form, goal)

    form = form_class()  # only what was posted: a missing version must count as stale
    form.saved_target_date = goal.target_date
    if not form.validate():
        return _goal_form_page(access, form, goal)
    changes = form.changes()
    agreed_now = agreed_with_patient(form, access)
    checked_now = agreed_now and (goal.pending_review or goal.status != GoalStatus.AGREED)
    if goal.status in services.OPEN and services.unchanged(goal, changes) and not checked_now:
        flash(_("You did not change anything, so nothing new has been saved."), GOALS)
        return _back_to_goals(patient_id)

    def save(agreed_now: bool):
        try:
            services.change_goal(
                goal,
                changes,
                seen_version(form.version.data),
                current_user,
                patient_id,
                with_patient=agreed_now,
            )
        except services.GoalClosed:
            return _goal_form_page(access, form, goal, closed=True)
        except EditConflict as conflict:
            form.version.data = str(conflict.version)
            shown = {"current": _shown(conflict.current), "mine": _shown(changes)}
            return _goal_form_page(access, form, goal, conflict=shown)
        return None

    return _save(
        access,
        form,
        section_title(goal),
        lambda: _goal_form_page(access, form, goal),
        save,
        _("Your changes have been saved. They will be talked about at the next review."),
    )


def _confirm_page(access: Access, template: str, goal: Goal, form, changed=False, closed=False):
    page = render_template(
        template,
        access=access,
        patient=access.patient,
        goal=goal,
        form=form,
        changed=changed,
        closed=closed,
    )
    return page, 409 if changed or closed else 200


@bp.route("/patients/<int:patient_id>/goals/<int:goal_id>/withdraw", methods=["GET", "POST"])
@patient_page(Action.PROPOSE)
def withdraw(patient_id: int, goal_id: int, access):
    """Ask before withdrawing: the goal stays on the plan, marked, until the review."""
    goal = services.goal_for(patient_id, goal_id)
    template = "goals/withdraw.html"
    if request.method == "GET":
        if goal.status not in services.OPEN:
            abort(404)
        form = ConfirmForm(version=str(goal.version))
        _viewed(goal, patient_id)
        return _confirm_page(access, template, goal, form)

    form = ConfirmForm()
    if not form.validate():  # only the CSRF token can fail
        abort(400)
    try:
        services.withdraw_goal(goal, seen_version(form.version.data), current_user, patient_id)
    except services.GoalClosed:
        return _confirm_page(access, template, goal, form, closed=True)
    except EditConflict as conflict:
        # Show the goal as it is now and ask again, rather than withdraw something unseen.
        form.version.data = str(conflict.version)
        return _confirm_page(access, template, goal, form, changed=True)
    flash(
        _("You have asked to withdraw this goal. It will be talked about at the next review."),
        GOALS,
    )
    return _back_to_goals(patient_id)


@bp.route("/patients/<int:patient_id>/goals/<int:goal_id>/keep", methods=["POST"])
@patient_page(Action.PROPOSE)
def keep(patient_id: int, goal_id: int):
    """Take back a request to withdraw a goal (the button is on the plan page)."""
    goal = services.goal_for(patient_id, goal_id)
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    try:
        services.keep_goal(goal, seen_version(form.version.data), current_user, patient_id)
    except services.GoalClosed:
        flash(
            _("This goal can no longer be kept: it was changed at a review or by someone else."),
            GOALS,
        )
        return _back_to_goals(patient_id)
    except EditConflict:
        flash(_("Someone else changed this goal just now. Check it below and try again."), GOALS)
        return _back_to_goals(patient_id)
    flash(_("You have taken back your request to withdraw this goal."), GOALS)
    return _back_to_goals(patient_id)
