"""Review reminders through the real queue: queued, sent by Celery workers to a loopback SMTP
server, with one worker killed mid-run; counts duplicates and losses.

    python -m bench.notify_bench --reminders 100000 [--workers 2] [--concurrency 2]

Needs Redis on 127.0.0.1:6379 (database 13, a queue named for the run). Uses PostgreSQL when
one answers on 127.0.0.1:5432 (``BENCH_PG_ADMIN``), otherwise SQLite. The data generator makes
the patients (about 80% have an account); every plan's review is then set 8 weeks away, so
the reminder job queues one email per patient with an account.

Figures printed: time to queue, time until every email had arrived, emails a second, and the
three counts that matter: reminders queued, distinct emails received, emails received twice
(duplicates) and never received (losses). A killed worker's claimed rows are taken up again
after the claim lease (30 s here), and the dispatcher (run every 10 s here, every minute in
production) re-queues them.
"""

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/13"
LEASE_SECONDS = 30


class Inbox:
    """Counts each email by its Message-ID (the outbox row's own)."""

    def __init__(self):
        self.seen: collections.Counter = collections.Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                with self.lock:
                    self.seen[line.split(b":", 1)[1].strip()] += 1
                break
        return "250 OK"

    @property
    def distinct(self) -> int:
        return len(self.seen)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.seen.values())


def database(reminders: int) -> str:
    from bench.__main__ import fresh_pg_database

    url = fresh_pg_database("portal_bench_notify")
    if url:
        return url
    path = Path(tempfile.mkdtemp()) / "notify.sqlite3"
    return f"sqlite:///{path}"


def start_worker(env: dict, queue: str, concurrency: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "portal.worker", "worker", "-Q", queue,
        "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    with open(log, "a") as output:
        return subprocess.Popen(  # noqa: S603
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=3600, help="give up after (seconds)")
    args = parser.parse_args()

    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError:
        print("Redis is not answering on 127.0.0.1:6379: nothing measured.")
        return

    from bench.datagen import generate

    url = database(args.reminders)
    patients = int(args.reminders / 0.8) + 50
    started = time.perf_counter()
    generate(url, patients)
    print(f"Data: {patients:,} patients generated in {time.perf_counter() - started:.0f} s "
          f"({url.split(':', 1)[0]})")

    inbox = Inbox()
    from tests.notify_support import free_port

    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    queue = f"portal-bench-{uuid.uuid4().hex[:8]}"
    settings = {
        "PORTAL_ENV": "testing",
        "PORTAL_SECRET_KEY": "bench-secret",
        "PORTAL_SQLALCHEMY_DATABASE_URI": url,
        "PORTAL_CELERY_BROKER_URL": REDIS,
        "PORTAL_CELERY_QUEUE": queue,
        "PORTAL_MAIL_SERVER": "127.0.0.1",
        "PORTAL_MAIL_PORT": str(smtp_port),
        "PORTAL_BASE_URL": "https://careplan.example.nhs.uk",
        "PORTAL_NOTIFY_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(settings)
    os.environ.update(settings)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)

    from portal import create_app
    from portal.extensions import db
    from portal.models import CarePlan, Notification, NotificationStatus, Patient
    from portal.notifications import schedule

    app = create_app()
    log = Path(tempfile.mkdtemp()) / "workers.log"
    workers = [start_worker(env, queue, args.concurrency, log) for _ in range(args.workers)]
    killed = False
    try:
        with app.app_context():
            today = schedule.local_today()
            db.session.execute(update(CarePlan).values(next_review_date=today + timedelta(56)))
            expected = db.session.scalar(
                select(func.count()).select_from(Patient).where(Patient.user_id.is_not(None))
            )
            db.session.commit()

            begun = time.perf_counter()
            queued = schedule.review_reminders(today)
            queued_in = time.perf_counter() - begun
            print(f"Queued: {queued:,} reminders ({expected:,} patients with an account) "
                  f"in {queued_in:.1f} s")

            last_dispatch = time.perf_counter()
            while inbox.distinct < queued and time.perf_counter() - begun < args.timeout:
                time.sleep(0.5)
                if not killed and inbox.distinct >= queued // 3:
                    stop(workers[0], signal.SIGKILL)  # mid-run, without warning
                    workers[0] = start_worker(env, queue, args.concurrency, log)
                    killed = True
                    print(f"Killed a worker after {inbox.distinct:,} emails; started another")
                if time.perf_counter() - last_dispatch > 10:
                    from portal import jobs

                    jobs.publish("notifications.dispatch_pending")
                    last_dispatch = time.perf_counter()
            took = time.perf_counter() - begun
            time.sleep(2)  # anything still in flight
            db.session.expire_all()
            statuses = dict(
                db.session.execute(
                    select(Notification.status, func.count()).group_by(Notification.status)
                ).tuples().all()
            )
    finally:
        for worker in workers:
            stop(worker)
        smtp.stop()
        redis.Redis.from_url(REDIS).delete(queue)

    sent = statuses.get(NotificationStatus.SENT, 0)
    print(f"Delivered: {inbox.distinct:,} distinct emails in {took:.0f} s "
          f"({inbox.distinct / took:.0f} a second), {args.workers} workers x {args.concurrency}")
    print(f"Rows: {statuses}")
    print(f"Duplicates (an email received more than once): {inbox.duplicates}")
    print(f"Losses (queued, never received): {queued - inbox.distinct}")
    print(f"Rows marked sent: {sent:,}; worker killed mid-run: {'yes' if killed else 'no'}")


if __name__ == "__main__":
    main()
