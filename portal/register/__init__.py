"""The practice's register: importing it, adding people by hand, their details on it."""

from flask import Blueprint

bp = Blueprint("register", __name__, url_prefix="/register")

from portal.register import views  # noqa: E402,F401  (routes attach to bp)
