from flask import Blueprint

bp = Blueprint("portability", __name__)

from portal.portability import api, views  # noqa: E402,F401  (routes attach to bp)
