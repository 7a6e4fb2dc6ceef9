"""Shared fixtures: an app on a throwaway database (SQLite, or PostgreSQL when asked)."""

import importlib.util
import os
import re
import time
import uuid
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_sqlalchemy.session import Session as FsaSession
from sqlalchemy import create_engine, event, func, select, text

from portal import create_app
from portal.conditions import CONDITIONS
from portal.extensions import db as _db
from portal.models import Base, Condition

ADMIN_URL = os.environ.get("PORTAL_TEST_DATABASE")  # e.g. postgresql+psycopg://postgres@.../postgres
PARTITION_MIGRATION = (
    Path(__file__).parent.parent / "migrations" / "versions" / "0022_partition.py"
)


def partition_migration():
    """Migration 0022 (the audit trail partitioned by month on PostgreSQL), as a module."""
    spec = importlib.util.spec_from_file_location("partition_migration", PARTITION_MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _audit_trail_as_in_production(engine) -> None:
    """On PostgreSQL, the audit trail as migration 0022 leaves it: partitioned by month, this
    month and the next three made, and a DEFAULT partition. The models make one plain table,
    so without this no test would insert into, read or guard the table production has.
    Run once per test database (a few tens of milliseconds); SQLite keeps its plain table."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        partition_migration().upgrade()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """One database per test worker; PostgreSQL ones are created and dropped here."""
    if not ADMIN_URL:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
        return
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (a fresh ``g`` and session), as in production.

    Without this the test's long-lived app context would be shared by every request and the
    signed-in user cached in ``g`` would leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if _db.session.registry.has():
            _db.session.expire_all()  # the test's own objects see what the request wrote
        return response


class _ConnectionSession(FsaSession):
    """Uses the connection it was given, where Flask-SQLAlchemy would pick the app's engine."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind or self.bind or super().get_bind(mapper, clause, **kwargs)


@contextmanager
def _sqlite_savepoints(connection):
    """pysqlite begins transactions itself and breaks SAVEPOINT: let SQLAlchemy say BEGIN.

    As in SQLAlchemy's pysqlite notes ("Serializable isolation / Savepoints / Transactional
    DDL"), but for this one connection only: elsewhere reads stay outside a transaction, so
    a ``real_commits`` test's second connection can still write between them.
    """
    dbapi_connection = connection.connection.driver_connection
    usual = dbapi_connection.isolation_level
    dbapi_connection.isolation_level = None
    event.listen(connection, "begin", _say_begin)
    try:
        yield
    finally:
        event.remove(connection, "begin", _say_begin)
        dbapi_connection.isolation_level = usual


def _say_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    os.environ.setdefault("PORTAL_ENV", "testing")
    app = create_app(
        {
            "OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
            "ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "HSTS": False,
            "SERVER_NAME": "localhost",
            "BASE_URL": "http://localhost",
        }
    )
    app.test_client_class = FreshContextClient
    factory = _db.session.session_factory
    factory.class_ = type(factory.class_.__name__, (_ConnectionSession,), {})
    with app.app_context():
        Base.metadata.create_all(_db.engine)
        _audit_trail_as_in_production(_db.engine)
        _db.session.add_all(Condition(code=c.code, name=c.name) for c in CONDITIONS)
        _db.session.commit()
        _db.session.remove()
    yield app
    with app.app_context():
        _db.engine.dispose()


# Tables whose rows every test creates: any left behind means a test leaked into the next.
_WATCHED = ("users", "patients", "audit_events")


def _truncate(connection) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "conditions"]
    if connection.dialect.name == "postgresql":
        statement = "TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"
        connection.execute(text(statement))
    else:
        for name in tables:
            connection.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 - table names from metadata


def _leftovers(connection) -> dict[str, int]:
    counts = {
        name: connection.scalar(select(func.count()).select_from(Base.metadata.tables[name]))
        for name in _WATCHED
    }
    return {name: n for name, n in counts.items() if n}


def _savepoints_work(connection):
    return _sqlite_savepoints(connection) if connection.dialect.name == "sqlite" else nullcontext()


@contextmanager
def _rolled_back():
    """The test's sessions share one connection inside a transaction that is never committed.

    Sessions join it through savepoints, so the app's own ``commit()`` and ``rollback()`` work
    as usual while nothing reaches the database.
    """
    factory = _db.session.session_factory
    saved = dict(factory.kw)
    with _db.engine.connect() as connection, _savepoints_work(connection):
        outer = connection.begin()
        factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield
        finally:
            _db.session.remove()
            factory.kw = saved
            if outer.is_active:
                outer.rollback()


