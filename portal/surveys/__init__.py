"""Satisfaction surveys after review meetings: the patient answers, the practice learns."""

from flask import Blueprint

bp = Blueprint("surveys", __name__)

from portal.surveys import views  # noqa: E402,F401  (routes attach to bp)
