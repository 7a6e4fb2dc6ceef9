from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.authorship import agreed_with_patient, form_for, read_back, saved_in_clinic
from portal.editing import EditConflict
from portal.extensions import db
from portal.fields import seen_version
from portal.needs import bp, services
from portal.needs.forms import OwnWordsForm
from portal.needs.services import NEEDS, WISHES, Part
from portal.pages import patient_page
from portal.permissions import Action, with_patient
from portal.plan_lookup import plan_id_for


@bp.route("/patients/<int:patient_id>/about-me/<domain>", methods=["GET", "POST"])
@patient_page(Action.WRITE_PLAN)
def section(patient_id: int, domain: str, access):
    return _edit(NEEDS, access, domain)


@bp.route("/patients/<int:patient_id>/wishes/<kind>", methods=["GET", "POST"])
@patient_page(Action.WRITE_PLAN)
def wish(patient_id: int, kind: str, access):
    return _edit(WISHES, access, kind)


def _edit(part: Part, access, code: str):
    patient_id = access.patient.id
    in_clinic = with_patient(access)
    form_class = form_for(OwnWordsForm, access)
    plan_id = plan_id_for(patient_id)
    item = services.item_for(part, plan_id, code)
    title = part.titles[code]

    def page(form, conflict=None):
        body = render_template(
            "needs/edit.html",
            access=access,
            patient=access.patient,
            form=form,
            item=item,
            title=title,
            hint=part.hints[code],
            anchor=part.anchor,
            conflict=conflict,
            in_clinic=in_clinic,
        )
        return body, 409 if conflict else 200

    if request.method == "GET":
        form = form_class(text=item.text, version=str(item.version) if item.id else "")
        if item.id:
            audit.record(f"{part.kind}.view", patient_id, f"{part.kind} {item.id}")
            db.session.commit()
        return page(form)

    form = form_class()
    if not form.validate():
        return page(form)
    back = redirect(url_for("plans.plan", patient_id=patient_id, _anchor=part.anchor))
    checked_now = agreed_with_patient(form, access) and item.pending_review
    if item.id and item.text == form.text.data and not checked_now:
        flash(_("You did not change anything, so nothing new has been saved."), part.anchor)
        return back
    instead = read_back(form, access, title, lambda: page(form))
    if instead is not None:
        return instead
    try:
        services.save_text(
            part,
            item,
            form.text.data,
            seen_version(form.version.data),
            current_user,
            patient_id,
            with_patient=agreed_with_patient(form, access),
        )
    except EditConflict as conflict:
        form.version.data = str(conflict.version)
        return page(form, {"current": conflict.current, "mine": {"text": form.text.data}})
    if in_clinic:
        flash(saved_in_clinic(form, access), part.anchor)
    else:
        flash(
            _("Your words have been saved. They will be talked about at the next review."),
            part.anchor,
        )
    return back