@pytest.fixture
def db(app, request):
    """A clean database for each test, with the conditions list loaded.

    Changes are rolled back after the test; tests marked ``real_commits`` (a second
    connection or engine must see them) commit for real and the tables are emptied instead.
    """
    real_commits = request.node.get_closest_marker("real_commits") is not None
    # The app lives for the whole session: no plan page body kept from another test's data.
    app.extensions.pop("plan_page_cache", None)
    with app.app_context(), nullcontext() if real_commits else _rolled_back():
        yield _db
        _db.session.rollback()
        _db.session.remove()
    with app.app_context(), _db.engine.begin() as connection:
        leftovers = {} if real_commits else _leftovers(connection)
        if real_commits or leftovers:
            _truncate(connection)
    if leftovers:
        pytest.fail(f"rows left behind for the next test: {leftovers}", pytrace=False)


@pytest.fixture
def clock(monkeypatch):
    """Moves the portal's clock forward without waiting."""
    from portal import security

    class Clock:
        offset = 0

        def advance(self, seconds: int) -> None:
            self.offset += seconds

    clock = Clock()
    real = security.now
    monkeypatch.setattr(security, "now", lambda: real() + clock.offset)
    return clock


@pytest.fixture
def client(app, db):
    return app.test_client()


def sign_in(client, user) -> None:
    """Start a signed-in session directly (the sign-in form has its own tests)."""
    with client.session_transaction() as session:
        now = int(time.time())
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["started_at"] = now
        session["seen_at"] = now
        session["auth_at"] = now  # password just checked (re-authentication is recent)
        session["mfa_ok"] = True  # passed two-step verification (mandatory for staff)


@pytest.fixture
def login(client):
    def _login(user):
        sign_in(client, user)
        return client

    return _login


_SAVEPOINT = re.compile(r"(RELEASE |ROLLBACK TO )?SAVEPOINT ", re.IGNORECASE)


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args):
        if not _SAVEPOINT.match(statement):  # the test's rollback harness, not the app
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(db):
    """Context manager counting SQL statements sent by the app."""

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def cast(db):
    """Everyone who might ask for patient A's plan, for endpoint x role access matrices."""
    from types import SimpleNamespace

    from portal.models import Role
    from tests.factories import make_grant, make_org, make_patient, make_plan, make_user

    org, other_org = make_org("Home practice"), make_org("Other practice")
    nurse = make_user(Role.PROFESSIONAL, org, display_name="Nurse Named")
    a = make_patient(org, given_name="Alice", family_name="Able")
    b = make_patient(org, given_name="Bob", family_name="Baker")
    no_consent = make_patient(org, consent=False, given_name="Nina", family_name="Noconsent")
    plan_a = make_plan(a, named_contact=nurse)
    plan_b = make_plan(b)
    make_plan(no_consent)
    carers = {}
    for scope in ("crisis", "view", "contribute"):
        carers[scope] = make_user(Role.CARER, display_name=f"Carer {scope}")
        make_grant(a, carers[scope], scope)
    expired = make_user(Role.CARER, display_name="Carer expired")
    from datetime import date, timedelta

    make_grant(a, expired, "view", expires_on=date.today() - timedelta(days=1))
    revoked = make_user(Role.CARER, display_name="Carer revoked")
    make_grant(a, revoked, "view", revoked=True)
    cast = SimpleNamespace(
        org=org,
        other_org=other_org,
        a=a,
        b=b,
        no_consent=no_consent,
        plan_a=plan_a,
        plan_b=plan_b,
        users={
            "owner": a.user,
            "other_patient": b.user,
            "carer_crisis": carers["crisis"],
            "carer_view": carers["view"],
            "carer_contribute": carers["contribute"],
            "carer_expired": expired,
            "carer_revoked": revoked,
            "carer_no_grant": make_user(Role.CARER),
            "professional": nurse,
            "professional_other_org": make_user(Role.PROFESSIONAL, other_org),
            "commissioner": make_user(Role.COMMISSIONER),
            "admin": make_user(Role.ADMIN, org),
            "practice_admin": make_user(Role.PRACTICE_ADMIN, org),
            "anonymous": None,
        },
    )
    db.session.commit()
    return cast


