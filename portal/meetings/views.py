"""Review meetings: the professional's review page and forms; results, named contact, calendar."""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from portal import accounts, audit
from portal.conversations import services as conversations
from portal.editing import EditConflict
from portal.extensions import db
from portal.fields import field_of
from portal.i18n import format_date, format_time, html_lang
from portal.loading import RECORD_MEETING, load_for
from portal.meetings import bp, forms, ics, services
from portal.meetings.summary import next_meeting
from portal.models import CarePlan, SharedResult
from portal.models.base import utcnow
from portal.pages import patient_page
from portal.permissions import Action
from portal.plans.services import load_plan
from portal.portability import condition_review
from portal.versions.services import latest_version


def _plan(patient_id: int, loader=load_plan) -> CarePlan:
    plan = loader(patient_id)
    if plan is None:
        abort(404)
    return plan


def _since_agreed(plan: CarePlan):
    """The last agreed version (None before the first review) and the proposals since."""
    previous = latest_version(plan.id)
    return previous, services.proposals(plan, previous.snapshot if previous else None)


_int = forms.int_or_none


@bp.app_template_filter("meeting_time")
def meeting_time(moment, date_format: str = "full") -> str:
    """A booked time as the practice's wall clock: "Thursday, 7 January 2027 at 10:30"."""
    if moment is None:
        return ""
    return _(
        "%(date)s at %(time)s",
        date=format_date(moment, date_format),
        time=format_time(moment),
    )


# --- the professional's review page ------------------------------------------------------


@bp.route("/patients/<int:patient_id>/review")
@patient_page(
    Action.AGREE, load=services.review_plan, audit_as="review.view", audit_detail="review page"
)
def review(patient_id: int, access, plan):
    """What changed since the last agreed version, the patient's preparation and results.

    Recording a meeting leads here, so this page is part of what the professional waits for
    after saving: its view is audited in one INSERT (``patient_page``'s ``audit_as``)."""
    previous, found = _since_agreed(plan)
    return render_template(
        "meetings/review.html",
        access=access,
        patient=access.patient,
        plan=plan,
        previous=previous,
        proposals=found,
        preparation=services.open_preparation(plan.id),
        results=services.shared_results(plan.id),
        meeting=next_meeting(plan.id),
        conversations=conversations.since(patient_id, plan.last_review_date),
        imported_conditions=condition_review.pending(patient_id),
    )


def _render_record(access, plan, form, previous, status=200, conflict=None):
    return (
        render_template(
            "meetings/record.html",
            access=access,
            patient=access.patient,
            plan=plan,
            form=form,
            previous=previous,
            conflict=conflict,
            preparation=services.open_preparation(plan.id),
            field_name=forms.field_name,
            outcome_name=forms.outcome_name,
        ),
        status,
    )


def _meeting_defaults(plan: CarePlan, fresh: bool) -> dict:
    """A fresh form starts from the plan; a submitted one keeps only what was sent."""
    if not fresh:
        return {}
    meeting = next_meeting(plan.id)
    booked = meeting.scheduled_for if meeting else None
    held = services.to_local(booked).date() if booked else None
    usual = services.review_interval(plan.complex_needs, None)
    return {
        "agreed_version": plan.agreed_version,
        "held_on": held if held and held <= services.local_today() else None,
        "complex_needs": plan.complex_needs,
        "review_interval": ""
        if plan.review_interval_months == usual
        else str(plan.review_interval_months),
    }


def _record_plan(patient_id: int) -> CarePlan | None:
    """The form shows who proposed what; recording it reads only what the decisions and the
    new version's snapshot need (``portal.loading.RECORD_MEETING``)."""
    if request.method == "GET":
        return services.review_plan(patient_id)
    return load_for(RECORD_MEETING, patient_id)


