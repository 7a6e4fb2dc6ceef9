"""The job queue: Celery on Redis, or, with no broker configured, the web process itself.

Work that need not happen inside a request (sending notifications, the nightly and daily
jobs) is a *job*: a plain function registered here under a name, which is also a Celery task.

A job is queued with ``defer`` inside a transaction and handed on only after that transaction
commits, so a worker never looks for a row that is not there yet, and a rolled-back change
queues nothing. With a broker (``CELERY_BROKER_URL``, or ``REDIS_URL``) the job goes to Redis
and a worker runs it (acks after success, so a worker killed mid-job leaves it to another).
If Redis cannot be reached the job is only logged as not queued: what it was for is already in
the database (the notification outbox), and the dispatcher schedule picks it up.
Without a broker (``make run``, most tests) due jobs run in this process when the app
context ends, that is after the response has been built, or by calling ``run_due``.
"""

import logging
import os
from collections.abc import Callable

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

celery = Celery("portal", set_as_current=False)

# name -> the plain function; the Celery task of the same name calls it.
JOBS: dict[str, Callable] = {}

# Modules that define jobs, imported when the app (and so the worker) starts.
JOB_MODULES = (
    "portal.activation.services",
    "portal.audit_partitions",
    "portal.drafts.services",
    "portal.notifications.outbox",
    "portal.notifications.schedule",
    "portal.pdf.shared",
    "portal.register.services",
)


class Retry(Exception):  # noqa: N818 - says what the job wants, like Celery's own Retry
    """Raised by a job that should run again later (``countdown`` seconds from now)."""

    def __init__(self, countdown: int):
        super().__init__(countdown)
        self.countdown = countdown


class _FlaskTask(Task):
    """Runs the job inside the Flask app's context, and retries when the job asks to."""

    abstract = True
    max_retries = None  # the job itself decides when to give up (the outbox counts attempts)

    def __call__(self, *args, **kwargs):
        if has_app_context():
            return self._run_job(*args, **kwargs)
        with celery.flask_app.app_context():
            return self._run_job(*args, **kwargs)

    def _run_job(self, *args, **kwargs):
        try:
            return self.run(*args, **kwargs)
        except Retry as retry:
            raise self.retry(countdown=retry.countdown) from None


def job(name: str):
    """Register a function as a job called ``name`` (and as the Celery task of that name)."""

    def register(function: Callable) -> Callable:
        JOBS[name] = function
        celery.task(name=name, base=_FlaskTask, bind=False)(function)
        return function

    return register


# Beat schedule (Europe/London wall clock). Each entry names a job above.
SCHEDULE = {
    "dispatch-pending": {"task": "notifications.dispatch_pending", "schedule": 60.0},
    "review-reminders": {
        "task": "notifications.review_reminders",
        "schedule": crontab(hour=9, minute=0),
    },
    "care-team-digest": {
        "task": "notifications.care_team_digest",
        "schedule": crontab(hour=7, minute=30),
    },
    "access-ended": {
        "task": "notifications.access_ended",
        "schedule": crontab(hour=8, minute=30),
    },
    "report-summarise": {
        "task": "reports.summarise_all_missing",
        "schedule": crontab(hour=1, minute=30),
    },
    "expire-invitations": {
        "task": "sharing.expire_invitations",
        "schedule": crontab(hour=2, minute=15),
    },
    "clean-up": {"task": "notifications.clean_up", "schedule": crontab(hour=3, minute=0)},
    "kept-forms": {"task": "drafts.clean_up", "schedule": crontab(hour=3, minute=15)},
    "activation-codes": {
        "task": "activation.clean_up",
        "schedule": crontab(hour=3, minute=30),
    },
    # The audit trail's coming months (PostgreSQL), at a quiet hour: each is a short lock.
    "audit-partitions": {
        "task": "audit.create_partitions",
        "schedule": crontab(hour=4, minute=10),
    },
}


def init_jobs(app: Flask) -> None:
    """Configure the Celery app from the Flask config and run due jobs at the context's end."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    broker = app.config.get("CELERY_BROKER_URL")
    celery.conf.update(
        broker_url=broker or "memory://",
        task_acks_late=True,  # a job is acknowledged only once it has finished
        task_reject_on_worker_lost=True,  # ... and handed to another worker if this one dies
        worker_prefetch_multiplier=1,
        worker_max_memory_per_child=app.config["CELERY_WORKER_MAX_MEMORY_KB"] or None,
        task_ignore_result=True,
        task_default_queue=app.config["CELERY_QUEUE"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        # A web request waits at most about a second for an unreachable broker.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.3},
        broker_connection_timeout=2,
        timezone=app.config["BABEL_DEFAULT_TIMEZONE"],
        beat_schedule=SCHEDULE,
    )
    celery.flask_app = app
    app.extensions["celery"] = celery
    app.teardown_appcontext(_run_at_teardown)


def uses_broker() -> bool:
    app = current_app if has_app_context() else celery.flask_app
    return bool(app.config.get("CELERY_BROKER_URL"))


def defer(session: Session, name: str, *args) -> None:
    """Queue job ``name`` to run once the session's current transaction commits."""
    session.info.setdefault("jobs_after_commit", []).append((name, args))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    queued = session.info.pop("jobs_after_commit", None)
    if not queued:
        return
    if uses_broker():
        publish_many(queued)  # if this fails, the rows wait for the dispatcher
    else:
        session.info.setdefault("jobs_due", []).extend(queued)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("jobs_after_commit", None)


def publish(name: str, *args, countdown: int | None = None) -> bool:
    """Send one job to the broker; False (logged, not raised) if it cannot be reached."""
    return publish_many([(name, args)], countdown=countdown)


# Broker connections kept open between publishes, one pool per process and broker address:
# opening one costs a connection, a ping and a queue declaration (several milliseconds of a
# save's CPU); a pool made before a fork is never used after it.
_POOLS: dict[tuple[int, str], object] = {}


def _broker_pool(key: tuple[int, str]):
    if key not in _POOLS:
        _POOLS[key] = celery.connection_for_write(key[1]).Pool(celery.conf.broker_pool_limit)
    return _POOLS[key]


def publish_many(queued: list[tuple[str, tuple]], countdown: int | None = None) -> bool:
    """Send jobs to the broker over one connection; False (logged) if it cannot be reached.

    The connection comes from a pool for the current settings and is kept for the next
    publish; after a failure the pool is dropped, so a broker that comes back is connected to
    afresh, as a changed setting is at once.
    """
    key = (os.getpid(), celery.conf.broker_url)
    pool = _broker_pool(key)
    try:
        with pool.acquire(block=True, timeout=5) as connection:
            for name, args in queued:
                celery.send_task(
                    name,
                    args=args,
                    countdown=countdown,
                    connection=connection,
                    queue=celery.conf.task_default_queue,
                )
    except Exception:  # kombu wraps connection errors in several types
        log.warning("%d job(s) not queued: the broker is unreachable", len(queued))
        _drop(_POOLS.pop(key, pool))
        return False
    return True


def _drop(pool) -> None:
    """Close a pool no longer kept (its connections may be dead)."""
    try:
        pool.force_close_all()
    except Exception:  # noqa: BLE001 - closing a dead connection may fail as well
        log.debug("broker connections not closed cleanly", exc_info=True)


def run_due() -> int:
    """Run, in this process, the jobs whose transaction has committed; the number run.

    A job's failure is logged and the rest still run: what it was for stays in the database.
    """
    from portal.extensions import db

    done = 0
    while queued := db.session.info.pop("jobs_due", None):
        for name, args in queued:
            try:
                JOBS[name](*args)
            except Retry:
                pass  # the row keeps its retry time; the next dispatch picks it up
            except Exception:
                log.exception("Job %s failed", name)
                db.session.rollback()
            done += 1
    return done


def _run_at_teardown(exc: BaseException | None) -> None:
    from portal.extensions import db

    if not db.session.registry.has() or not db.session.info.get("jobs_due"):
        return
    if exc is not None:
        db.session.rollback()
    run_due()
