"""Administration: staff accounts and organisations. Admins never see plan content."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from portal.admin import views  # noqa: E402,F401  (routes attach to bp)
