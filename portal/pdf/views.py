"""Downloads of the printable plan and crisis sheet. Each download is audited, cached or not."""

from flask import Response, abort, request
from flask_login import current_user, login_required

from portal import audit
from portal.extensions import db
from portal.pdf import bp, services
from portal.permissions import Action, require
from portal.plans.services import load_plan


@bp.route("/patients/<int:patient_id>/plan.pdf")
@login_required
def plan_pdf(patient_id: int):
    return _download(patient_id, Action.VIEW_PLAN, services.PLAN, services.plan_pdf)


@bp.route("/patients/<int:patient_id>/crisis.pdf")
@login_required
def crisis_pdf(patient_id: int):
    return _download(patient_id, Action.VIEW_CRISIS, services.CRISIS, services.crisis_pdf)


def _download(patient_id: int, action: Action, kind: str, render) -> Response:
    """Access checked for this patient, then the PDF (cached or not), audited either way.

    ``?size=large`` or ``?size=standard`` picks the print size; without it the patient's
    communication needs decide.
    """
    require(current_user, action, patient_id)
    care_plan = load_plan(patient_id)
    if care_plan is None:
        abort(404)
    size = services.print_size(request.args.get("size"), care_plan.patient)
    data = render(care_plan, size)
    audit.record(f"pdf.{kind}", patient_id, f"plan {care_plan.id}, {size} print")
    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{services.download_name(kind, size)}"'
    )
    return response


@bp.app_template_global("pdf_file_hint")
def pdf_file_hint(plan_id: int, kind: str, size: str = services.PrintSize.STANDARD) -> str:
    """ "PDF" or "PDF, 84 KB" after a download link, as NHS.UK asks for links to files."""
    return services.size_hint(plan_id, kind, services.PrintSize(size))


@bp.app_template_global("print_sizes")
def print_sizes(patient) -> list[str]:
    """Both print sizes, the patient's own first (large print when their needs ask for it)."""
    first = services.default_print_size(patient)
    return [first, *(size for size in services.PrintSize if size != first)]
