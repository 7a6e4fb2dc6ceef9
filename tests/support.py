"""Helpers for the security tests: a second app with other settings, the email outbox, a
snapshot of the database, and the app's routes with their URL arguments filled in.

Flask-Limiter keeps its state on the one ``limiter`` object, so initialising it for another
app changes it for the shared test app too: ``other_app`` hands it back when done.
"""

import os
import re
from contextlib import contextmanager

from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter

from portal import create_app
from portal.extensions import db, limiter
from portal.models import AuditEvent, Base
from tests.conftest import FreshContextClient

TEST_CONFIG = {
    "ENV": "testing",
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "SESSION_COOKIE_SECURE": False,
    "HSTS": False,
    "SERVER_NAME": "localhost",
}


@contextmanager
def other_app(base_app, config: dict | None = None, testing_defaults: bool = True):
    """``config`` on top of the shared test settings (or on its own for production checks)."""
    settings = dict(TEST_CONFIG) if testing_defaults else {}
    settings["SQLALCHEMY_DATABASE_URI"] = base_app.config["SQLALCHEMY_DATABASE_URI"]
    settings.update(config or {})
    app = create_app(settings)
    app.test_client_class = FreshContextClient
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        limiter.init_app(base_app)


class Outbox:
    """The emails the app wrote to its outbox directory (no mail server in tests)."""

    def __init__(self, path):
        self.path = path

    @property
    def messages(self):
        from email import policy
        from email.parser import BytesParser

        parser = BytesParser(policy=policy.default)
        files = sorted(self.path.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        return [parser.parsebytes(p.read_bytes()) for p in files]

    def to(self, address: str):
        return [m for m in self.messages if m["To"] == address]


def email_change_link(outbox: Outbox, new_email: str) -> str:
    """The path of the confirmation link sent to a new email address."""
    body = outbox.to(new_email)[-1].get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/account/email/confirm/\S+)", body).group(1)


def use_outbox(app, monkeypatch, tmp_path) -> Outbox:
    path = tmp_path / "outbox"
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(path))
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    return Outbox(path)


def snapshot(exclude=("audit_events",)) -> dict[str, list]:
    """Every row of every table (audit events aside: viewing a plan writes one by design)."""
    conn = db.session.connection()  # the test's own: it sees rows not yet rolled back
    return {
        table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
        for table in Base.metadata.sorted_tables
        if table.name not in exclude
    }


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def rules(app, methods: set[str]):
    """The app's rules answering any of ``methods`` (static files aside), in a stable order."""
    found = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint != "static" and r.methods and methods & set(r.methods)
    ]
    return sorted(found, key=lambda r: (r.rule, r.endpoint))


def ids_for(arg: str) -> list[int]:
    """Ids that exist in the table an ``<int:...>`` argument names (``goal_id`` -> ``goals``)."""
    stem = arg.removesuffix("_id")
    ids: list[int] = []
    conn = db.session.connection()
    for table in Base.metadata.sorted_tables:
        if stem and stem in table.name and "id" in table.c:
            ids += [row[0] for row in conn.execute(select(table.c.id).limit(50))]
    return sorted(set(ids))


def fill(app, rule, patient_id: int, forged: bool = False) -> str:
    """A URL for ``rule``: the given patient, and an existing (or, forged, a foreign) item id."""
    values = {}
    for arg in sorted(rule.arguments):
        if isinstance(rule._converters[arg], IntegerConverter):
            if arg == "patient_id":
                values[arg] = patient_id
            else:
                ids = ids_for(arg)
                values[arg] = (ids[-1] if forged else ids[0]) if ids else 1
        elif isinstance(rule._converters[arg], AnyConverter):
            values[arg] = sorted(rule._converters[arg].items)[0]  # one of the values it allows
        else:
            values[arg] = "not-a-real-value"
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=None)


# The hostile-input sweeps (tests/test_bad_input.py, tests/test_fuzz.py): examples per route
# and role, a few in the normal suite and many in `make bench` (bench/fuzz.py), which reads
# the number of requests they made from PORTAL_FUZZ_REPORT.
FUZZ_EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "3"))


class FuzzCount:
    requests = 0

    @classmethod
    def report(cls) -> None:
        if path := os.environ.get("PORTAL_FUZZ_REPORT"):
            with open(path, "a") as f:
                f.write(f"{cls.requests}\n")
        cls.requests = 0


DATE_FIELDS = re.compile(
    r"(held_on|day|taken_on|next_review_on|paper_copy_given_on|p_\w+_target_date)"
)


def as_date_boxes(data: dict) -> dict:
    """Form data with each date field typed into the NHS.UK day, month and year boxes.

    ``2026-03-14`` becomes 14 / 3 / 2026; anything else (blank, spaces, nonsense) is typed as
    it is into the day box, with the other boxes left as blank as the value is.
    """
    typed = {}
    for name, value in data.items():
        if not (isinstance(value, str) and DATE_FIELDS.fullmatch(name)):
            typed[name] = value
            continue
        parts = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
        if parts:
            year, month, day = parts.groups()
        else:
            day, month, year = value, value.strip() and "", value.strip() and ""
            if not value.strip():
                month = year = value
        typed |= {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}
    return typed


def events(db, action: str) -> list[AuditEvent]:
    """The audit events of one action, oldest first."""
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))
