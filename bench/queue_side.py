"""The background side of the load test: a real Celery worker on Redis delivering notifications
to an SMTP server on loopback, a register import uploaded and confirmed through the real pages,
and what the worker and the queue hold while the people use the portal.

Used by ``bench.load``; the web server and the worker get the same settings (``configure``),
so every job the pages queue (notifications, PDF renders, the import's check and run) goes
through Redis to the worker, as in production.
"""

import contextlib
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
from sqlalchemy import create_engine, func, insert, select, text

from bench import datagen

# A database of its own on the local Redis (other benchmarks use 13).
REDIS = "redis://127.0.0.1:6379/11"
RESULTS = Path(__file__).resolve().parent / "results"
WORKER_CONCURRENCY = 2
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
IMPORT_ID = re.compile(r"/register/imports/(\d+)")


@dataclass
class Sample:
    at: float
    worker_rss_mb: list[float]
    redis_used_mb: float
    backlog: int
    emails: int


@dataclass(eq=False)
class QueueWatch(threading.Thread):
    """Every second: the resident memory of each Celery worker process, Redis's
    ``used_memory``, the queue's length and the emails received so far."""

    redis: object
    queue: str
    worker_pid: int
    inbox: object
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self):
        threading.Thread.__init__(self, daemon=True)
        self.stop = threading.Event()

    def sample(self) -> Sample:
        rss = []
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.worker_pid)
            rss = [p.memory_info().rss / 2**20 for p in [root, *root.children(recursive=True)]]
        info = self.redis.info("memory")
        taken = Sample(time.perf_counter(), rss, info["used_memory"] / 2**20,
                       self.redis.llen(self.queue), self.inbox.distinct)
        self.samples.append(taken)
        return taken

    def run(self):
        while not self.stop.wait(1):
            with contextlib.suppress(Exception):
                self.sample()

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


def redis_answers() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False
    return True


@contextlib.contextmanager
def job_queue(env: dict, log_dir: Path):
    """Start the SMTP server and a Celery worker (``WORKER_CONCURRENCY`` processes) on a queue
    named for the run; ``env`` gains the settings the web server needs too. Yields the watch."""
    import redis
    from aiosmtpd.controller import Controller

    from bench.load import free_port
    from bench.notify_bench import Inbox, start_worker, stop

    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    queue = f"portal-load-{uuid.uuid4().hex[:8]}"
    env.update({
        "PORTAL_CELERY_BROKER_URL": REDIS,
        "PORTAL_CELERY_QUEUE": queue,
        "PORTAL_MAIL_SERVER": "127.0.0.1",
        "PORTAL_MAIL_PORT": str(smtp_port),
        "PORTAL_BASE_URL": "https://careplan.example.nhs.uk",
        "PORTAL_REGISTER_UPLOAD_DIR": tempfile.mkdtemp(prefix="uploads-", dir=log_dir),
    })  # fmt: skip
    client = redis.Redis.from_url(REDIS)
    worker = start_worker(env, queue, WORKER_CONCURRENCY, log_dir / "load-worker.log")
    watch = QueueWatch(client, queue, worker.pid, inbox)
    watch.start()
    try:
        yield watch
    finally:
        watch.stop.set()
        stop(worker)
        smtp.stop()
        client.delete(queue)


def notification_counts(url: str, since: datetime) -> dict[str, int]:
    """Notifications queued since ``since``, by status."""
    from portal.models import Notification

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Notification.status, func.count())
                .where(Notification.created_at >= since)
                .group_by(Notification.status)
            ).all()
    finally:
        engine.dispose()
    return {str(getattr(status, "value", status)): n for status, n in rows}


def practice_admin(url: str) -> str:
    """A new practice with its practice administrator (two-step key of the bench), for the
    register import: its own practice, so the generated practices' patients stay put."""
    from portal.models import Organisation, User

    stamp = uuid.uuid4().hex[:6]
    engine = create_engine(url)
    with engine.begin() as conn:
        password_hash = conn.execute(text(
            "SELECT password_hash FROM users WHERE email LIKE 'staff%' ORDER BY id LIMIT 1"
        )).scalar_one()
        org = conn.execute(
            insert(Organisation.__table__).returning(Organisation.__table__.c.id),
            {"ods_code": f"L{int(stamp, 16) % 100000:05d}", "name": f"Load Register {stamp}",
             "created_at": datetime.now(UTC)},
        ).scalar_one()
        email = f"register-{stamp}@bench.invalid"
        conn.execute(insert(User.__table__), {
            "email": email, "password_hash": password_hash, "role": "practice_admin",
            "display_name": "Practice administrator", "organisation_id": org,
            "session_token": f"r{stamp}", "can_audit": False, "active": True,
            "mfa_enabled": True, "mfa_secret": datagen.MFA_SECRET,
            "created_at": datetime.now(UTC),
        })  # fmt: skip
    engine.dispose()
    return email


