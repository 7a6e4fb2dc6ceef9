from flask import abort, flash, jsonify, redirect, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import security
from portal.drafts import bp, services
from portal.extensions import db
from portal.pages import account_page
from portal.permissions import Action

WARN_SECONDS = 120  # the warning comes two minutes before the sign-out
SIGNED_OUT = _l(
    "You were signed out because you had not used the portal for a while. "
    "What you had typed was kept: it is offered back on the same page after you sign in."
)


@bp.route("/session/stay", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
def stay():
    """ "Stay signed in" on the timeout warning: the request itself keeps the session going."""
    return "", 204


@bp.route("/session/remaining")
@account_page(Action.OWN_ACCOUNT)
def remaining():
    """Seconds until the idle sign-out, read without extending it (another tab may have)."""
    idle = security.idle_timeout(current_user).total_seconds()
    left = idle - (security.now() - session.get("seen_at", 0))
    return jsonify(seconds=max(0, int(left)))


@bp.route("/session/keep", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
def keep():
    """The warning ran out with the page open: keep what the page's forms hold, sign out."""
    services.keep(current_user.id, request.form.get("_path"), request.form)
    db.session.commit()
    security.end_session()
    flash(SIGNED_OUT)
    return "", 204


@bp.route("/kept/<int:kept_id>/discard", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
def discard(kept_id: int):
    """Taken back into the form (the page says so with ``fetch``) or no longer wanted."""
    path = services.discard(current_user.id, kept_id)
    if path is None:
        abort(404)
    if not services.has_kept(current_user.id):
        session.pop("kept", None)
    if request.headers.get("X-Requested-With") == "fetch":
        return "", 204
    flash(_l("What you typed before you were signed out has been removed."))
    return redirect(services.keepable_path(path) or "/")


@bp.app_context_processor
def session_ending():
    """For the timeout warning, the idle time allowed; on the page it was typed on, what the
    person typed before the sign-out."""
    if not current_user.is_authenticated:
        return {}
    idle = int(security.idle_timeout(current_user).total_seconds())
    found = {"idle_seconds": idle, "warn_seconds": min(WARN_SECONDS, idle // 2)}
    if request.method == "GET" and session.get("kept"):
        found["kept_form"] = services.kept_for(current_user.id, request.path)
    return found
