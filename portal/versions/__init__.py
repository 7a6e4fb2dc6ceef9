from flask import Blueprint

bp = Blueprint("versions", __name__)

from portal.versions import services, views  # noqa: E402,F401  (routes attach to bp; write-once guard)
