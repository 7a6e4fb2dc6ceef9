
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.audits import bp, services
from portal.audits.forms import CheckForm, NewAuditForm
from portal.compliance import CRITERIA
from portal.extensions import db
from portal.pages import account_page
from portal.permissions import Action, can, require


def _audit_or_404(audit_id: int):
    sample = services.audit_for(current_user.organisation_id, audit_id)
    if sample is None:
        abort(404)
    return sample


@bp.route("/audits")
@account_page(Action.RUN_AUDITS)
def index():
    audits = services.audits_of(current_user.organisation_id)
    audit.record("plan_audit.list", detail=f"{len(audits)} audits")
    db.session.commit()
    return render_template("audits/index.html", audits=audits)


@bp.route("/audits/new", methods=["GET", "POST"])
@account_page(Action.RUN_AUDITS)
def new():
    form = NewAuditForm()
    if form.validate_on_submit():
        sample = services.draw_sample(current_user, form.sample_size)
        if sample is not None:
            return redirect(url_for("audits.show", audit_id=sample.id))
        form.size.errors.append(_("There are no plans to sample in your organisation yet"))
    return render_template("audits/new.html", form=form)


@bp.route("/audits/<int:audit_id>")
@account_page(Action.RUN_AUDITS)
def show(audit_id: int):
    sample = _audit_or_404(audit_id)
    rows = [  # a patient who stopped sharing since the sample was drawn is not named
        (
            item,
            patient if can(current_user, Action.AUDIT_PLAN, patient) else None,
            all(c.get("computed") for c in item.criteria.values()),
        )
        for item, patient in services.items_of(sample)
    ]
    checked = [item for item, _patient, _all in rows if item.meets_requirements is not None]
    audit.record("plan_audit.view", detail=f"audit {sample.id}")
    db.session.commit()
    return render_template(
        "audits/audit.html",
        sample=sample,
        rows=rows,
        checked=len(checked),
        meeting=sum(1 for item in checked if item.meets_requirements),
    )


@bp.route("/audits/<int:audit_id>/items/<int:item_id>", methods=["GET", "POST"])
@account_page(Action.RUN_AUDITS)
def check(audit_id: int, item_id: int):
    sample = _audit_or_404(audit_id)
    item = services.item_for(sample, item_id)
    if item is None:
        abort(404)
    plan = services.plan_of(item)
    access = require(current_user, Action.AUDIT_PLAN, plan.patient_id)  # consent may have changed
    computed = services.computed_now(item)
    if item.meets_requirements is None:
        prefill = {key: "yes" if computed[key] else "no" for key in CRITERIA}
    else:
        prefill = {key: "yes" if item.criteria[key]["found"] else "no" for key in CRITERIA}
    form = CheckForm(data={**prefill, "notes": item.notes})
    if form.validate_on_submit():
        found = {key: form[key].data == "yes" for key in CRITERIA}
        services.record_check(item, access.patient.id, computed, found, form.notes.data or "")
        flash(_("Audit result saved."))
        return redirect(url_for("audits.show", audit_id=sample.id))
    audit.record("plan_audit.view_item", access.patient.id, f"audit item {item.id}")
    db.session.commit()
    return render_template(
        "audits/item.html",
        form=form,
        sample=sample,
        item=item,
        patient=access.patient,
        computed=computed,
        criteria=CRITERIA,
    )
