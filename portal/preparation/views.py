from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from portal import audit
from portal.editing import EditConflict
from portal.extensions import db
from portal.fields import seen_version
from portal.lifecycle import waiting_items
from portal.meetings.summary import next_meeting
from portal.pages import patient_page
from portal.permissions import Access, Action
from portal.plans import glance
from portal.plans.services import load_plan
from portal.preparation import bp, services
from portal.preparation.forms import FIELDS, PreparationForm, TaskDoneForm

# What the person says to mark a step done.
DONE_LABELS = {
    "plan": _l("I have read my care plan"),
    "goals": _l("I have checked my goals"),
    "wishes": _l("I have checked my wishes"),
    "needs": _l("I have checked the About me sections"),
    "crisis": _l("I have checked my crisis plan"),
}

# The steps of getting ready, in the order they are best done, and where each is done.
TASKS = (
    ("plan", _l("Read your care plan"), "plans.plan", None),
    ("goals", _l("Check your goals"), "plans.plan", "goals"),
    ("wishes", _l("Your wishes and preferences"), "plans.plan", "wishes"),
    ("needs", _l("About you: your whole life"), "plans.plan", "whole-person"),
    ("crisis", _l("Check your crisis plan"), "contingency.crisis", None),
    ("notes", _l("Your questions and what has changed"), "preparation.preparation", "notes"),
)


def _task_list(plan, prep) -> list[dict]:
    states = services.task_states(plan, prep, current_user)
    tasks = []
    for key, title, endpoint, anchor in TASKS:
        state = states[key]
        tasks.append(
            {
                "key": key,
                "title": title,
                "href": url_for(endpoint, patient_id=plan.patient_id, _anchor=anchor),
                "status": state.status,
                "hint": _hint(key, state),
                "optional": key in services.OPTIONAL,
                "done_label": DONE_LABELS.get(key),
            }
        )
    return tasks


def _hint(key: str, state: services.TaskState) -> str:
    if key == "goals":
        if state.done:
            return ngettext(
                "%(num)d change waiting to be agreed",
                "%(num)d changes waiting to be agreed",
                state.done,
            )
        return _("Add, change or stop a goal if one is no longer right, or tell us it is fine.")
    if key in ("wishes", "needs", "notes"):
        return ngettext(
            "%(done)d of %(num)d written",
            "%(done)d of %(num)d written",
            state.total,
            done=state.done,
        )
    return ""


def _page(access: Access, plan, prep, form, conflict=None, closed=False):
    """The task list, each open step with its "I have done this" button, and the notes."""
    tasks = _task_list(plan, prep)
    body = render_template(
        "preparation/preparation.html",
        access=access,
        patient=access.patient,
        plan=plan,
        form=form,
        tasks=tasks,
        completed=sum(1 for t in tasks if t["status"] == services.COMPLETED),
        done_form=TaskDoneForm(formdata=None),
        review_line=glance.review_line(plan, next_meeting(plan.id)),
        conflict=conflict,
        closed=closed,
    )
    return body, 409 if conflict or closed else 200


@bp.route("/patients/<int:patient_id>/preparation", methods=["GET", "POST"])
@patient_page(Action.PROPOSE)
def preparation(patient_id: int, access):
    plan = load_plan(patient_id)
    if plan is None:
        abort(404)
    prep = services.open_preparation(plan.id)

    if request.method == "GET":
        form = PreparationForm(obj=prep)
        form.version.data = str(prep.version) if prep else ""
        form.preparation_id.data = str(prep.id) if prep else ""
        audit.record("preparation.view", patient_id, f"preparation {prep.id}" if prep else "")
        db.session.commit()
        return _page(access, plan, prep, form)

    form = PreparationForm()
    if not form.validate():
        return _page(access, plan, prep, form)
    changes = form.changes()
    if prep is None and not any(changes.values()):
        form.questions.errors.append(_("Write something in at least one box before saving"))
        return _page(access, plan, prep, form)
    if prep is not None and all(getattr(prep, f) == changes[f] for f in FIELDS):
        flash(_("You did not change anything, so nothing new has been saved."))
        return redirect(url_for("preparation.preparation", patient_id=patient_id))
    try:
        services.save_preparation(
            plan,
            seen_version(form.preparation_id.data),
            changes,
            seen_version(form.version.data),
            current_user,
            patient_id,
        )
    except services.PreparationClosed:
        # Keep what was typed; the next save starts getting ready for the following review.
        form.version.data = ""
        form.preparation_id.data = ""
        return _page(access, plan, prep, form, closed=True)
    except EditConflict as conflict:
        saved = services.open_preparation(plan.id)
        form.version.data = str(conflict.version)
        form.preparation_id.data = str(saved.id) if saved else ""
        shown = {"current": conflict.current, "mine": changes}
        return _page(access, plan, saved, form, conflict=shown)
    flash(_("Your notes for the review have been saved."))
    return redirect(url_for("preparation.preparation", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/preparation/done", methods=["POST"])
@patient_page(Action.PROPOSE, load=load_plan)
def task_done(patient_id: int, plan):
    """Mark one step done when the person says so."""
    return _mark(plan, services.mark_done, _("Thank you. That step is marked as done."))


@bp.route("/patients/<int:patient_id>/preparation/not-done", methods=["POST"])
@patient_page(Action.PROPOSE, load=load_plan)
def task_not_done(patient_id: int, plan):
    """Take back a step marked done by mistake."""
    return _mark(plan, services.mark_not_done, _("That step is marked as not done."))


def _mark(plan, mark, done_message: str):
    """Record what the person said about one step; a forged step is refused in words."""
    form = TaskDoneForm()
    if not form.validate():
        for message in form.task.errors or [_("Choose a step of getting ready from the list")]:
            flash(message, "error")
    else:
        mark(plan, form.task.data, current_user)
        db.session.commit()
        flash(done_message)
    return redirect(url_for("preparation.preparation", patient_id=plan.patient_id, _anchor="tasks"))


@bp.route("/patients/<int:patient_id>/preparation/sheet")
@patient_page(Action.PROPOSE, load=load_plan, audit_as="preparation.sheet")
def sheet(patient_id: int, access, plan):
    """One page to print and take to the meeting: questions, changes, feelings, suggestions."""
    meeting = next_meeting(plan.id)
    return render_template(
        "preparation/sheet.html",
        access=access,
        patient=access.patient,
        plan=plan,
        prep=services.open_preparation(plan.id),
        review_line=glance.review_line(plan, meeting),
        suggestions=waiting_items(plan),
    )
