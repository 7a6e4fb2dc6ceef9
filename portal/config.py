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
    REGISTER_UPLOAD_MAX_BYTES = 64 * 1024 * 1024  # a register file (100,000 rows is ~10 MB)
    REGISTER_UPLOAD_DIR = str(ROOT / "instance" / "register-uploads")
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
    ACTIVATION_DAYS = 28  # a patient's activation code (letter or email)
    ACTIVATION_LIMITS_CODE = "5 per hour"  # wrong details typed with one code
    ACTIVATION_LIMITS_ADDRESS = "20 per hour"
    # Urgent care's searches by NHS number and date of birth, per clinician.
    EMERGENCY_SEARCH_LIMITS = "10 per minute;40 per hour"
    OUTBOX_DIR = str(ROOT / "instance" / "outbox")
    MAIL_SERVER: str | None = None
    MAIL_SENDER = "no-reply@careplan.invalid"
    # Where bounces reported after delivery go: each notification email's return path is
    # this address with a token after a "+" (bounces+<token>@...), read by `flask
    # bounce-server` (see README, Bounces). Unset: the envelope sender is MAIL_SENDER.
    MAIL_BOUNCE_ADDRESS: str | None = None
    BOUNCE_MAX_BYTES = 256 * 1024  # a larger message to the bounce address is refused
    # PORTAL_BASE_URL: the public address every emailed link is built on, e.g.
    # https://careplan.example.nhs.uk (never the request's Host header, which can be forged).
    BASE_URL: str | None = None
    # Job queue (Celery on Redis): PORTAL_CELERY_BROKER_URL, else REDIS_URL. Without one, jobs
    # run in the web process after the commit that queued them.
    CELERY_BROKER_URL: str | None = None
    CELERY_QUEUE = "portal"
    # A worker child whose resident memory passes this many KiB after a job is replaced by a
    # fresh one (the job is finished and acknowledged first): a guard against a job that
    # leaves its process large, such as a big register import; 0 never replaces it.
    CELERY_WORKER_MAX_MEMORY_KB = 200_000
    # The job worker's processes run this much nicer than the web server's (0: no change), so
    # on a shared machine a page view takes a core before an import, a render or a reminder.
    WORKER_NICE = 10
    # GOV.UK Notify for SMS and letters: the API key, and one template per channel whose body
    # is ((body)) (letters: ((subject)) and ((body))).
    NOTIFY_API_KEY: str | None = None
    NOTIFY_BASE_URL = "https://api.notifications.service.gov.uk"
    NOTIFY_SMS_TEMPLATE_ID: str | None = None
    NOTIFY_LETTER_TEMPLATE_ID: str | None = None
    # The bearer token GOV.UK Notify sends with delivery receipts (set in Notify's API
    # integration page); without it the receipt address answers 404.
    NOTIFY_CALLBACK_TOKEN: str | None = None
    # Outside development the portal refuses to start without REDIS_URL, unless this says
    # that sign-in limits counted by each worker on its own are accepted (a single worker).
    ACCEPT_PER_WORKER_LIMITS = False
    PDF_CACHE_SIZE = 256
    # With a broker, PDFs are also kept in Redis for every worker (this many documents), and
    # rendered ahead by the queue when a plan changes. PORTAL_PDF_SHARED_CACHE_URL: another Redis.
    PDF_SHARED_CACHE_SIZE = 2000
    PDF_SHARED_CACHE_URL: str | None = None
    # PDFs are laid out at this much lower CPU priority than page views (0: no change).
    PDF_RENDER_NICE = 10
    # A render that runs longer, or to more pages, is abandoned with a message page: well
    # inside gunicorn's 30 s timeout, so the worker is never killed mid-request.
    PDF_RENDER_SECONDS = 20
    PDF_MAX_PAGES = 100
    # PORTAL_AUDIT_VIEW_ASYNC_COMMIT=true: page-view audit events commit without waiting for
    # PostgreSQL's write-ahead log to reach disk (see docs/performance.md for the trade-off).
    AUDIT_VIEW_ASYNC_COMMIT = False
    # The plan page's rendered body, kept per reader in each process's memory while the plan's
    # fingerprint is unchanged (portal.plans.page_cache): how many, and for how long at most.
    # A size of 0 builds every page afresh.
    PLAN_PAGE_CACHE_SIZE = 200
    PLAN_PAGE_CACHE_SECONDS = 300
    # PORTAL_REPORTS_DATABASE_URL: a read replica for the report, survey results and sample
    # audits (portal.replica). Used while it answers and is at most this far behind; its state
    # is checked at most this often per process.
    REPORTS_DATABASE_URL: str | None = None
    REPORTS_REPLICA_MAX_LAG_SECONDS = 300
    REPORTS_REPLICA_CHECK_SECONDS = 10
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


def normalise_database_url(url: str) -> str:
    """Hosting platforms' ``postgres://`` addresses, for the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def apply_environment(app) -> None:
    """Read PORTAL_* variables and well-known service URLs, then enforce production rules."""
    app.config.from_prefixed_env("PORTAL")
    if url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if redis_url := os.environ.get("REDIS_URL"):
        app.config["RATELIMIT_STORAGE_URI"] = redis_url
        app.config["CELERY_BROKER_URL"] = app.config.get("CELERY_BROKER_URL") or redis_url
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
    if not app.config.get("BASE_URL"):
        raise RuntimeError(
            "PORTAL_BASE_URL must be set outside development (for example "
            "https://careplan.example.nhs.uk): without it the links in password reset, "
            "email-change and invitation emails follow the request's Host header, which "
            "anyone can forge."
        )
    if app.config["RATELIMIT_STORAGE_URI"] == "memory://" and not app.config.get(
        "ACCEPT_PER_WORKER_LIMITS"
    ):
        raise RuntimeError(
            "REDIS_URL must be set outside development, so that sign-in limits are shared "
            "by every worker: without it each worker counts on its own, and five workers "
            "allow five times the failed sign-ins. To run with per-worker limits knowingly "
            "(a single worker), set PORTAL_ACCEPT_PER_WORKER_LIMITS=true."
        )
    # Production: HTTPS only. The __Host- prefix makes browsers refuse the cookie unless it is
    # Secure, for the whole site (Path=/) and without a Domain, so no sibling host can set it.
    app.config["DEBUG"] = False
    app.config["SESSION_COOKIE_SECURE"] = True
    app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    app.config["SESSION_COOKIE_DOMAIN"] = None
    app.config["SESSION_COOKIE_PATH"] = "/"
    app.config["PREFERRED_URL_SCHEME"] = "https"
