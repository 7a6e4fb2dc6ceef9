"""Reports read from a replica of the database, so long counts never slow the pages people use.

``PORTAL_REPORTS_DATABASE_URL`` names a read replica (a PostgreSQL streaming standby). The
commissioner's report, the practice's survey results and the list of sample audits run their
queries there, inside :func:`read`; everything those pages write (their audit events) still
goes to the primary, because only reads are routed and a flush always uses the primary.

The replica is used only while it answers and has replayed the primary's changes to within
``REPORTS_REPLICA_MAX_LAG_SECONDS``; otherwise, or when it fails in the middle of a page, the
page is read from the primary and a warning is logged. Its state is checked at most once
every ``REPORTS_REPLICA_CHECK_SECONDS`` per process, so a page costs no extra round trip.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

from portal.config import normalise_database_url
from portal.extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")

_ROUTE = "portal.replica.engine"  # session.info key: the engine reads go to
_FAILED = "portal.replica.failed"  # session.info key: the replica failed during this read

# PostgreSQL: seconds since the last change the standby replayed, 0 when it has replayed all it
# has received (an idle primary sends nothing, which is not lag); 0 on a primary.
_LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


class _Replicas:
    """One engine per replica address, and the last verdict on each (per process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.engines: dict[str, Engine] = {}
        self.verdicts: dict[str, tuple[float, bool]] = {}  # url -> (checked at, usable)

    def engine(self, url: str) -> Engine:
        with self.lock:
            if url not in self.engines:
                self.engines[url] = _make_engine(url)
            return self.engines[url]

    def forget(self, url: str, usable: bool) -> None:
        with self.lock:
            self.verdicts[url] = (time.monotonic(), usable)

    def dispose(self) -> None:
        with self.lock:
            for engine in self.engines.values():
                engine.dispose()
            self.engines.clear()
            self.verdicts.clear()


_replicas = _Replicas()


def _make_engine(url: str) -> Engine:
    options = dict(current_app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options.pop("poolclass", None)
    options["pool_pre_ping"] = True
    if url.startswith("postgresql"):
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("connect_timeout", 2)  # a down replica must not hold a page
        options["connect_args"] = connect_args
    return create_engine(url, **options)


def _url() -> str | None:
    url = current_app.config.get("REPORTS_DATABASE_URL")
    return normalise_database_url(url) if url else None


def _lag_seconds(engine: Engine) -> float:
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            conn.execute(text("SELECT 1"))
            return 0.0
        return float(conn.execute(_LAG_SQL).scalar_one())


def usable_engine() -> Engine | None:
    """The replica to read from now, or None for the primary (no replica, down, or lagging)."""
    url = _url()
    if url is None:
        return None
    engine = _replicas.engine(url)
    checked = _replicas.verdicts.get(url)
    if checked and time.monotonic() - checked[0] < current_app.config[
        "REPORTS_REPLICA_CHECK_SECONDS"
    ]:
        return engine if checked[1] else None
    limit = float(current_app.config["REPORTS_REPLICA_MAX_LAG_SECONDS"])
    try:
        lag = _lag_seconds(engine)
    except DBAPIError as exc:
        log.warning("Reports replica unavailable, reading from the primary: %s", _reason(exc))
        _replicas.forget(url, usable=False)
        return None
    if lag > limit:
        log.warning(
            "Reports replica %.0f s behind (limit %.0f s), reading from the primary", lag, limit
        )
        _replicas.forget(url, usable=False)
        return None
    _replicas.forget(url, usable=True)
    return engine


def _reason(exc: DBAPIError) -> str:
    """The driver's message without the statement (which may carry parameters)."""
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__


def read(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args, **kwargs)`` with its queries sent to the reports replica when it is usable.

    ``fn`` must only read: if the replica fails part way, the session is rolled back and ``fn``
    runs again on the primary.
    """
    engine = usable_engine()
    if engine is None:
        return fn(*args, **kwargs)
    session = db.session()
    session.info[_ROUTE] = engine
    try:
        return fn(*args, **kwargs)
    except DBAPIError as exc:
        if not session.info.pop(_FAILED, False):
            raise
        log.warning("Reports replica failed during a read, reading from the primary: %s",
                    _reason(exc))
        _replicas.forget(_url(), usable=False)
        session.info.pop(_ROUTE, None)
        session.rollback()
        return fn(*args, **kwargs)
    finally:
        session.info.pop(_ROUTE, None)
        session.info.pop(_FAILED, None)


@event.listens_for(Session, "do_orm_execute")
def _route_reads(state: ORMExecuteState):
    """Inside :func:`read`, statements that change nothing run on the replica."""
    engine = state.session.info.get(_ROUTE)
    if engine is None or state.is_insert or state.is_update or state.is_delete:
        return None
    try:
        return state.invoke_statement(bind_arguments={"bind": engine})
    except DBAPIError:
        state.session.info[_FAILED] = True
        raise


def dispose() -> None:
    """Close the replica's connections (tests, and a worker after fork)."""
    _replicas.dispose()
