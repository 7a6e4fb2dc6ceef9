from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.models import Role
from portal.permissions import Action, require
from portal.worklist import bp, services
from portal.worklist.services import FILTER_LABELS, URGENCY, WHOSE_LABELS, Filter, Whose


def _choice(enum, name: str, default):
    """A choice from the address; anything else (a stale or forged link) is the default."""
    try:
        return enum(request.args.get(name, default))
    except ValueError:
        return default


@bp.route("/worklist")
@login_required
def index():
    if current_user.role != Role.PROFESSIONAL or current_user.organisation_id is None:
        abort(404)
    whose = _choice(Whose, "whose", Whose.PRACTICE)
    chosen = _choice(Filter, "filter", Filter.ALL)
    search = services.parse_search(request.args.get("q"))
    page = request.args.get("page", 1, type=int)
    result = services.worklist(current_user, whose, chosen, search, page)
    return render_template(
        "worklist/index.html",
        result=result,
        whose=whose,
        chosen=chosen,
        search=search.text,
        filters=[Filter.ALL, *URGENCY],
        filter_labels=FILTER_LABELS,
        whose_labels=WHOSE_LABELS,
    )


@bp.route("/patients/<int:patient_id>/plan/start", methods=["POST"])
@login_required
def start_plan(patient_id: int):
    """A professional in the care team starts the plan of a patient who has none."""
    access = require(current_user, Action.AGREE, patient_id)
    services.start_plan(access.patient, current_user)
    return redirect(url_for("plans.plan", patient_id=patient_id))
