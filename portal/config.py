"""Configuration: safe defaults, then ``PORTAL_*`` environment variables."""

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "development-only-not-secret"  # noqa: S105 - refused outside development
DEV_BASE_URL = "http://127.0.0.1:5000"  # where ``make run`` serves the portal


class Defaults:
    ENV = "production"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(ROOT / "instance" / "portal.sqlite3")
    # Parameters never appear in database error messages, so logs carry no personal data.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    SQLALCHEMY_RECORD_QUERIES = False
    WTF_CSRF_TIME_LIMIT = 3600 * 8
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Europe/London"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    IDLE_TIMEOUT_PATIENT = timedelta(minutes=30)
    IDLE_TIMEOUT_STAFF = timedelta(minutes=15)
    # Changing email, password, two-step verification or sharing needs a password this recent.
    REAUTH_WINDOW = timedelta(minutes=5)
    # How long a password-checked sign-in may wait for its two-step verification code.
    MFA_PENDING_SECONDS = 300
    PASSWORD_RESET_HOURS = 1
    SET_PASSWORD_HOURS = 72  # the link in a new staff account's welcome email
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    # Redis: connect and read timeouts, and how long to skip it after a failure (portal.outside).
    REDIS_TIMEOUT_SECONDS = 0.5
    REDIS_BREAKER_SECONDS = 30
    # PostgreSQL: no statement may run longer than this (well inside gunicorn's 30 s timeout).
    DB_STATEMENT_TIMEOUT_MS = 20000
    RATELIMIT_HEADERS_ENABLED = False
    # If Redis is unreachable, sign-in keeps working (unthrottled, and logged) rather than failing.
    RATELIMIT_SWALLOW_ERRORS = True
    # Sign-in throttling: time windows only, so nobody can lock an account for good.
    SIGN_IN_LIMITS_ACCOUNT = "5 per minute;20 per hour"
    SIGN_IN_LIMITS_ADDRESS = "50 per hour"
    RESET_LIMITS_ACCOUNT = "3 per hour"
    RESET_LIMITS_ADDRESS = "20 per hour"
    # Number of reverse proxies in front of the portal whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = 0
    INVITATION_DAYS = 7
    OUTBOX_DIR = str(ROOT / "instance" / "outbox")
    MAIL_SERVER: str | None = None
    MAIL_SENDER = "no-reply@careplan.invalid"
    # PORTAL_BASE_URL: the public address every emailed link is built on, e.g.
    # https://careplan.example.nhs.uk (never the request's Host header, which can be forged).
    BASE_URL: str | None = None
    PDF_CACHE_SIZE = 256
    # PDFs are laid out at this much lower CPU priority than page views (0: no change).
    PDF_RENDER_NICE = 10
    # A render that runs longer, or to more pages, is abandoned with a message page: well
    # inside gunicorn's 30 s timeout, so the worker is never killed mid-request.
    PDF_RENDER_SECONDS = 20
    PDF_MAX_PAGES = 100
    # PORTAL_AUDIT_VIEW_ASYNC_COMMIT=true: page-view audit events commit without waiting for
    # PostgreSQL's write-ahead log to reach disk (see docs/performance.md for the trade-off).
    AUDIT_VIEW_ASYNC_COMMIT = False
    HSTS = True
    # Sign-in with NHS login (patients, carers) and CIS2 (staff): offered only when a metadata
    # address, client id and private key are set. Also *_SCOPES, *_CLIENT_AUTH_ALG (RS512),
    # NHS_LOGIN_VTR and CIS2_ACR_VALUES; see README "Signing in with NHS login and CIS2".
    NHS_LOGIN_METADATA_URL: str | None = None
    NHS_LOGIN_CLIENT_ID: str | None = None
    NHS_LOGIN_PRIVATE_KEY_FILE: str | None = None
    CIS2_METADATA_URL: str | None = None
    CIS2_CLIENT_ID: str | None = None
    CIS2_PRIVATE_KEY_FILE: str | None = None


def apply_environment(app) -> None:
    """Read PORTAL_* variables and well-known service URLs, then enforce production rules."""
    app.config.from_prefixed_env("PORTAL")
    if url := os.environ.get("DATABASE_URL"):
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if redis_url := os.environ.get("REDIS_URL"):
        app.config["RATELIMIT_STORAGE_URI"] = redis_url
    if app.config["ENV"] in ("development", "testing"):
        app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or DEV_SECRET_KEY
        app.config["BASE_URL"] = app.config.get("BASE_URL") or DEV_BASE_URL
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False
        app.config["HSTS"] = False
        return
    if not app.config.get("SECRET_KEY") or app.config["SECRET_KEY"] == DEV_SECRET_KEY:
        raise RuntimeError(
            "PORTAL_SECRET_KEY must be set to a long random value outside development."
        )
    # Production: HTTPS only. The __Host- prefix makes browsers refuse the cookie unless it is
    # Secure, for the whole site (Path=/) and without a Domain, so no sibling host can set it.
    app.config["DEBUG"] = False
    app.config["SESSION_COOKIE_SECURE"] = True
    app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    app.config["SESSION_COOKIE_DOMAIN"] = None
    app.config["SESSION_COOKIE_PATH"] = "/"
    app.config["PREFERRED_URL_SCHEME"] = "https"
