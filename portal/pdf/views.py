"""Downloads of the printable plan and crisis sheet. Each download is audited, cached or not."""

from flask import Response, render_template, request
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.extensions import db
from portal.pages import patient_page
from portal.pdf import bp, services
from portal.permissions import Action
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
@patient_page(Action.VIEW_PLAN, load=load_plan)
def plan_pdf(patient_id: int, plan):
    return _download(plan, services.PLAN, services.plan_pdf)


@bp.route("/patients/<int:patient_id>/crisis.pdf")
@patient_page(Action.VIEW_CRISIS, load=load_plan)
def crisis_pdf(patient_id: int, plan):
    return _download(plan, services.CRISIS, services.crisis_pdf)


@bp.route("/patients/<int:patient_id>/crisis/easy-read.pdf")
@patient_page(Action.VIEW_CRISIS, load=load_plan)
def easy_read_pdf(patient_id: int, plan):
    """The easy read crisis plan on paper, for whoever may open its page."""
    return _download(plan, services.EASY_READ, services.easy_read_pdf)


def _download(care_plan, kind: str, render) -> Response:
    """The PDF of the plan its page loaded (cached or not), audited either way.

    A render refused for time or length answers with a message page, not a download
    (``render_refused``), and is not audited.
    ``?size=large`` or ``?size=standard`` picks the print size; without it the patient's
    communication needs decide.
    """
    patient_id = care_plan.patient_id
    size = services.print_size(request.args.get("size"), care_plan.patient)
    easy_read = services.PrintSize.EASY_READ
    if kind == services.EASY_READ or (kind != services.PLAN and size == easy_read):
        # The easy read crisis plan is always in large type; easy read headings are the plan's
        # (the crisis sheet's easy read is the easy read crisis plan, offered beside it).
        size = services.PrintSize.LARGE
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
def print_sizes(patient, kind: str = services.PLAN) -> list[str]:
    """Every print of the document, the patient's own first (large print or easy read when
    their needs ask for it). The crisis sheet has no easy read print (the easy read crisis
    plan is a document of its own): easy read asks for its large print first."""
    first = services.default_print_size(patient)
    sizes = list(services.PrintSize)
    if kind != services.PLAN:
        sizes.remove(services.PrintSize.EASY_READ)
        first = services.PrintSize.LARGE if first == services.PrintSize.EASY_READ else first
    return [first, *(size for size in sizes if size != first)]
