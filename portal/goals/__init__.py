"""Goals the patient or a contributing carer adds, changes or withdraws between reviews."""

from flask import Blueprint

bp = Blueprint("goals", __name__)

from portal.goals import views  # noqa: E402,F401  (routes attach to bp)
