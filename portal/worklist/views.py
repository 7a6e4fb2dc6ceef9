from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.extensions import db
from portal.models import ConsentMethod, PlanFormat, PrintSize
from portal.pages import account_page, patient_page
from portal.pagination import requested_page
from portal.permissions import Action, may
from portal.plan_lookup import plan_row
from portal.worklist import arrangements, bp, services
from portal.worklist.services import FILTER_LABELS, URGENCY, WHOSE_LABELS, Filter, Whose


def _choice(enum, name: str, default):
    """A choice from the address; anything else (a stale or forged link) is the default."""
    try:
        return enum(request.args.get(name, default))
    except ValueError:
        return default


@bp.route("/worklist")
@account_page(Action.CARE_TEAM_WORK)
def index():
    whose = _choice(Whose, "whose", Whose.PRACTICE)
    chosen = _choice(Filter, "filter", Filter.ALL)
    search = services.parse_search(request.args.get("q"))
    page = requested_page()
    result = services.worklist(current_user, whose, chosen, search, page)
    # Names and NHS numbers of many patients at once: recorded against the professional.
    shown = f"worklist page {result.page.page}: {len(result.rows)} rows"
    audit.record("patients.list", detail=shown)
    db.session.commit()
    return render_template(
        "worklist/index.html",
        result=result,
        whose=whose,
        chosen=chosen,
        search=search.text,
        filters=[Filter.ALL, *URGENCY],
        filter_labels=FILTER_LABELS,
        whose_labels=WHOSE_LABELS,
        member_scopes=result.member_scopes,
        urgent_care=may(current_user, Action.EMERGENCY_SEARCH),
    )


@bp.route("/patients/<int:patient_id>/plan/start", methods=["POST"])
@patient_page(Action.AGREE)
def start_plan(patient_id: int, access):
    """A professional in the care team starts the plan of a patient who has none."""
    services.start_plan(access.patient, current_user)
    return redirect(url_for("plans.plan", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/plan/arrangements", methods=["GET", "POST"])
@patient_page(Action.AGREE, load=plan_row)
def plan_arrangements(patient_id: int, access, plan):
    """Consent told in person or on paper, the preferred format, the paper copy handed over."""
    saved = None
    if request.method == "GET":
        saved = {
            "preferred_format": plan.preferred_format,
            "print_size": access.patient.print_size,
            "paper_copy_given_on": None,
        }
    form = arrangements.ArrangementsForm(data=saved)
    if form.validate_on_submit():
        decision = form.decision.data or None
        arrangements.record(
            plan,
            access.patient,
            current_user,
            arrangements.Arrangements(
                share=None if decision is None else decision == "share",
                method=ConsentMethod(form.method.data) if decision else None,
                preferred_format=PlanFormat(form.preferred_format.data),
                paper_copy_given_on=form.paper_copy_given_on.data,
                print_size=PrintSize(form.print_size.data) if form.print_size.data else None,
            ),
        )
        if decision == "object":
            flash(
                _("The patient's objection is recorded. The practice can no longer see their plan.")
            )
            return redirect(url_for(".index"))
        flash(_("Saved."))
        return redirect(url_for("plans.plan", patient_id=patient_id))
    return render_template(
        "worklist/arrangements.html", access=access, patient=access.patient, plan=plan, form=form
    )
