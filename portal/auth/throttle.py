"""Sign-in throttling for Flask-Limiter: the decorators, their keys and callbacks.

Limits are time windows only (for example 5 failed sign-ins a minute and 20 an hour for one
account): an attacker is slowed down, and a patient is never locked out for longer than the
window. Keys are hashed, so neither Redis nor the limiter's log holds an email address.
"""

import hashlib

from flask import current_app, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal import audit
from portal.extensions import db, limiter
from portal.models import User


def _hashed(kind: str, value: str) -> str:
    return f"{kind}:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


def account_key() -> str:
    """The account an attempt is aimed at, from the email typed in the form."""
    return _hashed("account", request.form.get("email", "").strip().lower()[:254])


def pending_key() -> str:
    """The account waiting for its two-step verification code."""
    pending = session.get("mfa_pending") or {}
    return _hashed("account-id", str(pending.get("uid", "none")))


def user_key() -> str:
    return _hashed("account-id", str(current_user.get_id() or "none").partition(":")[0])


def address_key() -> str:
    return _hashed("address", get_remote_address() or "unknown")


def failed(response) -> bool:
    """A form shown again (status 200) is a failed attempt; a redirect is a success."""
    return response.status_code == 200


def limits(name: str):
    """The limit string from config, read per request so deployments and tests can tune it."""
    return lambda: current_app.config[name]


def on_breach(_limit) -> None:
    """Audit the refusal; the 429 page itself is the friendly error page."""
    actor_id = None
    if request.endpoint in ("auth.login", "auth.forgot_password"):
        from portal.auth.services import find_user

        user = find_user(request.form.get("email", "")[:254])
        actor_id = user.id if user else None
    elif request.endpoint == "auth.mfa_code":
        uid = (session.get("mfa_pending") or {}).get("uid")
        actor_id = uid if isinstance(uid, int) and db.session.get(User, uid) else None
    elif current_user.is_authenticated:
        actor_id = current_user.id
    audit.record("auth.throttled", detail=str(request.endpoint), actor_id=actor_id)
    db.session.commit()
    current_app.logger.warning("throttled %s (user %s)", request.endpoint, actor_id)


def _failures_limited(config_name: str, key_func):
    """Failed POSTs, counted under ``key_func``, are limited by the config setting named."""
    return limiter.limit(
        limits(config_name),
        key_func=key_func,
        methods=["POST"],
        deduct_when=failed,
        on_breach=on_breach,
    )


def throttled(account_key_func):
    """Failed attempts are limited per account and per address (time windows only)."""

    def decorate(view):
        view = _failures_limited("SIGN_IN_LIMITS_ADDRESS", address_key)(view)
        return _failures_limited("SIGN_IN_LIMITS_ACCOUNT", account_key_func)(view)

    return decorate


def password_checks_limited(view):
    """For a signed-in person typing their password: failures are limited per account."""
    return _failures_limited("SIGN_IN_LIMITS_ACCOUNT", user_key)(view)
