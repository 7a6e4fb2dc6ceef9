"""One way into a page: the decorators that declare what a route needs.

``patient_page`` checks the action in ``portal.permissions`` for the patient in the URL
(404 on refusal), loads what the route works on (404 if there is none), records the view in
the audit trail and commits it, before the view runs. ``account_page`` does the same for
pages that belong to no single patient. Both mark the view with the action it declared, and
a test walks every route to make sure none is left without one.
"""

import inspect
from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from portal import audit
from portal.extensions import db
from portal.permissions import ACCOUNT_ACTIONS, Action, require, require_account


def _declare(wrapped, action: Action):
    wrapped.required_action = action
    return wrapped


def patient_page(action: Action, load=None, audit_as: str | None = None):
    """Decorate a view whose URL names ``patient_id``.

    With ``load``, ``load(patient_id)`` finds what the page shows (``None`` is a 404) and the
    view receives it as ``plan``. With ``audit_as``, a GET is recorded under that audit name
    and committed before the page is built. A view that takes ``access`` receives the
    ``Access`` it was granted.
    """
    if action in ACCOUNT_ACTIONS:
        raise ValueError(f"{action} is an account action: use account_page")

    def decorate(view):
        wants_access = "access" in inspect.signature(view).parameters

        @wraps(view)
        @login_required
        def wrapped(patient_id: int, **kwargs):
            access = require(current_user, action, patient_id)
            if load is not None:
                loaded = load(patient_id)
                if loaded is None:
                    abort(404)
                kwargs["plan"] = loaded
            if audit_as is not None and request.method == "GET":
                audit.record(audit_as, patient_id)
                db.session.commit()
            if wants_access:
                kwargs["access"] = access
            return view(patient_id=patient_id, **kwargs)

        return _declare(wrapped, action)

    return decorate


def account_page(action: Action):
    """Decorate a view that belongs to no single patient, such as a report or one's account."""
    if action not in ACCOUNT_ACTIONS:
        raise ValueError(f"{action} is a patient action: use patient_page")

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            require_account(current_user, action)
            return view(*args, **kwargs)

        return _declare(wrapped, action)

    return decorate