@bp.route("/patients/<int:patient_id>/review/record", methods=["GET", "POST"])
@patient_page(Action.AGREE, load=_record_plan)
def record(patient_id: int, access, plan):
    """Record the meeting: a decision for each proposal, then the plan is agreed as a version."""
    previous, found = _since_agreed(plan)
    fresh = request.method == "GET"
    form = forms.record_form(
        found,
        services.goals_to_close(plan),
        prefill_versions=fresh,
        data=_meeting_defaults(plan, fresh),
    )
    form.last_review = plan.last_review_date
    forms.offer_conversations(form, conversations.for_patient(patient_id))
    if fresh:
        audit.record("review.view", patient_id, "record meeting form")
        db.session.commit()
        return _render_record(access, plan, form, previous)

    seen_agreed = _int(request.form.get("agreed_version"))
    if seen_agreed != plan.agreed_version:
        return _conflict(access, patient_id, services.MeetingConflict("meeting"))
    unknown = [k for k in request.form if k.startswith(("p_", "o_")) and field_of(k) not in form]
    if unknown:
        # Ids that are not this plan's pending proposals: another patient's items, or a
        # proposal that is no longer waiting. Nothing is saved.
        return _render_record(access, plan, form, previous, 409, conflict="unknown")
    try:
        services.check_versions(plan, found, seen_agreed, forms.seen_versions(form))
    except services.MeetingConflict as conflict:
        return _conflict(access, patient_id, conflict)
    form.validate()
    if not forms.check_amendments(form):  # the final word: unused amend fields are let off
        return _render_record(access, plan, form, previous)

    details = services.MeetingDetails(
        held_on=form.held_on.data,
        attendees=form.attendees.data.strip(),
        notes=(form.notes.data or "").strip(),
        patient_feedback=form.patient_feedback.data.strip(),
        complex_needs=form.complex_needs.data,
        interval_months=_int(form.review_interval.data),
        crisis_reviewed=form.crisis_reviewed.data,
        next_review_on=form.next_review_on.data,
        held_by=form.held_by.data or None,
        interpreter_used=form.interpreter_used.data,
        conversation_ids=tuple(form.conversations.data or ()),
    )
    try:
        meeting, version = services.record_meeting(
            plan,
            current_user,
            details,
            _decisions(form, found),
            seen_agreed,
            forms.seen_versions(form),
            forms.outcomes(form),
            previous,
        )
    except services.MeetingConflict as conflict:
        return _conflict(access, patient_id, conflict)
    flash(
        _(
            "The review meeting is recorded and the plan is agreed as version %(number)s. "
            "The next review is due by %(date)s.",
            number=version.number,
            date=format_date(plan.next_review_date, "long"),
        )
    )
    return redirect(url_for("meetings.review", patient_id=patient_id))


def _decisions(form, found) -> dict:
    """What the form decided for each proposal (agree, amend with its amendments, decline)."""
    return {
        p.key: services.Decision(
            form[forms.field_name(p, "decision")].data, forms.amendments(form, p)
        )
        for p in found
    }


def _refilled(plan, found, conflict: services.MeetingConflict, make_form):
    """The form again on the fresh plan, keeping everything typed.

    Decisions on proposals that changed (or are new) are cleared, so the professional reads
    them again before agreeing; the form now carries the current versions.
    """
    typed = MultiDict(request.form)
    typed["agreed_version"] = str(plan.agreed_version)
    changed = {p.key for p in found if conflict.reason == "meeting" or p.key in conflict.changed}
    for p in found:
        typed[forms.field_name(p, "version")] = str(p.item.version)
        if p.key in changed:
            typed.pop(forms.field_name(p, "decision"), None)
    form = make_form(formdata=typed)
    for p in found:
        if p.key in changed:
            form[forms.field_name(p, "decision")].errors = [
                _(
                    "This proposal changed while you were filling in the form. "
                    "Read it again and choose."
                )
            ]
    return form


def _conflict(access, patient_id: int, conflict: services.MeetingConflict):
    """Show the meeting form again on the fresh plan (``_refilled``)."""
    plan = _plan(patient_id, services.review_plan)
    previous, found = _since_agreed(plan)

    def make_form(formdata):
        form = forms.record_form(found, services.goals_to_close(plan), formdata=formdata)
        form.last_review = plan.last_review_date
        forms.offer_conversations(form, conversations.for_patient(patient_id))
        return form

    form = _refilled(plan, found, conflict, make_form)
    return _render_record(access, plan, form, previous, 409, conflict=conflict.reason)


# --- crisis changes between meetings -------------------------------------------------------


def _crisis_form(found, fresh_from: CarePlan | None = None, **kwargs):
    """A decision for each crisis change; ``fresh_from``: a new form on that plan."""
    if fresh_from is not None:
        kwargs["data"] = {"agreed_version": fresh_from.agreed_version}
    return forms.record_form(
        found, prefill_versions=fresh_from is not None, base=forms.CrisisChangesForm, **kwargs
    )


def _crisis_proposals(plan: CarePlan) -> list:
    """The crisis changes waiting for review, against the latest agreed version."""
    previous = latest_version(plan.id)
    return services.crisis_proposals(plan, previous.snapshot if previous else None)


def _render_crisis(access, plan, form, status=200, conflict=None):
    page = render_template(
        "meetings/crisis_changes.html",
        access=access,
        patient=access.patient,
        plan=plan,
        form=form,
        conflict=conflict,
        field_name=forms.field_name,
    )
    return page, status


@bp.route("/patients/<int:patient_id>/crisis/changes", methods=["GET", "POST"])
@patient_page(Action.AGREE, load=services.review_plan)
def crisis_changes(patient_id: int, access, plan):
    """Accept, amend or decline the crisis changes waiting, without a meeting.

    Reached from the worklist ("crisis plan changed") and the crisis page: an unsafe
    instruction typed by a patient or carer must not wait for the next review meeting.
    """
    found = _crisis_proposals(plan)
    if request.method == "GET":
        audit.record("review.view", patient_id, "crisis changes form")
        db.session.commit()
        return _render_crisis(access, plan, _crisis_form(found, fresh_from=plan))

    form = _crisis_form(found)
    unknown = [k for k in request.form if k.startswith("p_") and field_of(k) not in form]
    if unknown or not found:  # another plan's items, or changes no longer waiting
        return _render_crisis(access, plan, form, 409, conflict="unknown")
    seen_agreed = _int(request.form.get("agreed_version"))
    try:
        services.check_versions(plan, found, seen_agreed, forms.seen_versions(form))
    except services.MeetingConflict as conflict:
        return _crisis_conflict(access, patient_id, conflict)
    form.validate()
    if not forms.check_amendments(form):
        return _render_crisis(access, plan, form)
    try:
        version = services.review_crisis_changes(
            plan,
            current_user,
            _decisions(form, found),
            seen_agreed,
            forms.seen_versions(form),
            crisis_reviewed=form.crisis_reviewed.data,
        )
    except services.MeetingConflict as conflict:
        return _crisis_conflict(access, patient_id, conflict)
    flash(
        _(
            "The crisis plan changes are decided and the plan is agreed as version %(number)s. "
            "The patient has been told.",
            number=version.number,
        )
    )
    return redirect(url_for("contingency.crisis", patient_id=patient_id))


def _crisis_conflict(access, patient_id: int, conflict: services.MeetingConflict):
    plan = _plan(patient_id, services.review_plan)
    found = _crisis_proposals(plan)
    form = _refilled(plan, found, conflict, lambda formdata: _crisis_form(found, formdata=formdata))
    return _render_crisis(access, plan, form, 409, conflict=conflict.reason)


# --- scheduling and the calendar file ----------------------------------------------------


@bp.route("/patients/<int:patient_id>/meetings/schedule", methods=["GET", "POST"])
@patient_page(Action.AGREE, load=load_plan)
def schedule(patient_id: int, access, plan):
    meeting = next_meeting(plan.id)
    data = {}
    if meeting and meeting.scheduled_for:
        local = services.to_local(meeting.scheduled_for)
        data = {"day": local.date(), "at": local.time(), "location": meeting.location}
    form = forms.ScheduleForm(data=data)
    if request.method == "GET":  # the booking form shows the patient and their meeting
        audit.record("review.view", patient_id, "booking form")
        db.session.commit()
    if form.validate_on_submit():
        when = services.to_utc(form.day.data, form.at.data)
        services.schedule_meeting(plan, current_user, when, form.location.data.strip())
        flash(_("The review meeting is booked. The patient can add it to their calendar."))
        return redirect(url_for("meetings.review", patient_id=patient_id))
    return render_template(
        "meetings/schedule.html", access=access, patient=access.patient, form=form, meeting=meeting
    )


