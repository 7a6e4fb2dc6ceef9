"""Register pages for practice administrators (and, for adding one person, professionals).

Everything is scoped to the signed-in person's own organisation; anything else is a 404.
None of these pages shows plan content.
"""

from functools import wraps

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal import audit, labels
from portal.activation import services as activation
from portal.extensions import db
from portal.models import CodeChannel, ImportStatus, Organisation
from portal.pagination import requested_page
from portal.permissions import RegisterAction, can_register, require_register
from portal.register import bp, offers, services
from portal.register.forms import (
    ConfirmForm,
    DetailsForm,
    OfferForm,
    OutcomeForm,
    PatientForm,
    UploadForm,
)
from portal.register.importer import add_one, on_register
from portal.register.rows import RegisterRow

SEARCH_MAX = 100


def register_work(action: RegisterAction):
    """The view is for people who may do ``action`` for their own organisation; 404 otherwise.

    On a route naming a patient, the patient must be on that organisation's register too.
    """

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if "patient_id" in kwargs:
                require_register(current_user, action, kwargs["patient_id"])
            elif not can_register(current_user, action, current_user.organisation_id):
                abort(404)
            return view(*args, **kwargs)

        wrapped.required_action = action  # the route walk (tests/test_routes.py) reads this
        return wrapped

    return decorate


def _organisation() -> Organisation:
    return db.session.get(Organisation, current_user.organisation_id)


@bp.url_value_preprocessor
def _upload_limit(endpoint, _values):
    """A register file is larger than any form: the upload alone may send up to the setting.

    URL value preprocessors run before the app's request hooks (CSRF, control characters),
    which read the form and so the body.
    """
    if endpoint == "register.upload":
        request.max_content_length = current_app.config["REGISTER_UPLOAD_MAX_BYTES"]


@bp.route("/")
@register_work(RegisterAction.PATIENT_DETAILS)
def home():
    search = request.args.get("q", "").strip()[:SEARCH_MAX]
    organisation = _organisation()
    on, left = services.register_size(organisation.id)
    return render_template(
        "register/home.html",
        organisation=organisation,
        on_register=on,
        left=left,
        result=services.people(organisation.id, search, requested_page()),
        search=search,
        imports=services.recent_imports(organisation.id),
        may_import=can_register(current_user, RegisterAction.IMPORT, organisation.id),
    )


@bp.route("/import", methods=["GET", "POST"])
@register_work(RegisterAction.IMPORT)
def upload():
    form = UploadForm()
    if form.validate_on_submit():
        record = services.preview(form.file.data, _organisation(), current_user.id)
        return redirect(url_for("register.import_result", import_id=record.id))
    return render_template("register/upload.html", form=form)


def _import_or_404(import_id: int):
    record = services.import_for(import_id, current_user.organisation_id)
    if record is None:
        abort(404)
    return record


@bp.route("/imports/<int:import_id>")
@register_work(RegisterAction.IMPORT)
def import_result(import_id: int):
    record = _import_or_404(import_id)
    on, _left = services.register_size(record.organisation_id)
    running = record.status in (ImportStatus.CHECKING, ImportStatus.IMPORTING)
    return render_template(
        "register/import.html",
        record=record,
        rejections=list(services.rejections(record)),
        form=ConfirmForm(),
        on_register=on,
        waiting=record.status == ImportStatus.PREVIEWED and record.stored_as is not None,
        running=running,
        progress=services.progress(record) if running else None,
    )


@bp.route("/imports/<int:import_id>/confirm", methods=["POST"])
@register_work(RegisterAction.IMPORT)
def confirm(import_id: int):
    record = _import_or_404(import_id)
    if ConfirmForm().validate_on_submit():
        if services.confirm(record, current_user.id):
            flash(_("The register is being imported. This page shows the result when it is done."))
        else:
            flash(_("This file is no longer waiting to be imported. Upload it again if needed."))
    return redirect(url_for("register.import_result", import_id=record.id))


@bp.route("/imports/<int:import_id>/rejected.csv")
@register_work(RegisterAction.IMPORT)
def rejected_csv(import_id: int):
    record = _import_or_404(import_id)
    audit.record("register.rejections_downloaded", detail=f"import {record.id}")
    db.session.commit()
    return Response(
        services.rejections_csv(record),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="register-rejected-{record.id}.csv"'
        },
    )


@bp.route("/patients/new", methods=["GET", "POST"])
@register_work(RegisterAction.ADD_PATIENT)
def add_patient():
    form = PatientForm()
    organisation = _organisation()
    if form.validate_on_submit():
        number = "".join(form.nhs_number.data.split())
        if on_register(number, organisation.id):
            form.nhs_number.errors.append(_("This NHS number is already on your register"))
        else:
            row = RegisterRow(
                nhs_number=number,
                given_name=form.given_name.data,
                family_name=form.family_name.data,
                date_of_birth=form.date_of_birth.data,
                sex=form.sex.data,
                registered_on=form.registered_on.data,
                conditions=tuple(sorted(set(form.conditions.data))),
            )
            outcome = add_one(row, organisation, current_user.id)
            if outcome.rejections:
                db.session.rollback()
                form.date_of_birth.errors.append(str(outcome.rejections[0].reason))
            else:
                db.session.commit()
                flash(
                    _("%(name)s has been added to the register.", name=row.given_name)
                    if not outcome.transferred
                    else _(
                        "%(name)s has moved to your register from another practice.",
                        name=row.given_name,
                    )
                )
                return redirect(url_for("register.home"))
    return render_template("register/patient_form.html", form=form)


