"""The practice proposes care team members; the patient agrees or ends them; urgent care
finds a patient and opens the crisis summary with a reason."""

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import security
from portal.auth.throttle import limits, on_breach
from portal.extensions import db, limiter
from portal.models import MembershipStatus, Organisation, User
from portal.nhs_number import normalise
from portal.organisations import bp, services
from portal.organisations.forms import (
    EmergencyReasonForm,
    EmergencySearchForm,
    ProposeMemberForm,
)
from portal.pages import account_page, patient_page
from portal.permissions import Action, urgent_care_organisations

# --------------------------------------------------------------------------- #
# The practice: proposing and removing care team members of other organisations
# --------------------------------------------------------------------------- #


def _choose_member(form: ProposeMemberForm, patient) -> dict[int, User]:
    organisations = services.other_organisations(patient)
    form.organisation.choices = [("", _("Choose an organisation"))] + [
        (org.id, org.name) for org in organisations
    ]
    staff = {}
    choices = [("", _("The whole team"))]
    for org in organisations:
        for person in services.staff_of(org.id):
            staff[person.id] = person
            choices.append((person.id, f"{person.display_name} ({org.name})"))
    form.professional.choices = choices
    return staff


@bp.route("/patients/<int:patient_id>/care-team/access", methods=["GET", "POST"])
@patient_page(Action.MANAGE_CARE_TEAM)
def team(patient_id: int, access):
    patient = access.patient
    form = ProposeMemberForm()
    staff = _choose_member(form, patient)
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation.data)
        professional = staff.get(form.professional.data) if form.professional.data else None
        if form.professional.data and (
            professional is None
            or professional.id not in {p.id for p in services.staff_of(organisation.id)}
        ):
            form.professional.errors.append(
                _("Choose someone who works for the organisation, or the whole team")
            )
        else:
            services.propose(
                patient,
                organisation,
                professional,
                form.scope.data,
                form.end_date.data,
                current_user,
                form.spoken_consent.data,
            )
            flash(
                _("%(org)s can now see the plan.", org=organisation.name)
                if form.spoken_consent.data
                else _("%(org)s will see the plan once the patient agrees.", org=organisation.name)
            )
            return redirect(url_for(".team", patient_id=patient_id))
    return render_template(
        "organisations/team.html",
        patient=patient,
        form=form,
        memberships=services.memberships_of(patient_id),
    )


def _membership(patient_id: int, membership_id: int):
    membership = services.membership_of(patient_id, membership_id)
    if membership is None:
        abort(404)
    return membership


@bp.route(
    "/patients/<int:patient_id>/care-team/access/<int:membership_id>/end", methods=["POST"]
)
@patient_page(Action.MANAGE_CARE_TEAM)
def practice_end(patient_id: int, membership_id: int):
    membership = _membership(patient_id, membership_id)
    if services.end(membership, current_user):
        flash(_("%(org)s can no longer see the plan.", org=membership.organisation.name))
    return redirect(url_for(".team", patient_id=patient_id))


# --------------------------------------------------------------------------- #
# The patient: agreeing to and ending care team access, and emergency access
# --------------------------------------------------------------------------- #


@bp.route("/patients/<int:patient_id>/sharing/teams/<int:membership_id>/agree", methods=["POST"])
@patient_page(Action.MANAGE_SHARING)
def agree(patient_id: int, membership_id: int):
    membership = _membership(patient_id, membership_id)
    if services.agree(membership, current_user):
        flash(_("%(org)s can now see your plan.", org=membership.organisation.name))
    elif membership.status == MembershipStatus.ENDED:
        flash(_("This has already been stopped."))
    return redirect(url_for("sharing.manage", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/sharing/teams/<int:membership_id>/end", methods=["POST"])
@patient_page(Action.MANAGE_SHARING)
def patient_end(patient_id: int, membership_id: int):
    membership = _membership(patient_id, membership_id)
    if services.end(membership, current_user):
        flash(_("%(org)s can no longer see your plan.", org=membership.organisation.name))
    else:
        flash(_("This has already been stopped."))
    return redirect(url_for("sharing.manage", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/sharing/emergency", methods=["POST"])
@patient_page(Action.MANAGE_SHARING)
def emergency_choice(patient_id: int, access):
    allow = request.form.get("allow") == "yes"
    if services.set_emergency_access(access.patient, allow):
        flash(
            _("Urgent care can open your crisis plan in an emergency.")
            if allow
            else _("Urgent care can no longer open your crisis plan. They will see whom to ring.")
        )
    return redirect(url_for("sharing.manage", patient_id=patient_id))


# --------------------------------------------------------------------------- #
# Urgent care: search, then the reason, then the crisis summary
# --------------------------------------------------------------------------- #

FOUND_KEY = "emergency_found"
FOUND_SECONDS = 15 * 60  # the reason must follow the search within this time


def clinician_key() -> str:
    return "emergency-search:" + str(current_user.get_id() or "none").partition(":")[0]


@bp.route("/urgent-care", methods=["GET", "POST"])
@account_page(Action.EMERGENCY_SEARCH)
@limiter.limit(
    limits("EMERGENCY_SEARCH_LIMITS"), key_func=clinician_key, methods=["POST"],
    on_breach=on_breach,
)
def search():
    """Both the NHS number and the date of birth must match; a miss says only that."""
    form = EmergencySearchForm()
    found, searched = None, False
    if form.validate_on_submit():
        searched = True
        number, born = normalise(form.nhs_number.data), form.date_of_birth.data
        found = services.find_for_emergency(number, born)
        services.record_search(found, urgent_care_organisations(current_user)[0])
        session.pop(FOUND_KEY, None)
        if found is not None and found.open_to_urgent_care:
            session[FOUND_KEY] = {"patient": found.patient.id, "at": security.now()}
    return render_template(
        "organisations/search.html",
        form=form,
        found=found,
        searched=searched,
        reason_form=EmergencyReasonForm(formdata=None),
    )


def _found_patient():
    """The patient the clinician's last search found, while it is fresh."""
    found = session.get(FOUND_KEY) or {}
    if not isinstance(found.get("at"), int | float) or (
        security.now() - found["at"] > FOUND_SECONDS
    ):
        return None
    from portal.models import Patient

    return db.session.get(Patient, found.get("patient") or 0)


@bp.route("/urgent-care/open", methods=["POST"])
@account_page(Action.EMERGENCY_SEARCH)
def open_crisis():
    patient = _found_patient()
    if patient is None or not patient.emergency_access:
        flash(_("Search again for the person whose crisis plan you need."))
        return redirect(url_for(".search"))
    form = EmergencyReasonForm()
    if not form.validate_on_submit():
        found = services.find_for_emergency(patient.nhs_number, patient.date_of_birth)
        return render_template(
            "organisations/search.html",
            form=EmergencySearchForm(formdata=None),
            found=found,
            searched=True,
            reason_form=form,
        )
    organisation = urgent_care_organisations(current_user)[0]
    services.open_emergency(
        patient, current_user, organisation, form.reason.data, form.reason_text.data or ""
    )
    session.pop(FOUND_KEY, None)
    return redirect(url_for("contingency.crisis", patient_id=patient.id))
