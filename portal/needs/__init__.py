"""The patient's own words: a section for each whole-person domain, and their wishes."""

from flask import Blueprint

bp = Blueprint("needs", __name__)

from portal.needs import views  # noqa: E402,F401  (routes attach to bp)
