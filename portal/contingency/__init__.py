from flask import Blueprint

bp = Blueprint("contingency", __name__)

from portal.contingency import views  # noqa: E402,F401  (routes attach to bp)
