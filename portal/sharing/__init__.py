from flask import Blueprint

bp = Blueprint("sharing", __name__)

from portal.sharing import views  # noqa: E402,F401  (routes attach to bp)