def _patient_page(person, offer_form=None, outcome_form=None):
    offer = offers.latest_offer(person.id)
    return render_template(
        "register/patient.html",
        patient=person,
        entry=services.entry(person.id),
        offer=offer,
        state=offers.state(offer),
        again_from=offers.offer_again_from(offer),
        may_offer=offers.may_offer(offer),
        offer_form=offer_form or OfferForm(formdata=None),
        outcome_form=outcome_form or OutcomeForm(formdata=None),
        account_form=ConfirmForm(formdata=None),
        email_to=activation.email_address(person),
        may_activate=can_register(current_user, RegisterAction.ACTIVATION, person.organisation_id),
    )


@bp.route("/patients/<int:patient_id>")
@register_work(RegisterAction.PATIENT_DETAILS)
def patient(patient_id: int):
    person = require_register(current_user, RegisterAction.PATIENT_DETAILS, patient_id)
    audit.record_view("register.view", person.id)
    db.session.commit()
    return _patient_page(person)


@bp.route("/patients/<int:patient_id>/offer", methods=["POST"])
@register_work(RegisterAction.PATIENT_DETAILS)
def offer(patient_id: int):
    person = require_register(current_user, RegisterAction.PATIENT_DETAILS, patient_id)
    form = OfferForm()
    if not form.validate_on_submit():
        return _patient_page(person, offer_form=form)
    if offers.record_offer(person, form.method.data, form.offered_on.data, current_user):
        flash(_("The offer of a care plan has been recorded."))
    else:
        flash(_("An offer is already waiting for an answer, or was accepted."))
    return redirect(url_for("register.patient", patient_id=person.id))


@bp.route("/patients/<int:patient_id>/answer", methods=["POST"])
@register_work(RegisterAction.PATIENT_DETAILS)
def answer(patient_id: int):
    person = require_register(current_user, RegisterAction.PATIENT_DETAILS, patient_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        return _patient_page(person, outcome_form=form)
    if offers.record_outcome(
        person, form.outcome.data, form.outcome_on.data, form.reason.data, current_user
    ):
        flash(_("The answer has been recorded."))
    else:
        flash(_("There is no offer waiting for an answer."))
    return redirect(url_for("register.patient", patient_id=person.id))


@bp.route("/patients/<int:patient_id>/details", methods=["GET", "POST"])
@register_work(RegisterAction.PATIENT_DETAILS)
def details(patient_id: int):
    person = require_register(current_user, RegisterAction.PATIENT_DETAILS, patient_id)
    form = DetailsForm(obj=person)
    form.preferred_language.choices = _languages(person.preferred_language)
    if request.method == "GET":
        form.conditions.data = [c.code for c in person.conditions]
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in offers.DETAILS}
        values["communication_needs"] = values["communication_needs"] or None
        if offers.correct_details(person, values, form.conditions.data):
            flash(_("The details have been corrected."))
        return redirect(url_for("register.patient", patient_id=person.id))
    return render_template("register/details.html", form=form, patient=person)


def _languages(current: str) -> list[SelectChoice]:
    """The portal's languages, and the patient's own if the register gave another."""
    codes = list(current_app.config["LOCALES"])
    if current and current not in codes:
        codes.append(current)
    return [SelectChoice(code, labels.language(code)) for code in codes]


@bp.route("/patients/<int:patient_id>/letter", methods=["POST"])
@register_work(RegisterAction.ACTIVATION)
def letter(patient_id: int):
    """A new activation code on a printable letter (earlier codes stop working)."""
    person = require_register(current_user, RegisterAction.ACTIVATION, patient_id)
    if person.user_id is not None or not ConfirmForm().validate_on_submit():
        return redirect(url_for("register.patient", patient_id=person.id))
    code = activation.issue(person, CodeChannel.LETTER, current_user)
    pdf = activation.letter_pdf(person, code)
    db.session.commit()  # only once the letter exists, so a failed render issues no code
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="activation-letter-{person.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/patients/<int:patient_id>/activation-email", methods=["POST"])
@register_work(RegisterAction.ACTIVATION)
def activation_email(patient_id: int):
    person = require_register(current_user, RegisterAction.ACTIVATION, patient_id)
    to = activation.email_address(person)
    if person.user_id is None and to and ConfirmForm().validate_on_submit():
        code = activation.issue(person, CodeChannel.EMAIL, current_user)
        db.session.commit()
        if activation.send_email(person, to, code):
            flash(_("The activation email has been sent."))
        else:
            flash(_("The email could not be sent. Print a letter instead."))
    return redirect(url_for("register.patient", patient_id=person.id))
