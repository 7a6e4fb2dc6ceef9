import json

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit, labels
from portal.extensions import db
from portal.models import ConditionProposal
from portal.pages import patient_page
from portal.pdf import services as pdf_services
from portal.permissions import Action
from portal.plans.services import load_plan
from portal.portability import bp, condition_review, terminology
from portal.portability import fhir_import as importer
from portal.portability.fhir_export import bundle_json
from portal.portability.forms import ConditionDecisionForm, ConfirmImportForm, ImportForm
from portal.portability.readable import readable_copy
from portal.portability.subject_access import personal_data


def _download(body: str, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/patients/<int:patient_id>/plan.fhir.json")
@patient_page(Action.EXPORT_FHIR, load=load_plan)
def fhir_export(patient_id: int, access, plan):
    proposals = request.args.get("proposals") == "1"
    conversations = access.allows(Action.READ_CONVERSATIONS)
    body = bundle_json(plan, proposals=proposals, conversations=conversations)
    audit.record("fhir.export", patient_id, "with proposals" if proposals else "agreed plan")
    db.session.commit()
    return _download(body, f"care-plan-{patient_id}.fhir.json", "application/fhir+json")


@bp.route("/fhir/CodeSystem/<name>")
def code_system(name: str):
    """The portal's own code systems, published at their canonical address (terminology only)."""
    build = terminology.CODE_SYSTEMS.get(name)
    if build is None:
        abort(404)
    response = jsonify(build())
    response.mimetype = "application/fhir+json"
    return response


@bp.route("/patients/<int:patient_id>/fhir-import", methods=["GET", "POST"])
@patient_page(Action.AGREE, load=load_plan)
def fhir_import(patient_id: int, access, plan):
    """Choose a file, then see what it would add, change and leave out before importing.

    Importing is agreeing content into the plan: professionals caring for the patient.
    """
    form = ImportForm()
    if form.validate_on_submit():
        raw = form.bundle.data.read(importer.MAX_BYTES + 1)
        try:
            result = importer.preview(plan, raw, current_user)
        except importer.ImportRefused as refused:
            db.session.rollback()
            form.bundle.errors.append(str(refused))
        else:
            return _preview(access, result, importer.pack(raw))
    return render_template("portability/import.html", form=form, patient=access.patient)


def _preview(access, result, payload: str, changed: bool = False):
    audit.record("fhir.import_preview", access.patient.id)
    db.session.commit()
    confirm = ConfirmImportForm(payload=payload, digest=result.digest)
    return render_template(
        "portability/import_preview.html",
        patient=access.patient,
        result=result,
        form=confirm,
        changed=changed,
        Outcome=importer.Outcome,
    )


@bp.route("/patients/<int:patient_id>/fhir-import/confirm", methods=["POST"])
@patient_page(Action.AGREE, load=load_plan)
def fhir_import_confirm(patient_id: int, access, plan):
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return redirect(url_for("portability.fhir_import", patient_id=patient_id))
    try:
        raw = importer.unpack(form.payload.data)
        result = importer.commit(plan, raw, current_user, form.digest.data or "")
    except importer.ImportChanged as changed:
        db.session.rollback()
        return _preview(access, changed.plan, form.payload.data, changed=True)
    except importer.ImportRefused as refused:
        db.session.rollback()
        upload = ImportForm(formdata=None)
        upload.bundle.errors = [str(refused)]
        return render_template("portability/import.html", form=upload, patient=access.patient)
    flash(
        _(
            "Imported from the file: %(added)d added and %(changed)d changed, as proposals to "
            "review with the patient.",
            added=result.count(importer.Outcome.ADD),
            changed=result.count(importer.Outcome.CHANGE),
        )
    )
    return redirect(url_for("plans.plan", patient_id=patient_id))


def _condition_proposal(patient_id: int, proposal_id: int) -> ConditionProposal | None:
    """An imported condition waiting for a decision, only if it is this patient's."""
    proposal = db.session.get(ConditionProposal, proposal_id)
    return proposal if proposal is not None and proposal.patient_id == patient_id else None


@bp.route("/patients/<int:patient_id>/condition-proposals/<int:proposal_id>", methods=["POST"])
@patient_page(Action.AGREE, load=_condition_proposal, load_as="proposal")
def decide_condition(patient_id: int, proposal_id: int, proposal: ConditionProposal):
    """Add an imported condition to the patient's list, or turn it down; back to the review."""
    back = redirect(url_for("meetings.review", patient_id=patient_id) + "#imported-conditions")
    form = ConditionDecisionForm()
    if not form.validate_on_submit():
        flash(_("Choose whether to add the condition"))
        return back
    accept = form.decision.data == "accept"
    try:
        condition_review.decide(proposal, current_user, accept)
    except condition_review.AlreadyDecided:
        flash(_("Someone has already decided about this condition."))
        return back
    db.session.commit()
    name = labels.condition(proposal.condition_code)
    if accept:
        flash(_("%(condition)s is now on the list of long-term conditions.", condition=name))
    else:
        flash(_("%(condition)s was not added. It will not be proposed again.", condition=name))
    return back


@bp.route("/patients/<int:patient_id>/my-data.json")
@patient_page(Action.SUBJECT_ACCESS)
def subject_access(patient_id: int, access):
    audit.record("data.download", patient_id)
    db.session.commit()
    body = json.dumps(personal_data(access.patient), ensure_ascii=False, indent=2)
    return _download(body, "my-care-plan-data.json", "application/json")


@bp.route("/patients/<int:patient_id>/my-data")
@patient_page(Action.SUBJECT_ACCESS)
def readable_copy_page(patient_id: int, access):
    """The same information as the JSON file, laid out to be read, with a PDF of it."""
    sections = readable_copy(access.patient)
    audit.record("data.view", patient_id)
    db.session.commit()
    return render_template("portability/my_data.html", patient=access.patient, sections=sections)


@bp.route("/patients/<int:patient_id>/my-data.pdf")
@patient_page(Action.SUBJECT_ACCESS)
def readable_copy_pdf(patient_id: int, access):
    data = pdf_services.readable_copy_pdf(access.patient, readable_copy(access.patient))
    audit.record("data.download", patient_id, "PDF")
    db.session.commit()
    return _download(data, "my-care-plan-data.pdf", "application/pdf")
