"""Getting ready for the review: questions, what has changed, and a list of what is left."""

from flask import Blueprint

bp = Blueprint("preparation", __name__)

from portal.preparation import views  # noqa: E402,F401  (routes attach to bp)
