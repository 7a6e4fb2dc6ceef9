from flask import Blueprint

bp = Blueprint("plans", __name__)

from portal.plans import views  # noqa: E402,F401  (routes attach to bp)
