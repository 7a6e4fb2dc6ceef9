"""The professional's home: the practice's patients and what each needs next."""

from flask import Blueprint

bp = Blueprint("worklist", __name__)

from portal.worklist import views  # noqa: E402,F401  (routes attach to bp)
