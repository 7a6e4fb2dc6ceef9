from flask import Blueprint

bp = Blueprint("meetings", __name__)

from portal.meetings import views  # noqa: E402,F401  (routes attach to bp)
