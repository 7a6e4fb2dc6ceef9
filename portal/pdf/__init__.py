"""Printable copies: the whole care plan and the one-page crisis sheet as PDFs."""

from flask import Blueprint

bp = Blueprint("pdf", __name__)


@bp.record_once
def _set_up(state) -> None:
    """One PDF cache per application (and so per worker process)."""
    from portal.pdf.services import PdfCache

    state.app.extensions["pdf_cache"] = PdfCache(state.app.config["PDF_CACHE_SIZE"])


from portal.pdf import views  # noqa: E402,F401  (routes attach to bp)
