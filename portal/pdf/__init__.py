"""Printable copies: the whole care plan and the one-page crisis sheet as PDFs."""

from flask import Blueprint

bp = Blueprint("pdf", __name__)


@bp.record_once
def _set_up(state) -> None:
    """One PDF cache and render thread per application (and so per worker process)."""
    from portal.pdf.priority import LowPriorityRunner
    from portal.pdf.services import PdfCache

    state.app.extensions["pdf_cache"] = PdfCache(state.app.config["PDF_CACHE_SIZE"])
    state.app.extensions["pdf_renderer"] = LowPriorityRunner(state.app.config["PDF_RENDER_NICE"])


from portal.pdf import views  # noqa: E402,F401  (routes attach to bp)
