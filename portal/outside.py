"""Services outside the portal (Redis, PostgreSQL) with timeouts, and what happens when they fail.

Redis only counts sign-in attempts, so when it fails the portal keeps working unthrottled
rather than failing: every call has a connect and a read timeout
(``REDIS_TIMEOUT_SECONDS``), and the first failure opens a circuit breaker that skips Redis
altogether for ``REDIS_BREAKER_SECONDS`` (then one request tries it again). Each opening is
logged as an error, so a Redis that accepts connections but never answers costs one request
half a second, not every sign-in thirty.

PostgreSQL: connections are tested before use (``pool_pre_ping``), so a restarted server or a
killed backend costs a reconnect instead of a 500, and each statement is limited to
``DB_STATEMENT_TIMEOUT_MS``. A connection lost during a request answers with a "please try
again" page (503) in the reader's language (``portal.errors``).
"""

import threading
import time

from flask import Flask, current_app
from limits.storage import RedisStorage
from sqlalchemy import text

from portal.extensions import db, limiter

SCHEME_PREFIX = "portal+"


class RedisBreaker:
    """Open (Redis skipped) for a while after a failure; one per app in each worker process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self, error: Exception) -> None:
        seconds = current_app.config["REDIS_BREAKER_SECONDS"]
        with self._lock:
            if self.is_open():
                return
            self._open_until = time.monotonic() + seconds
        current_app.logger.error(
            "Redis failed (%s): sign-in throttling is off in this worker for %s s",
            type(error).__name__,
            seconds,
        )

    def close(self) -> None:
        with self._lock:
            self._open_until = 0.0


def breaker() -> RedisBreaker:
    return current_app.extensions["redis_breaker"]


def throttling_paused() -> bool:
    """Flask-Limiter request filter: while the breaker is open every limit is skipped."""
    return breaker().is_open()


class BreakerOpen(ConnectionError):
    """Redis is being skipped after a recent failure."""


class GuardedRedisStorage(RedisStorage):
    """Flask-Limiter's Redis storage, reporting failures to the breaker and skipped while open."""

    STORAGE_SCHEME = [f"{SCHEME_PREFIX}redis", f"{SCHEME_PREFIX}rediss"]

    def __init__(self, uri: str, **options):
        super().__init__(uri.removeprefix(SCHEME_PREFIX), **options)

    def _guarded(self, method, *args, **kwargs):
        if breaker().is_open():
            raise BreakerOpen
        try:
            return method(*args, **kwargs)
        except Exception as error:
            breaker().trip(error)
            raise

    def incr(self, *args, **kwargs):
        return self._guarded(super().incr, *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._guarded(super().get, *args, **kwargs)

    def get_expiry(self, *args, **kwargs):
        return self._guarded(super().get_expiry, *args, **kwargs)

    def clear(self, *args, **kwargs):
        return self._guarded(super().clear, *args, **kwargs)


def configure(app: Flask) -> None:
    """Timeouts and the breaker for Redis; pre-ping and a statement timeout for PostgreSQL."""
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith(("redis://", "rediss://")):
        app.config["RATELIMIT_STORAGE_URI"] = SCHEME_PREFIX + uri
        seconds = app.config["REDIS_TIMEOUT_SECONDS"]
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_connect_timeout": seconds,
            "socket_timeout": seconds,
            **app.config.get("RATELIMIT_STORAGE_OPTIONS", {}),
        }
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options.setdefault("pool_pre_ping", True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        timeout = int(app.config["DB_STATEMENT_TIMEOUT_MS"])
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("options", f"-c statement_timeout={timeout}")
        options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register(app: Flask) -> None:
    app.extensions["redis_breaker"] = RedisBreaker()


def lift_statement_timeout() -> None:
    """For command-line jobs (the nightly summary) that may rightly run longer than a page."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET statement_timeout = 0"))


limiter.request_filter(throttling_paused)
