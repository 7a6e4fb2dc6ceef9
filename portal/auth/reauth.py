"""Re-authentication: a password typed in the last few minutes before sensitive changes.

Use it on any view that changes how an account is reached or who can see a plan (email,
password, two-step verification, sharing)::

    from portal.auth.reauth import require_recent_auth

    @bp.route("/patients/<int:patient_id>/sharing", methods=["GET", "POST"])
    @login_required
    @require_recent_auth
    def sharing(patient_id): ...

A person whose password check is older than ``REAUTH_WINDOW`` (5 minutes) is sent to
"Confirm your password" and brought back to the page afterwards. A POST that arrives too late
is sent back to the same page as a GET after confirming, so they re-submit knowingly.
Inside a view, ``recently_authenticated()`` answers the question without redirecting.
Signing in counts as a password check, so changes straight after sign-in are not interrupted.
"""

from functools import wraps

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import audit, security
from portal.auth.services import verify_password
from portal.extensions import db


def mark_authenticated() -> None:
    session["auth_at"] = security.now()


def password_confirmed(field, wrong: str, detail: str = "") -> bool:
    """Whether ``field`` holds the signed-in person's password.

    A wrong one is audited (with ``detail``) and ``wrong`` is shown on the field.
    """
    if verify_password(current_user, field.data):
        return True
    audit.record("auth.reauth_failed", detail=detail)
    db.session.commit()
    field.errors.append(wrong)
    return False


def recently_authenticated() -> bool:
    window = current_app.config["REAUTH_WINDOW"].total_seconds()
    checked = session.get("auth_at")
    return isinstance(checked, int) and 0 <= security.now() - checked <= window


def reauth_redirect(return_to: str | None = None):
    """The redirect to "Confirm your password", returning here afterwards.

    A POST comes back to the same address as a GET when the route has one, otherwise to the
    ``return_to`` endpoint (or the start page).
    """
    if request.method == "GET":
        target = request.full_path.rstrip("?")
    else:
        flash(_l("For your security, confirm your password, then make your change again."))
        rule = request.url_rule
        if rule is not None and "GET" in (rule.methods or ()):
            target = request.path
        else:
            target = url_for(return_to or "plans.home")
    return redirect(url_for("auth.confirm_password", next=target))


def require_recent_auth(view=None, *, return_to: str | None = None):
    """Decorator: ``@require_recent_auth``, or ``@require_recent_auth(return_to="x.page")`` for
    a POST-only route. Put it after ``@login_required``."""

    def decorate(func):
        @wraps(func)
        def wrapped(*args, **kwargs):
            if not recently_authenticated():
                return reauth_redirect(return_to)
            return func(*args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate
