from flask import Blueprint

bp = Blueprint("portability", __name__)

from portal.portability import api, smart, smart_views, views  # noqa: E402,F401  (routes attach to bp)

bp.record_once(lambda state: smart.init_app(state.app))
