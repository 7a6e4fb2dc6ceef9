"""Sessions, sign-in state and the security headers on every response."""

import secrets
import time

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from portal.extensions import db, login_manager
from portal.models import User

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def new_session_token() -> str:
    return secrets.token_hex(32)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session carries ``id:token``; rotating the token ends every session of the account."""
    uid, _, token = user_id.partition(":")
    if not uid.isdigit() or not token:
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def start_session(user: User) -> None:
    """A fresh session at sign-in, so a session id fixed before sign-in is worthless."""
    session.clear()
    now = int(time.time())
    session["started_at"] = now
    session["seen_at"] = now
    session.permanent = True


def end_session() -> None:
    logout_user()
    session.clear()


def _enforce_timeouts(app: Flask):
    def check():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        now = int(time.time())
        idle = app.config["IDLE_TIMEOUT_STAFF" if current_user.is_staff else "IDLE_TIMEOUT_PATIENT"]
        absolute = app.config["PERMANENT_SESSION_LIFETIME"]
        started = session.get("started_at", 0)
        seen = session.get("seen_at", 0)
        if now - seen > idle.total_seconds() or now - started > absolute.total_seconds():
            end_session()
            flash(_l("You were signed out because you had not used the portal for a while."))
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        session["seen_at"] = now
        return None

    return check


def _headers(app: Flask):
    def add(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
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
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Sign in to see this page.")
    login_manager.session_protection = "basic"
    app.before_request(_enforce_timeouts(app))
    app.after_request(_headers(app))
