"""The job queue for real: a Celery worker (a subprocess) on Redis, delivering to SMTP.

Runs when Redis answers on 127.0.0.1:6379 and is skipped, saying so, when it does not. The
worker uses Redis database 14 and a queue named for this run only, so nothing else that uses
the same Redis is disturbed.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import jobs
from portal.models import Notification, NotificationKind, NotificationStatus, Role
from portal.notifications import outbox
from tests.factories import make_user
from tests.notify_support import free_port, smtp  # noqa: F401 - fixture

REDIS_URL = "redis://127.0.0.1:6379/14"

pytestmark = [pytest.mark.real_commits, pytest.mark.xdist_group("celery-worker")]


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def wait_for(condition, seconds: float = 60.0) -> bool:
    """Poll until ``condition()`` holds (a worker is a separate process)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture
def start_worker(app, db, smtp, monkeypatch, tmp_path):  # noqa: F811
    """Start a real ``celery worker`` on this test's database, Redis and SMTP server:
    ``start_worker()`` in one process (``--pool solo``), or with ``pool`` and more
    ``PORTAL_*`` settings. Stopped, and its queue dropped, at the test's end."""
    if not redis_answers():
        pytest.skip(
            "Redis is not answering on 127.0.0.1:6379: "
            "the queue tests against a real Celery worker are skipped"
        )
    queue = f"portal-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", REDIS_URL)
    monkeypatch.setitem(jobs.celery.conf, "broker_url", REDIS_URL)
    monkeypatch.setitem(jobs.celery.conf, "task_default_queue", queue)
    started = []

    def start(pool: tuple[str, ...] = ("--pool", "solo"), **settings: str):
        env = {
            **os.environ,
            "PORTAL_ENV": "testing",
            "PORTAL_SECRET_KEY": "test-secret",
            "PORTAL_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "PORTAL_CELERY_BROKER_URL": REDIS_URL,
            "PORTAL_CELERY_QUEUE": queue,
            "PORTAL_MAIL_SERVER": "127.0.0.1",
            "PORTAL_MAIL_PORT": str(smtp.port),
            "PORTAL_OUTBOX_DIR": str(tmp_path),
            **{f"PORTAL_{name}": value for name, value in settings.items()},
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        command = [
            sys.executable, "-m", "celery", "-A", "portal.worker", "worker",
            "-Q", queue, *pool, "--without-heartbeat", "--without-gossip",
            "--without-mingle", "--loglevel", "WARNING",
        ]  # fmt: skip
        log = tmp_path / "worker.log"
        with open(log, "w") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        process.log = log
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _drop_queue(queue)


@pytest.fixture
def worker(start_worker):
    """A real worker in one process."""
    return start_worker()


def _drop_queue(queue: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.delete(queue, f"{queue}\x06\x161", f"{queue}\x06\x162", f"{queue}\x06\x163")


def statuses(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification.status).order_by(Notification.id)))


def queue_for(db, users, prefix: str) -> None:
    for user in users:
        outbox.queue(db.session, user, NotificationKind.PLAN_AGREED, f"{prefix}:{user.id}")
        db.session.commit()  # each commit hands its notification to the worker


def test_a_worker_delivers_each_notification_once(db, worker, smtp):  # noqa: F811
    users = [make_user(Role.PATIENT) for _ in range(5)]
    db.session.commit()
    queue_for(db, users, "first")
    assert wait_for(lambda: statuses(db) == [NotificationStatus.SENT] * 5), worker_log(worker)
    jobs.publish("notifications.deliver", db.session.scalar(select(Notification.id)))
    jobs.publish("notifications.dispatch_pending")  # repeated jobs find nothing left to send
    time.sleep(1)
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)


def children(process) -> set[int]:
    """The worker's pool processes, from /proc: its children running its own command line
    (not a short-lived helper such as ``ldconfig`` run while libraries load)."""
    command = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    found = set()
    for task in Path(f"/proc/{process.pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for pid in (task / "children").read_text().split():
                if Path(f"/proc/{pid}/cmdline").read_bytes() == command:
                    found.add(int(pid))
    return found


def settled_children(process, count: int) -> set[int]:
    """The pool once it has ``count`` processes and has kept them for a second (a process
    forked to run a helper program briefly has the worker's command line too)."""
    seen: list[set[int]] = []

    def settled() -> bool:
        seen.append(children(process))
        return len(seen) >= 5 and len(seen[-1]) == count and all(s == seen[-1] for s in seen[-5:])

    assert wait_for(settled), worker_log(process)
    return seen[-1]


@pytest.mark.parametrize("limit_kb, replaced", [("1", True), ("0", False)])
def test_a_worker_child_past_its_memory_limit_is_replaced_and_nothing_is_sent_twice(
    db, start_worker, smtp, limit_kb, replaced  # noqa: F811
):
    """The guard against a process grown by PDF renders: past the limit (1 KiB here: every
    child) a child is replaced after its job; each notification still goes exactly once.
    With no limit (0) the same child does every job."""
    process = start_worker(
        ("--pool", "prefork", "--concurrency", "1"), CELERY_WORKER_MAX_MEMORY_KB=limit_kb
    )
    first = settled_children(process, 1)
    users = [make_user(Role.PATIENT) for _ in range(3)]
    db.session.commit()
    queue_for(db, users, "recycled")
    assert wait_for(lambda: statuses(db) == [NotificationStatus.SENT] * 3), worker_log(process)
    if replaced:
        assert wait_for(lambda: len(children(process)) == 1 and children(process) != first)
    else:
        time.sleep(1)
        assert children(process) == first, worker_log(process)
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)


