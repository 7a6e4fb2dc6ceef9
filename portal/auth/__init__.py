from flask import Blueprint

bp = Blueprint("auth", __name__)

from portal.auth import provider_views, views  # noqa: E402,F401  (routes attach to bp)
