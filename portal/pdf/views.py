"""Downloads of the printable plan and crisis sheet. Each download is audited, cached or not."""

from flask import Response, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import audit
from portal.extensions import db
from portal.pages import patient_page
from portal.pdf import bp, services
from portal.permissions import Action, require
from portal.plans.services import load_plan

# What the reader is told instead of a download when a render is refused (always 503: the
# worker stays alive to say it; the plan page itself can still be printed from the browser).
RETRY_REFUSED_AFTER = "120"  # seconds; tests tell this refusal from a lost connection by it
REFUSED = {
    services.RenderRefused.TOO_SLOW: (
        _l("The PDF is taking too long to make"),
        _l("The service is busy. Try again in a few minutes. You can also print the page "
           "itself from your browser."),
    ),
    services.RenderRefused.TOO_LONG: (
        _l("This plan is too long to make into a PDF"),
        _l("You can print the page itself from your browser instead."),
    ),
}


@bp.route("/patients/<int:patient_id>/plan.pdf")
@patient_page(Action.VIEW_PLAN)
def plan_pdf(patient_id: int):
    return _download(patient_id, Action.VIEW_PLAN, services.PLAN, services.plan_pdf)


@bp.route("/patients/<int:patient_id>/crisis.pdf")
@patient_page(Action.VIEW_CRISIS)
def crisis_pdf(patient_id: int):
    return _download(patient_id, Action.VIEW_CRISIS, services.CRISIS, services.crisis_pdf)


def _download(patient_id: int, action: Action, kind: str, render) -> Response:
    """Access checked for this patient, then the PDF (cached or not), audited either way.

    A render refused for time or length answers with a message page, not a download
    (``render_refused``), and is not audited.
    ``?size=large`` or ``?size=standard`` picks the print size; without it the patient's
    communication needs decide.
    """
    require(current_user, action, patient_id)
    care_plan = load_plan(patient_id)
    if care_plan is None:
        abort(404)
    size = services.print_size(request.args.get("size"), care_plan.patient)
    data = render(care_plan, size)  # a refused render is answered by ``render_refused``
    audit.record(f"pdf.{kind}", patient_id, f"plan {care_plan.id}, {size} print")
    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{services.download_name(kind, size)}"'
    )
    return response


@bp.app_errorhandler(services.RenderRefused)
def render_refused(refused: services.RenderRefused) -> Response:
    """Every PDF refused for time or length (plan, crisis sheet, the patient's copy of their
    data, an activation letter) gets the message page, and nothing the request began is kept
    (a letter's new code among them)."""
    db.session.rollback()
    title, body = REFUSED[refused.reason]
    page = render_template("errors/error.html", title=title, body=body, code=503)
    return Response(page, 503, headers={"Retry-After": RETRY_REFUSED_AFTER})


@bp.app_template_global("pdf_file_hint")
def pdf_file_hint(plan_id: int, kind: str, size: str = services.PrintSize.STANDARD) -> str:
    """ "PDF" or "PDF, 84 KB" after a download link, as NHS.UK asks for links to files."""
    return services.size_hint(plan_id, kind, services.PrintSize(size))


@bp.app_template_global("print_sizes")
def print_sizes(patient) -> list[str]:
    """Both print sizes, the patient's own first (large print when their needs ask for it)."""
    first = services.default_print_size(patient)
    return [first, *(size for size in services.PrintSize if size != first)]
