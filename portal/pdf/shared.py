"""PDFs shared by every web and queue worker (Redis), and rendered ahead when a plan changes.

Where a broker is configured (``CELERY_BROKER_URL``; ``PDF_SHARED_CACHE_URL`` to use another
Redis), a rendered PDF is kept in Redis under the same key as the per-process cache (plan,
kind, locale and a hash of the HTML), so one rendering serves every worker. The store is
bounded: ``PDF_SHARED_CACHE_SIZE`` documents, the least recently stored dropped first, each
kept at most two days (the sheet carries its print date).

A rendering is announced with a short lock, so two downloads of the same document never
render it twice at once: the second waits for the first's result (up to ``WAIT_SECONDS``)
and only then renders itself. When a plan changes, a job renders its plan and crisis sheet in
each language its patient and carers read, so a download finds them ready. If Redis is down,
downloads render in the request, as without a shared cache.
"""

import logging
import time
import uuid
from collections.abc import Callable

import redis
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import jobs
from portal.extensions import db
from portal.models import AuditEvent, CarePlan, User

log = logging.getLogger(__name__)

PREFIX = "portal:pdf:"
TTL_SECONDS = 2 * 24 * 3600
LOCK_SECONDS = 120
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.1


class SharedPdfCache:
    def __init__(self, url: str, max_entries: int, prefix: str = PREFIX):
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.max_entries = max(1, int(max_entries))
        self.prefix = prefix
        self.index = prefix + "index"

    def _name(self, key: tuple) -> str:
        return self.prefix + ":".join(str(part) for part in key)

    def get(self, key: tuple) -> bytes | None:
        return self.redis.get(self._name(key))

    def put(self, key: tuple, data: bytes) -> None:
        name = self._name(key)
        with self.redis.pipeline() as pipe:
            pipe.set(name, data, ex=TTL_SECONDS)
            pipe.zadd(self.index, {name: time.time()})
            pipe.execute()
        surplus = self.redis.zcard(self.index) - self.max_entries
        if surplus > 0:
            oldest = self.redis.zrange(self.index, 0, surplus - 1)
            with self.redis.pipeline() as pipe:
                pipe.delete(*oldest)
                pipe.zrem(self.index, *oldest)
                pipe.execute()

    def get_or_render(self, key: tuple, render: Callable[[], bytes]) -> bytes:
        """The stored PDF; else render it once, with others asking for it waiting."""
        data = self.get(key)
        if data is not None:
            return data
        lock = self._name(key) + ":rendering"
        token = uuid.uuid4().hex
        if self.redis.set(lock, token, nx=True, ex=LOCK_SECONDS):
            try:
                data = render()
                self.put(key, data)
                return data
            finally:
                if self.redis.get(lock) == token.encode():
                    self.redis.delete(lock)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            data = self.get(key)
            if data is not None:
                return data
            if not self.redis.exists(lock):
                break  # the other rendering failed: render here
        return render()


def shared_cache() -> SharedPdfCache | None:
    """The app's shared cache, if a Redis is configured for it."""
    app = current_app._get_current_object()
    if "pdf_shared_cache" not in app.extensions:
        url = app.config.get("PDF_SHARED_CACHE_URL") or app.config.get("CELERY_BROKER_URL")
        size = app.config.get("PDF_SHARED_CACHE_SIZE", 2000)
        app.extensions["pdf_shared_cache"] = SharedPdfCache(url, size) if url else None
    return app.extensions["pdf_shared_cache"]


def fetch_or_render(key: tuple, render: Callable[[], bytes]) -> bytes:
    """Through the shared cache when there is one and it answers; else just render."""
    cache = shared_cache()
    if cache is None:
        return render()
    try:
        return cache.get_or_render(key, render)
    except redis.RedisError:
        log.warning("Shared PDF cache unreachable: rendering in this process")
        return render()


# --- rendering ahead -----------------------------------------------------------------------


def reader_locales(plan: CarePlan) -> list[str]:
    """The languages the patient and their current carers read the portal in."""
    from portal.i18n import supported
    from portal.notifications.triggers import current_carers

    patient = plan.patient
    wanted = [patient.preferred_language]
    if patient.user is not None:
        wanted.append(patient.user.preferred_locale)
    wanted += db.session.scalars(current_carers(patient.id, User.preferred_locale)).all()
    available = set(supported())
    return sorted({locale for locale in wanted if locale in available} or {"en"})


@jobs.job("pdf.prerender")
def prerender(patient_id: int) -> int:
    """Render the plan and crisis sheet into the shared cache; the number of documents."""
    from portal.pdf import services

    plan = db.session.scalar(select(CarePlan).where(CarePlan.patient_id == patient_id))
    if plan is None or shared_cache() is None:
        return 0
    done = 0
    size = services.default_print_size(plan.patient)  # what a download without ?size= serves
    for locale in reader_locales(plan):
        with current_app.test_request_context("/"), force_locale(locale):
            services.plan_pdf(plan, size)
            services.crisis_pdf(plan, size)
            done += 2
    db.session.rollback()  # read only
    return done


def _changes_plan(action: str) -> bool:
    return not (action.endswith(".view") or action.startswith(("pdf.", "auth.")))


def _prerender_after_changes(session: Session, _context, _instances) -> None:
    """A change to a patient's plan queues a rendering of its PDFs (with a broker only: in
    the web process it would only slow the change down)."""
    if not jobs.uses_broker():
        return
    queued = session.info.setdefault("pdf_prerender", set())
    for row in session.new:
        if (
            isinstance(row, AuditEvent)
            and row.patient_id is not None
            and _changes_plan(row.action)
            and row.patient_id not in queued
        ):
            queued.add(row.patient_id)
            jobs.defer(session, "pdf.prerender", row.patient_id)


def _forget(session: Session) -> None:
    session.info.pop("pdf_prerender", None)


def listen() -> None:
    from sqlalchemy import event

    event.listen(Session, "before_flush", _prerender_after_changes)
    event.listen(Session, "after_commit", _forget)
    event.listen(Session, "after_rollback", _forget)


listen()
