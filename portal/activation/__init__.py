"""Patient accounts from an activation code: "Create your account", and the letter or email
that carries the code."""

from flask import Blueprint

bp = Blueprint("activation", __name__)

from portal.activation import views  # noqa: E402,F401  (routes attach to bp)