@dataclass(eq=False)
class ImportRun(threading.Thread):
    """A register file uploaded through the page, its check waited for, confirmed, and its
    import waited for, as a practice administrator does while everyone else works."""

    host: str
    url: str
    rows: int
    timeout: float = 900
    result: dict = field(default_factory=dict)

    def __post_init__(self):
        threading.Thread.__init__(self, daemon=True)

    def _row(self, import_id: int):
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(
                    text("SELECT status, new, rejected FROM register_imports WHERE id = :id"),
                    {"id": import_id},
                ).one()
        finally:
            engine.dispose()

    def _status(self, import_id: int) -> str:
        return self._row(import_id).status

    def _wait(self, import_id: int, until: set[str], begun: float) -> str:
        while time.perf_counter() - begun < self.timeout:
            status = self._status(import_id)
            if status in until:
                return status
            time.sleep(1)
        return "timed out"

    def run(self):
        from bench.load import _sign_in
        from bench.register_bench import write_file

        try:
            client = _sign_in(self.host, practice_admin(self.url))
            path = Path(tempfile.mkdtemp(prefix="register-", dir=RESULTS)) / "register.csv"
            # People of their own for each run (numbered above register_bench's), so the
            # import adds them rather than refusing people on another practice's register.
            first = 100_000 * (1 + int(time.time()) % 100)
            write_file(path, self.rows, seed=int(time.time()), first=first)
            begun = time.perf_counter()
            page = client.get(f"{self.host}/register/import", timeout=30).text
            with path.open("rb") as stream:
                response = client.post(
                    f"{self.host}/register/import",
                    data={"csrf_token": CSRF.search(page).group(1)},
                    files={"file": ("register.csv", stream, "text/csv")},
                    timeout=120,
                )
            import_id = int(IMPORT_ID.search(response.url).group(1))
            self.result["upload_s"] = time.perf_counter() - begun
            status = self._wait(import_id, {"previewed", "failed"}, begun)
            self.result["check_s"] = time.perf_counter() - begun
            page = client.get(f"{self.host}/register/imports/{import_id}", timeout=30).text
            confirmed = time.perf_counter()
            client.post(
                f"{self.host}/register/imports/{import_id}/confirm",
                data={"csrf_token": CSRF.search(page).group(1)},
                timeout=30,
            )
            status = self._wait(import_id, {"completed", "failed"}, confirmed)
            self.result["import_s"] = time.perf_counter() - confirmed
            row = self._row(import_id)
            self.result["status"] = f"{status}: {row.new:,} new, {row.rejected:,} refused"
        except Exception as exc:  # noqa: BLE001 - reported beside the figures
            self.result["status"] = f"failed: {exc!r}"[:300]
        finally:
            with contextlib.suppress(Exception):
                path.unlink()


def describe(watch: QueueWatch, start: float, end: float) -> list[str]:
    """The worker's and the queue's figures over one phase of the run."""
    samples = watch.between(start, end)
    if not samples:
        return ["(no queue samples)"]
    first, last = samples[0], samples[-1]
    peak_process = max((max(s.worker_rss_mb, default=0) for s in samples), default=0)
    peak_total = max(sum(s.worker_rss_mb) for s in samples)
    backlog = [s.backlog for s in samples]
    minutes = max((last.at - first.at) / 60, 1e-9)
    return [
        f"Celery worker ({WORKER_CONCURRENCY} processes and the parent): largest process "
        f"{peak_process:.0f} MB (target < 250 MB: {'met' if peak_process < 250 else 'missed'}), "
        f"all together at most {peak_total:.0f} MB",
        f"Redis used_memory (the whole server, shared): {first.redis_used_mb:.1f} MB at the "
        f"start, {last.redis_used_mb:.1f} MB at the end, "
        f"at most {max(s.redis_used_mb for s in samples):.1f} MB",
        f"Queue length: {first.backlog} at the start, {last.backlog} at the end, at most "
        f"{max(backlog)} (target: no growing backlog: "
        f"{'met' if last.backlog <= max(first.backlog, 5) else 'missed'})",
        f"Emails delivered by the worker during the phase: {last.emails - first.emails:,} "
        f"({(last.emails - first.emails) / minutes:.0f} a minute)",
    ]

