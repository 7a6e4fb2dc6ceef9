"""No lost work: the warning before the idle sign-out, and what was typed kept for its author."""

from flask import Blueprint

bp = Blueprint("drafts", __name__)

from portal.drafts import views  # noqa: E402,F401  (routes attach to bp)
