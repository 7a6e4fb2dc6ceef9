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


def patient_page(
    action: Action,
    load=None,
    load_as: str = "plan",
    audit_as: str | None = None,
    audit_detail: str = "",
    post_action: Action | None = None,
):
    """Decorate a view whose URL names ``patient_id``.

    With ``load``, ``load(patient_id, ...)`` finds what the page shows (``None`` is a 404): it
    is also given the URL's other values it names (``grant_id``...), so a record that must
    belong to the patient is found there, and the view receives it as ``load_as``. With
    ``audit_as``, a GET is recorded under that audit name (and ``audit_detail``) in one
    INSERT and committed before the page is built (``audit.record_view``). ``post_action``
    is what a POST needs besides ``action`` (reading a conversation, then replying to it). A
    view that takes ``access`` receives the ``Access`` it was granted.
    """
    if action in ACCOUNT_ACTIONS or post_action in ACCOUNT_ACTIONS:
        raise ValueError(f"{action} is an account action: use account_page")
    wanted = _named_parameters(load) if load is not None else frozenset()

    def decorate(view):
        wants_access = "access" in inspect.signature(view).parameters

        @wraps(view)
        @login_required
        def wrapped(patient_id: int, **kwargs):
            access = require(current_user, action, patient_id)
            if post_action is not None and request.method == "POST":
                access = require(current_user, post_action, patient_id)
            if load is not None:
                loaded = load(patient_id, **{k: v for k, v in kwargs.items() if k in wanted})
                if loaded is None:
                    abort(404)
                kwargs[load_as] = loaded
            if audit_as is not None and request.method == "GET":
                audit.record_view(audit_as, patient_id, audit_detail)
                db.session.commit()
            if wants_access:
                kwargs["access"] = access
            return view(patient_id=patient_id, **kwargs)

        return _declare(wrapped, action)

    return decorate


def _named_parameters(load) -> frozenset[str]:
    """The URL values ``load`` asks for, besides the patient."""
    return frozenset(inspect.signature(load).parameters) - {"patient_id"}


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
