import json

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.extensions import db
from portal.pages import patient_page
from portal.permissions import Action, require
from portal.plans.services import load_plan
from portal.portability import bp
from portal.portability.fhir_export import bundle_json
from portal.portability.fhir_import import MAX_BYTES, ImportRefused, import_bundle
from portal.portability.forms import ImportForm
from portal.portability.subject_access import personal_data


def _download(body: str, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/patients/<int:patient_id>/plan.fhir.json")
@patient_page(Action.EXPORT_FHIR)
def fhir_export(patient_id: int):
    require(current_user, Action.EXPORT_FHIR, patient_id)
    plan = load_plan(patient_id)
    if plan is None:
        abort(404)
    body = bundle_json(plan)
    audit.record("fhir.export", patient_id)
    db.session.commit()
    return _download(body, f"care-plan-{patient_id}.fhir.json", "application/fhir+json")


@bp.route("/patients/<int:patient_id>/fhir-import", methods=["GET", "POST"])
@patient_page(Action.AGREE)
def fhir_import(patient_id: int, access):
    plan = load_plan(patient_id)
    if plan is None:
        abort(404)
    form = ImportForm()
    if form.validate_on_submit():
        try:
            result = import_bundle(plan, form.bundle.data.read(MAX_BYTES + 1), current_user)
        except ImportRefused as refused:
            db.session.rollback()
            form.bundle.errors.append(str(refused))
        else:
            flash(
                _(
                    "Imported %(goals)d goals and %(steps)d crisis steps as proposals to "
                    "review with the patient.",
                    goals=result.goals,
                    steps=result.crisis_steps,
                )
            )
            return redirect(url_for("plans.plan", patient_id=patient_id))
    return render_template("portability/import.html", form=form, patient=access.patient)


@bp.route("/patients/<int:patient_id>/my-data.json")
@patient_page(Action.SUBJECT_ACCESS)
def subject_access(patient_id: int):
    access = require(current_user, Action.SUBJECT_ACCESS, patient_id)
    audit.record("data.download", patient_id)
    db.session.commit()
    body = json.dumps(personal_data(access.patient), ensure_ascii=False, indent=2)
    return _download(body, "my-care-plan-data.json", "application/json")
