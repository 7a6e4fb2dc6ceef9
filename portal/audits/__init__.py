"""Sample audits: an auditor checks a random sample of their organisation's plans."""

from flask import Blueprint

bp = Blueprint("audits", __name__)

from portal.audits import views  # noqa: E402,F401  (routes attach to bp)
