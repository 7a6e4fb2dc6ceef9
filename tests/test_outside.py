"""Outside services failing: a Redis that never answers, database connections lost mid-request.

Fault tests: a fake Redis that accepts connections and never answers (the worst kind: refused
connections fail at once), and PostgreSQL backends killed with ``pg_terminate_backend``.
"""

import contextlib
import logging
import socket
import threading

import pytest
from flask_babel import force_locale
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from portal.errors import MESSAGES
from portal.extensions import db as _db
from portal.plans import page_cache
from portal.plans import views as plan_views
from tests.conftest import ADMIN_URL, sign_in
from tests.factories import PASSWORD, make_patient, make_plan, make_user
from tests.support import other_app

on_postgresql = pytest.mark.skipif(
    not (ADMIN_URL or "").startswith("postgresql"),
    reason="killing a database backend needs PostgreSQL",
)


class SilentServer:
    """A TCP server that accepts every connection and never sends a byte."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent_redis():
    server = SilentServer()
    yield server
    server.close()


def _within(seconds: float, request):
    """``request()`` in a thread: its response, or None if it was still waiting (hung)."""
    box = []
    worker = threading.Thread(target=lambda: box.append(request()), daemon=True)
    worker.start()
    worker.join(seconds)
    return box[0] if box else None


def test_a_redis_that_never_answers_does_not_hold_up_sign_in(app, db, silent_redis, caplog):
    user = make_user(email="pat@example.org")
    db.session.commit()
    config = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{silent_redis.port}/15",
    }
    with other_app(app, config) as limited, caplog.at_level(logging.ERROR):

        def sign_in_with(password):
            def request():
                with limited.app_context():
                    return limited.test_client().post(
                        "/sign-in", data={"email": user.email, "password": password}
                    )

            return request

        # Without timeouts the client would wait for ever; 20 s is only a bound for "hung".
        response = _within(20, sign_in_with(PASSWORD))
        assert response is not None and response.status_code == 302
        alarms = [r for r in caplog.records if "Redis failed" in r.getMessage()]
        assert len(alarms) == 1 and alarms[0].levelno == logging.ERROR
        assert "pat@example.org" not in caplog.text

        accepted = silent_redis.accepted
        for password in ("wrong-password", PASSWORD):  # the breaker is open: Redis is skipped
            response = _within(20, sign_in_with(password))
            assert response is not None
        assert silent_redis.accepted == accepted
        assert len([r for r in caplog.records if "Redis failed" in r.getMessage()]) == 1


def test_redis_calls_have_connect_and_read_timeouts(app):
    config = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15", "REDIS_TIMEOUT_SECONDS": 0.25}
    with other_app(app, config) as configured:
        assert configured.config["RATELIMIT_STORAGE_URI"].startswith("portal+redis://")
        options = configured.config["RATELIMIT_STORAGE_OPTIONS"]
        assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.25


def test_the_database_pool_tests_connections_before_use(app):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


@on_postgresql
def test_postgresql_statements_are_limited_in_time(app, db):
    with _db.engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "20s"


def _plan_page_losing_its_connection(monkeypatch, kill):
    """The connection is lost while the plan page is built, after its access check and audit."""
    real = plan_views.latest_version

    def latest_version_after_losing_the_connection(plan_id):
        kill()
        return real(plan_id)

    monkeypatch.setattr(plan_views, "latest_version", latest_version_after_losing_the_connection)
    # Built afresh, not a body kept from the views before (which reads nothing more).
    monkeypatch.setattr(page_cache.BodyCache, "body", lambda _cache, _key, build: build())


def _assert_try_again_page(response, locale="en"):
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "default-src" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    with force_locale(locale):
        title = str(MESSAGES[503][0])
    assert title in response.get_data(as_text=True)


def test_a_lost_connection_gives_a_try_again_page_in_the_readers_language(
    db, login, monkeypatch
):
    patient = make_patient()
    make_plan(patient)
    patient.user.preferred_locale = "cy"
    db.session.commit()
    client = login(patient.user)

    def lost():
        raise OperationalError("SELECT 1", {}, ConnectionResetError("server closed"))

    _plan_page_losing_its_connection(monkeypatch, lost)
    response = client.get(f"/patients/{patient.id}/plan")
    _assert_try_again_page(response, "cy")
    with force_locale("cy"):
        assert str(MESSAGES[503][0]) != "Sorry, please try again"  # translated


@on_postgresql
@pytest.mark.real_commits  # the request's own connection is killed from another one
def test_a_backend_killed_mid_request_gives_the_try_again_page_then_recovers(
    app, db, monkeypatch
):
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    client = app.test_client()
    sign_in(client, patient.user)
    url = f"/patients/{patient.id}/plan"
    assert client.get(url).status_code == 200
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    database = _db.engine.url.database

    def kill_every_backend():
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )

    try:
        # Killed while idle in the pool: pre-ping replaces the connection, nobody notices.
        kill_every_backend()
        assert client.get(url).status_code == 200

        # Killed during the request: the portal's own 503 page, not a 500.
        with monkeypatch.context() as patched:
            _plan_page_losing_its_connection(patched, kill_every_backend)
            _assert_try_again_page(client.get(url))

        # And the next request is served on a fresh connection.
        assert client.get(url).status_code == 200
    finally:
        admin.dispose()
        with contextlib.suppress(OperationalError):  # the test's own connection died too
            _db.session.rollback()
        _db.session.remove()
        _db.engine.dispose()


KILLED_MID_SAVE = """
import os, sys
from portal import audit, create_app, editing
from portal.extensions import db
from portal.models import Goal, User

url, goal_id, user_id, patient_id = sys.argv[1], *map(int, sys.argv[2:])
app = create_app({"ENV": "testing", "TESTING": True, "SECRET_KEY": "x",
                  "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
with app.test_request_context():
    goal, user = db.session.get(Goal, goal_id), db.session.get(User, user_id)
    record = audit.record

    def record_then_die(*args, **kwargs):
        record(*args, **kwargs)
        db.session.flush()  # the change and its audit event are written, not committed
        os._exit(9)  # as a worker killed by gunicorn's timeout or the OOM killer

    audit.record = record_then_die
    editing.save_proposal(goal, {"title": "Half saved"}, goal.version, user, patient_id, "goal")
"""


@pytest.mark.real_commits  # the dying worker is another process with its own connection
def test_a_worker_killed_mid_save_leaves_nothing_half_saved(app, db, cast):
    import subprocess
    import sys

    from sqlalchemy import func, select

    from portal.models import AuditEvent, Goal

    goal = db.session.scalars(select(Goal).where(Goal.plan_id == cast.plan_a.id)).first()
    before = (goal.title, goal.version)
    url = _db.engine.url.render_as_string(hide_password=False)
    died = subprocess.run(  # noqa: S603 - this test's own script
        [sys.executable, "-c", KILLED_MID_SAVE, url, str(goal.id), str(cast.a.user_id),
         str(cast.a.id)],
        timeout=120,
    )
    assert died.returncode == 9
    db.session.expire_all()
    saved = db.session.get(Goal, goal.id)
    assert (saved.title, saved.version) == before
    edits = select(func.count()).where(AuditEvent.action == "goal.edit")
    assert db.session.scalar(edits) == 0
