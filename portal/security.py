"""Sessions, sign-in state, input hygiene and the security headers on every response."""

import re
import secrets
import time

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from portal.extensions import db, login_manager
from portal.models import User

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

# C0 control characters except tab, line feed and carriage return, and DEL. NUL in particular
# is refused by PostgreSQL in text columns; none of them belongs in anything a person types.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# While a signed-in account still has to set up two-step verification, only these answer.
MFA_SETUP_ENDPOINTS = frozenset(
    {
        "static",
        "account.mfa_setup",
        "account.set_language",
        "auth.logout",
        "auth.confirm_password",
    }
)


def now() -> int:
    """Seconds since the epoch; one place for tests to move the clock."""
    return int(time.time())


def new_session_token() -> str:
    return secrets.token_hex(32)


def mfa_required(user: User) -> bool:
    """Staff (professionals, auditors, commissioners, admins) must use two-step verification."""
    return user.is_staff or bool(user.can_audit)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session carries ``id:token``; rotating the token ends every session of the account."""
    uid, _, token = user_id.partition(":")
    if not (uid.isascii() and uid.isdigit()) or not token or len(uid) > 12:
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def start_session(user: User, mfa_ok: bool = False) -> None:
    """A fresh session at sign-in, so a session fixed or read before sign-in is worthless.

    Flask's session is the signed cookie itself: clearing it replaces the whole session, and
    nothing written before sign-in survives into the signed-in one.
    """
    session.clear()
    stamp = now()
    session["started_at"] = stamp
    session["seen_at"] = stamp
    session["auth_at"] = stamp  # the password was just checked
    if mfa_ok:
        session["mfa_ok"] = True
    session.permanent = True
    login_user(user)
    from portal.drafts.services import has_kept

    if has_kept(user.id):  # read once here, so other pages need not ask
        session["kept"] = True


def end_every_session(user: User) -> None:
    """Rotate the account's token: every session of the account, on every device, ends."""
    user.session_token = new_session_token()


def keep_this_session(user: User) -> None:
    """After rotating the token, carry the current session over to the new one."""
    # ``current_user`` is a proxy; Flask-Login must be given the user object behind it.
    login_user(getattr(user, "_get_current_object", lambda: user)())


def end_session() -> None:
    logout_user()
    session.clear()


def idle_timeout(user: User):
    """How long the account's session lasts unused: shorter for staff."""
    from flask import current_app

    return current_app.config["IDLE_TIMEOUT_STAFF" if user.is_staff else "IDLE_TIMEOUT_PATIENT"]


def keeps_typing(endpoint: str | None) -> bool:
    """Forms whose typing is kept when they arrive after the sign-out: not signing in, nor
    the timeout warning's own requests."""
    return bool(endpoint) and not endpoint.startswith(("auth.", "drafts."))


# Asking how long is left must not itself count as using the portal.
PASSIVE_ENDPOINTS = frozenset({"drafts.remaining"})


def _enforce_timeouts(app: Flask):
    def check():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        stamp = now()
        idle = idle_timeout(current_user)
        absolute = app.config["PERMANENT_SESSION_LIFETIME"]
        started = session.get("started_at", 0)
        seen = session.get("seen_at", 0)
        if stamp - seen > idle.total_seconds() or stamp - started > absolute.total_seconds():
            kept = None
            if request.method == "POST" and keeps_typing(request.endpoint):
                # Saved too late: keep what was typed, for its author.
                from portal.drafts.services import keep

                kept = keep(current_user.id, request.path, request.form)
                db.session.commit()
            end_session()
            if kept is not None:
                from portal.drafts.views import SIGNED_OUT

                flash(SIGNED_OUT)
            else:
                flash(_l("You were signed out because you had not used the portal for a while."))
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if request.endpoint not in PASSIVE_ENDPOINTS:
            session["seen_at"] = stamp
        return None

    return check


def _enforce_mfa():
    """Staff without two-step verification set up are sent to set it up before anything else."""
    if not current_user.is_authenticated or session.get("mfa_ok"):
        return None
    if current_user.mfa_enabled:
        # Only a session that passed the code step may use an account with MFA on.
        end_session()
        return redirect(url_for("auth.login"))
    if not mfa_required(current_user) or request.endpoint in MFA_SETUP_ENDPOINTS:
        return None
    if request.method == "GET":
        # Remembered so that, once set up, the person carries on to the page they asked for.
        session["after_mfa_setup"] = request.full_path.rstrip("?")
    return redirect(url_for("account.mfa_setup"))


def _clean(value: str) -> str:
    return CONTROL_CHARS.sub("", value)


def _strip_control_characters():
    """Remove control characters (NUL above all) from every form field and query parameter.

    Done once for the whole app, so no form can pass them to the database by forgetting to.
    """
    if request.args and any(CONTROL_CHARS.search(k + v) for k, v in request.args.items(True)):
        request.args = ImmutableMultiDict(
            [(_clean(k), _clean(v)) for k, v in request.args.items(multi=True)]
        )
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.form:
        request.form = ImmutableMultiDict(
            [(_clean(k), _clean(v)) for k, v in request.form.items(multi=True)]
        )


def _clean_view_args(_endpoint, values):
    if values:
        for key, value in values.items():
            if isinstance(value, str):
                values[key] = _clean(value)


MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds on PostgreSQL


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` ids beyond what the database holds answer 404, not a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _policy() -> str:
    """The CSP, letting forms lead to the sign-in providers configured (starting to link an
    account and signing out are forms whose answer is a redirect to the provider)."""
    from portal.auth.oidc import provider_origins  # the auth package needs this module first

    origins = provider_origins()
    if not origins:
        return CSP
    return CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))


def _headers(app: Flask):
    def add(response):
        response.headers.setdefault("Content-Security-Policy", _policy())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
        )
        if app.config["HSTS"]:
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if current_user and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response

    return add


def register_security(app: Flask) -> None:
    """Called before the blueprints are registered (the int converter must be in place)."""
    if proxies := int(app.config.get("TRUSTED_PROXIES") or 0):
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.url_map.converters["int"] = BoundedIntConverter
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Sign in to see this page.")
    login_manager.session_protection = "basic"
    app.before_request(_strip_control_characters)
    app.url_value_preprocessor(_clean_view_args)
    app.before_request(_enforce_timeouts(app))
    app.before_request(_enforce_mfa)
    app.after_request(_headers(app))
