"""Care across organisations: care team memberships and emergency access for urgent care."""

from flask import Blueprint

bp = Blueprint("organisations", __name__)

from portal.organisations import views  # noqa: E402,F401  (routes attach to bp)
