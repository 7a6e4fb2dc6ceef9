"""Configuration: safe defaults, then ``PORTAL_*`` environment variables."""

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "development-only-not-secret"  # noqa: S105 - refused outside development


class Defaults:
    ENV = "production"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(ROOT / "instance" / "portal.sqlite3")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
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
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    INVITATION_DAYS = 7
    OUTBOX_DIR = str(ROOT / "instance" / "outbox")
    MAIL_SERVER: str | None = None
    MAIL_SENDER = "no-reply@careplan.invalid"
    PDF_CACHE_SIZE = 256
    HSTS = True


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
        app.config.setdefault("SECRET_KEY", None)
        app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or DEV_SECRET_KEY
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False
        app.config["HSTS"] = False
    elif not app.config.get("SECRET_KEY") or app.config["SECRET_KEY"] == DEV_SECRET_KEY:
        raise RuntimeError(
            "PORTAL_SECRET_KEY must be set to a long random value outside development."
        )
    else:
        app.config.setdefault("SESSION_COOKIE_NAME", "__Host-session")
        if app.config.get("SESSION_COOKIE_NAME") == "session":
            app.config["SESSION_COOKIE_NAME"] = "__Host-session"