@bp.route("/patients/<int:patient_id>/meetings/did-not-attend", methods=["POST"])
@patient_page(Action.AGREE, load=load_plan)
def did_not_attend(patient_id: int, plan):
    """The patient did not come to the booked meeting: recorded, and the booking closed."""
    if services.record_did_not_attend(plan, current_user) is None:
        flash(_("There is no booked meeting to record."))
    else:
        flash(_("Recorded that the patient did not attend. The review is still due."))
    return redirect(url_for("plans.plan", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/meetings/next.ics")
@patient_page(Action.VIEW_PLAN, load=load_plan)
def calendar_file(patient_id: int, access, plan):
    """The next booked meeting as a calendar file, in the reader's language."""
    meeting = next_meeting(plan.id)
    if meeting is None or meeting.scheduled_for is None:
        abort(404)
    organisation = access.patient.organisation.name
    event = ics.Event(
        uid=f"review-meeting-{meeting.id}@careplan.nhs.invalid",
        start=meeting.scheduled_for,
        length=services.MEETING_LENGTH,
        summary=_("Care plan review meeting"),
        location=meeting.location,
        description=_(
            "Your care plan review with %(organisation)s. Bring your questions and anything "
            "that has changed since your last review.",
            organisation=organisation,
        ),
        language=html_lang(),
        url=accounts.email_link("plans.plan", patient_id=patient_id),
        reminder=_("Your care plan review is tomorrow."),
    )
    audit.record("meeting.calendar_download", patient_id, f"meeting {meeting.id}")
    db.session.commit()
    response = make_response(ics.calendar(event, utcnow()))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="care-plan-review.ics"'
    return response


# --- results -----------------------------------------------------------------------------


@bp.route("/patients/<int:patient_id>/results")
@patient_page(Action.VIEW_PLAN, load=load_plan)
def results(patient_id: int, access, plan):
    """The results letter: results shared before the meeting, each with a plain explanation."""
    shared = services.shared_results(plan.id)
    audit.record("results.view", patient_id, "shared results")
    db.session.commit()
    since = plan.last_review_date
    current = [r for r in shared if since is None or r.created_at.date() >= since]
    return render_template(
        "meetings/results.html",
        access=access,
        patient=access.patient,
        results=shared,
        current=current,
        earlier=[r for r in shared if r not in current],
        meeting=next_meeting(plan.id),
        can_share=access.allows(Action.AGREE),
    )


@bp.route("/patients/<int:patient_id>/results/new", methods=["GET", "POST"])
@patient_page(Action.AGREE, load=load_plan)
def share_result(patient_id: int, access, plan):
    form = forms.ResultForm()
    if form.validate_on_submit():
        services.share_result(
            plan,
            current_user,
            form.name.data.strip(),
            form.value.data.strip(),
            form.taken_on.data,
            form.explanation.data.strip(),
        )
        flash(_("The result is shared. The patient can read it before the meeting."))
        return redirect(url_for("meetings.review", patient_id=patient_id) + "#results")
    return render_template(
        "meetings/share_result.html", access=access, patient=access.patient, form=form
    )


@bp.route("/patients/<int:patient_id>/results/<int:result_id>/remove", methods=["POST"])
@patient_page(Action.AGREE, load=load_plan)
def remove_result(patient_id: int, result_id: int, plan):
    """Take back a result shared by mistake. Another plan's result is not found."""
    result = db.session.scalars(
        select(SharedResult).where(SharedResult.id == result_id, SharedResult.plan_id == plan.id)
    ).first()
    if result is None:
        abort(404)
    if not forms.RemoveForm().validate_on_submit():
        abort(400)
    services.remove_result(plan, result)
    flash(_("The result has been removed."))
    return redirect(url_for("meetings.review", patient_id=patient_id) + "#results")


# --- named contact -----------------------------------------------------------------------


@bp.route("/patients/<int:patient_id>/named-contact", methods=["GET", "POST"])
@patient_page(Action.AGREE, load=load_plan)
def named_contact(patient_id: int, access, plan):
    """Change the named contact to a professional of the patient's own organisation."""
    people = services.named_contact_choices(access.patient)
    fresh = request.method == "GET"
    form = forms.NamedContactForm(
        data={"contact": plan.named_contact_id, "plan_version": plan.version} if fresh else {}
    )
    form.contact.choices = [
        SelectChoice(u.id, f"{u.display_name} – {u.job_title}" if u.job_title else u.display_name)
        for u in people
    ]
    stale = False
    if fresh:
        audit.record("named_contact.view", patient_id, "named contact form")
        db.session.commit()
    elif form.validate_on_submit():
        if _int(form.plan_version.data) != plan.version:
            stale = True
            form.plan_version.data = str(plan.version)
        else:
            chosen = next(u for u in people if u.id == form.contact.data)
            services.change_named_contact(plan, chosen)
            flash(_("%(name)s is now the named contact.", name=chosen.display_name))
            return redirect(url_for("meetings.review", patient_id=patient_id))
    return (
        render_template(
            "meetings/named_contact.html",
            access=access,
            patient=access.patient,
            plan=plan,
            form=form,
            stale=stale,
        ),
        409 if stale else 200,
    )


@bp.route("/patients/<int:patient_id>/named-contact/request", methods=["GET", "POST"])
@patient_page(Action.PROPOSE, load=load_plan)
def request_named_contact(patient_id: int, access, plan):
    """The patient (or a carer who may suggest changes) asks for a different named contact."""
    if request.method == "GET":
        saved = {"reason": plan.named_contact_request or "", "version": plan.version}
        form = forms.NamedContactRequestForm(data=saved)
    else:  # only what was posted: a form that lost its version must count as stale
        form = forms.NamedContactRequestForm()
    conflict = None
    if form.validate_on_submit():
        reason = form.reason.data.strip()
        try:
            services.request_named_contact(plan, reason, _int(form.version.data))
        except EditConflict as e:
            conflict = {"current": e.current, "mine": {"named_contact_request": reason}}
            form.version.data = str(e.version)
        else:
            flash(_("Your request has been sent. It will be discussed with you."))
            return redirect(url_for("plans.plan", patient_id=patient_id) + "#named-contact")
    if request.method == "GET":
        audit.record("named_contact.view", patient_id, "named contact request form")
        db.session.commit()
    page = render_template(
        "meetings/named_contact_request.html",
        access=access,
        patient=access.patient,
        plan=plan,
        form=form,
        conflict=conflict,
        conflict_fields=[("named_contact_request", form.reason.label.text)],
    )
    return page, 409 if conflict else 200
