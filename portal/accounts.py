"""Accounts: how one comes into being, how a signed-in session starts, and emailed links.

Every kind of account (patient, carer, staff) is created here, so each gets the password
policy, a session token and a hash alike; every link sent by email is built here, on
``PORTAL_BASE_URL`` and never on the request's Host header, which anyone can forge.
"""

import secrets

from flask import current_app, session, url_for

from portal import audit, security
from portal.auth.passwords import problem
from portal.auth.services import hash_password
from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow


class WeakPassword(ValueError):
    """A password the policy refuses reached account creation (forms check it first)."""


def email_link(endpoint: str, **values) -> str:
    """An absolute link for an email or a file taken away, on the configured public address."""
    base = current_app.config.get("BASE_URL")
    if not base:
        raise RuntimeError("PORTAL_BASE_URL must be set to the portal's public address.")
    return base.rstrip("/") + url_for(endpoint, **values)


def create_account(
    email: str, role: str, display_name: str, password: str | None = None, **details
) -> User:
    """A new account (flushed, not committed).

    With ``password`` the person chose it (patients, carers): it must pass the password policy.
    Without one (staff) the hash is of a random value known to nobody, and the person chooses
    a password from an emailed link.
    """
    if password is not None and problem(password, email, display_name) is not None:
        raise WeakPassword
    user = User(
        email=email,
        role=role,
        display_name=display_name,
        password_hash=hash_password(password or secrets.token_urlsafe(32)),
        session_token=security.new_session_token(),
        password_changed_at=utcnow() if password is not None else None,
        **details,
    )
    db.session.add(user)
    db.session.flush()
    return user


def sign_in(user: User, mfa_ok: bool = False, provider: str = "") -> None:
    """A fresh session for ``user``, recorded in the audit trail; the caller commits.

    ``provider`` names the outside service that vouched for the person (NHS login, CIS2), so
    the audit trail says how they signed in and signing out can end that service's session.
    """
    security.start_session(user, mfa_ok=mfa_ok)
    if provider:
        session["signed_in_with"] = provider
    user.last_login_at = utcnow()
    audit.record("auth.sign_in", actor_id=user.id, detail=provider)
