"""Commissioner reporting: anonymous aggregates against the contract and the trajectory."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from portal.reports import views  # noqa: E402,F401  (routes attach to bp)
