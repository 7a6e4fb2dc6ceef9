from flask import Blueprint

bp = Blueprint("portability", __name__)

from portal.portability import views  # noqa: E402,F401  (routes attach to bp)