# How people of other organisations stand to patient A (see ``org_cast``).
ORG_RELATIONS = [
    "member_crisis",  # a matron named in an agreed membership, crisis scope
    "member_view",
    "member_contribute",
    "member_team",  # anyone of a team whose whole team is a member (view)
    "member_proposed",  # proposed by the practice, not agreed by the patient
    "member_ended",  # the patient ended it
    "member_past_end_date",
    "member_left",  # left the organisation whose team is a member
    "urgent_before_reason",  # an ambulance clinician who has not given a reason
    "urgent_after_reason",
    "urgent_after_24_hours",
    "urgent_opted_out",  # gave a reason, then patient A turned emergency access off
]


@pytest.fixture
def org_cast(db, cast):
    """The shared cast, and someone standing in each ``ORG_RELATIONS`` way to patient A."""
    from datetime import date, timedelta

    from portal.models import OrganisationKind, Role, StaffMembership
    from portal.models.base import utcnow
    from tests.factories import make_emergency_access, make_membership, make_org, make_user

    community = make_org("Riverside Community Health")
    community.kind = OrganisationKind.COMMUNITY_HEALTH
    hospice = make_org("St Anne's Hospice")
    hospice.kind = OrganisationKind.HOSPICE
    ambulance = make_org("Northern Ambulance Service")
    ambulance.kind = OrganisationKind.URGENT_CARE
    people = {}
    for scope in ("crisis", "view", "contribute"):
        people[f"member_{scope}"] = make_user(Role.PROFESSIONAL, community)
        make_membership(cast.a, community, people[f"member_{scope}"], scope)
    people["member_team"] = make_user(Role.PROFESSIONAL, hospice)
    make_membership(cast.a, hospice, None, "view")
    people["member_proposed"] = make_user(Role.PROFESSIONAL, community)
    make_membership(cast.a, community, people["member_proposed"], "view", status="proposed")
    people["member_ended"] = make_user(Role.PROFESSIONAL, community)
    make_membership(
        cast.a, community, people["member_ended"], "view", status="ended", ended_at=utcnow()
    )
    people["member_past_end_date"] = make_user(Role.PROFESSIONAL, community)
    make_membership(
        cast.a, community, people["member_past_end_date"], "view",
        ends_on=date.today() - timedelta(days=1),
    )
    people["member_left"] = make_user(Role.PROFESSIONAL)
    db.session.add(
        StaffMembership(user_id=people["member_left"].id, organisation_id=hospice.id,
                        left_at=utcnow())
    )
    for key, hours in (("urgent_before_reason", None), ("urgent_after_reason", 1),
                       ("urgent_after_24_hours", 25), ("urgent_opted_out", 1)):
        people[key] = make_user(Role.PROFESSIONAL, ambulance)
        if hours is not None:
            make_emergency_access(cast.a, people[key], hours_ago=hours)
    cast.users.update(people)
    cast.community, cast.hospice, cast.ambulance = community, hospice, ambulance
    db.session.commit()
    return cast


@contextmanager
def as_relation(db, cast, relation: str):
    """Patient A set up for ``relation`` while a request is made (and put back after)."""
    flip = {"professional_no_consent": "care_team_consent", "urgent_opted_out": "emergency_access"}
    column = flip.get(relation)
    if column:
        setattr(cast.a, column, False)
        db.session.commit()
    try:
        yield cast.users["professional" if relation == "professional_no_consent" else relation]
    finally:
        if column:
            setattr(cast.a, column, True)
            db.session.commit()


@pytest.fixture
def request_as(client):
    """Make a request as one of the cast (or anonymously), in a fresh session."""

    def _request(user, method: str, url: str, **kw):
        with client.session_transaction() as session:
            session.clear()
        if user is not None:
            sign_in(client, user)
        return client.open(url, method=method, **kw)

    return _request


@pytest.fixture
def english(request):
    """Text read outside a request (reports, as the command line reads them) in English;
    with the database when the test has one."""
    if "db" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")
    with force_locale("en"):
        yield


@pytest.fixture
def renders(app, monkeypatch):
    """Replace the WeasyPrint step by a stub and keep the HTML of each call; start with an
    empty cache."""
    from portal.pdf import services

    calls: list[str] = []

    def fake_render(html: str, *, one_page: bool = False, large: bool = False) -> bytes:
        calls.append(html)
        return b"%PDF-1.7 stub " + str(len(calls)).encode()

    monkeypatch.setattr(services, "render_pdf", fake_render)
    with app.app_context():
        services.pdf_cache().clear()
    yield calls
    with app.app_context():
        services.pdf_cache().clear()
