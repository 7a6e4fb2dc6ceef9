"""PDFs shared by every web and queue worker (Redis), and rendered ahead when a plan changes.

Where a broker is configured (``CELERY_BROKER_URL``; ``PDF_SHARED_CACHE_URL`` to use another
Redis), a rendered PDF is kept in Redis under the same key as the per-process cache (plan,
kind, locale and a hash of the HTML), so one rendering serves every worker. The store is
bounded: ``PDF_SHARED_CACHE_SIZE`` documents, the least recently stored dropped first, each
kept at most two days (the sheet carries its print date).

A rendering is announced with a short lock, so two downloads of the same document never
render it twice at once: the second waits for the first's result (up to ``WAIT_SECONDS``)
and only then renders itself. When a plan changes, a job renders its plan and crisis sheet in
each language its patient and carers read, so a download finds them ready. From the commit
until that job has locked the documents it will render, the patient is marked as having a
rendering queued, so a download right after a change waits for the worker instead of
rendering in the request. If Redis is down, downloads render in the request, as without a
shared cache.
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
# A download waits at most this long for another rendering before laying the PDF out itself,
# bounded by PDF_RENDER_SECONDS (20): 8 + 20 stays inside gunicorn's 30 s timeout, so a
# waiting download is never killed mid-request.
WAIT_SECONDS = 8.0
POLL_SECONDS = 0.1
QUEUED_SECONDS = 60  # a queued rendering no worker took up is no longer waited for


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

    def claim(self, key: tuple) -> str | None:
        """Lock ``key`` for a rendering; the token to fill it with, or None if it is taken."""
        token = uuid.uuid4().hex
        if self.redis.set(self._name(key) + ":rendering", token, nx=True, ex=LOCK_SECONDS):
            return token
        return None

    def fill(self, key: tuple, token: str, render: Callable[[], bytes]) -> bytes:
        """Render a claimed document, store it and release the lock (also when it fails)."""
        lock = self._name(key) + ":rendering"
        try:
            data = render()
            self.put(key, data)
            return data
        finally:
            if self.redis.get(lock) == token.encode():
                self.redis.delete(lock)

    def has(self, key: tuple) -> bool:
        return bool(self.redis.exists(self._name(key)))

    def _queued_name(self, patient_id: int) -> str:
        return f"{self.prefix}queued:{patient_id}"

    def mark_queued(self, patient_id: int) -> None:
        """A rendering of this patient's documents is queued (counted: changes can overlap)."""
        name = self._queued_name(patient_id)
        with self.redis.pipeline() as pipe:
            pipe.incr(name)
            pipe.expire(name, QUEUED_SECONDS)
            pipe.execute()

    def taken_up(self, patient_id: int) -> None:
        """A queued rendering has locked what it will render: downloads now wait on the locks."""
        name = self._queued_name(patient_id)
        if self.redis.decr(name) <= 0:
            self.redis.delete(name)

    def get_or_render(
        self, key: tuple, render: Callable[[], bytes], patient_id: int | None = None
    ) -> bytes:
        """The stored PDF; else wait for a rendering queued or in progress; else render it
        once, with others asking for it waiting."""
        data = self.get(key)
        if data is not None:
            return data
        lock = self._name(key) + ":rendering"
        deadline = time.monotonic() + WAIT_SECONDS
        if patient_id is not None:
            queued = self._queued_name(patient_id)
            while (
                time.monotonic() < deadline
                and self.redis.exists(queued)
                and not self.redis.exists(lock)
            ):
                time.sleep(POLL_SECONDS)
                data = self.get(key)
                if data is not None:
                    return data
        token = self.claim(key)
        if token:
            return self.fill(key, token, render)
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


def fetch_or_render(
    key: tuple, render: Callable[[], bytes], patient_id: int | None = None
) -> bytes:
    """Through the shared cache when there is one and it answers; else just render."""
    cache = shared_cache()
    if cache is None:
        return render()
    try:
        return cache.get_or_render(key, render, patient_id)
    except redis.RedisError:
        log.warning("Shared PDF cache unreachable: rendering in this process")
        return render()


# --- rendering ahead -----------------------------------------------------------------------


def reader_locales(plan: CarePlan) -> list[str]:
    """The languages the patient and their current carers read the portal in (English for an
    account with no language saved: the portal's default)."""
    from portal.i18n import supported
    from portal.notifications.triggers import current_carers

    patient = plan.patient
    readers = db.session.scalars(current_carers(patient.id, User.preferred_locale)).all()
    if patient.user is not None:
        readers.append(patient.user.preferred_locale)
    wanted = [patient.preferred_language, *(locale or "en" for locale in readers)]
    available = set(supported())
    return sorted({locale for locale in wanted if locale in available} or {"en"})


@jobs.job("pdf.prerender")
def prerender(patient_id: int) -> int:
    """Render the plan and crisis sheet into the shared cache; the number rendered.

    Every document to render is locked first (the HTML is quick to make), and only then is the
    queued mark taken away, so a download never finds neither a mark nor a lock and renders
    the document itself. Documents already stored (unchanged by the change) are skipped.
    """
    from portal.i18n import formatting_locale
    from portal.pdf import services

    cache = shared_cache()
    plan = db.session.scalar(select(CarePlan).where(CarePlan.patient_id == patient_id))
    if cache is None:
        return 0
    claimed = []
    try:
        if plan is not None:
            size = services.default_print_size(plan.patient)  # what a plain download serves
            for locale in reader_locales(plan):
                with current_app.test_request_context("/"), force_locale(formatting_locale(locale)):
                    for kind in (services.PLAN, services.CRISIS):
                        key, render = services.document(plan, kind, size)
                        if not cache.has(key) and (token := cache.claim(key)):
                            claimed.append((locale, key, token, render))
    finally:
        cache.taken_up(patient_id)
        db.session.rollback()  # read only
    for locale, key, token, render in claimed:
        with current_app.test_request_context("/"), force_locale(formatting_locale(locale)):
            cache.fill(key, token, render)
    return len(claimed)


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


def _mark_queued(session: Session) -> None:
    """Before the jobs are published (so a fast worker never finds no mark to take away)."""
    queued = session.info.pop("pdf_prerender", None)
    cache = shared_cache() if queued else None
    if cache is None:
        return
    try:
        for patient_id in queued:
            cache.mark_queued(patient_id)
    except redis.RedisError:
        log.warning("Shared PDF cache unreachable: renderings not marked as queued")


def _forget(session: Session) -> None:
    session.info.pop("pdf_prerender", None)


def listen() -> None:
    from sqlalchemy import event

    event.listen(Session, "before_flush", _prerender_after_changes)
    event.listen(Session, "after_commit", _mark_queued, insert=True)
    event.listen(Session, "after_rollback", _forget)


listen()