def nice_value(pid: int) -> int:
    """A process's nice value (field 19 of /proc/<pid>/stat, after the command's name)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_worker_and_its_pool_run_nicer_than_the_web_server(db, start_worker, smtp):  # noqa: F811
    """Background jobs give way to page views on a shared machine: the worker and every
    process of its pool run ``WORKER_NICE`` above the process that started them."""
    process = start_worker(("--pool", "prefork", "--concurrency", "2"), WORKER_NICE="7")
    pool = settled_children(process, 2)
    usual = os.getpriority(os.PRIO_PROCESS, 0)
    assert [nice_value(pid) for pid in (process.pid, *pool)] == [usual + 7] * 3
    users = [make_user(Role.PATIENT)]
    db.session.commit()
    queue_for(db, users, "nicer")  # and the jobs still run
    assert wait_for(lambda: statuses(db) == [NotificationStatus.SENT]), worker_log(process)


def test_with_redis_down_nothing_is_lost_and_all_arrives_once_when_it_is_back(
    app, db, worker, smtp, monkeypatch  # noqa: F811
):
    users = [make_user(Role.PATIENT) for _ in range(4)]
    db.session.commit()
    down = f"redis://127.0.0.1:{free_port()}/14"
    monkeypatch.setitem(jobs.celery.conf, "broker_url", down)
    queue_for(db, users, "while-down")  # the changes commit; the jobs cannot be queued
    assert statuses(db) == [NotificationStatus.PENDING] * 4
    assert smtp.messages == []

    monkeypatch.setitem(jobs.celery.conf, "broker_url", REDIS_URL)  # Redis is back
    jobs.publish("notifications.dispatch_pending")  # as beat does every minute
    assert wait_for(lambda: statuses(db) == [NotificationStatus.SENT] * 4), worker_log(worker)
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)


def test_with_the_mail_server_down_the_worker_retries_until_it_is_back(
    db, worker, smtp  # noqa: F811
):
    smtp.refuse = "421 Service not available"
    [user] = [make_user(Role.PATIENT)]
    db.session.commit()
    queue_for(db, [user], "mail-down")
    assert wait_for(lambda: db.session.scalar(select(Notification.attempts)) == 1)
    smtp.refuse = None
    row = db.session.scalar(select(Notification))
    row.next_attempt_at = None  # the retry is due now rather than in a minute
    db.session.commit()
    jobs.publish("notifications.dispatch_pending")
    assert wait_for(lambda: statuses(db) == [NotificationStatus.SENT]), worker_log(worker)
    assert [m["To"] for m in smtp.messages] == [user.email]


def worker_log(process) -> str:
    state = "timed out" if process.poll() is None else f"worker exited with {process.poll()}"
    return f"{state}:\n{process.log.read_text()[-3000:]}"


def test_a_change_is_rendered_by_the_worker_and_the_download_right_after_waits_for_it(
    app, db, cast, login, worker, monkeypatch  # noqa: F811
):
    """The PDF is never laid out in the web process: right after a change the download waits
    for the worker's rendering and serves it."""
    from portal.pdf import shared

    store = shared.SharedPdfCache(REDIS_URL, 50)  # the worker's store: same Redis, same keys
    monkeypatch.setitem(app.extensions, "pdf_shared_cache", store)
    # The worker here shares two cores with the suite: give it longer than production's wait,
    # which gunicorn's timeout bounds (this test is about where the PDF is laid out).
    monkeypatch.setattr(shared, "WAIT_SECONDS", 60.0)
    try:
        _download_after_a_change(app, cast, login, worker, monkeypatch)
    finally:
        mine = [*store.redis.scan_iter(f"{shared.PREFIX}{cast.plan_a.id}:*"),
                store._queued_name(cast.a.id)]
        store.redis.delete(*mine)


def _download_after_a_change(app, cast, login, worker, monkeypatch):
    from portal.pdf import services

    in_request = []
    monkeypatch.setattr(services, "render_pdf", lambda html, **kw: in_request.append(1) or b"")
    services.pdf_cache().clear()
    owner = login(cast.users["owner"])
    owner.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"level": "red", "signs": "Rendered by the worker", "actions": "a", "who_to_call": ""},
    )
    response = owner.get(f"/patients/{cast.a.id}/crisis.pdf")
    assert response.status_code == 200, worker_log(worker)
    assert response.data.startswith(b"%PDF") and in_request == []
    services.pdf_cache().clear()  # as another web worker: served from the shared store
    assert owner.get(f"/patients/{cast.a.id}/plan.pdf").data.startswith(b"%PDF")
    assert in_request == []
