"""Helpers for the security tests: a second app with other settings, the email outbox, a
snapshot of the database, and the app's routes with their URL arguments filled in.

Flask-Limiter keeps its state on the one ``limiter`` object, so initialising it for another
app changes it for the shared test app too: ``other_app`` hands it back when done.
"""

import json
import os
import re
import time
from contextlib import contextmanager

from sqlalchemy import select, text
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


def snapshot(exclude=("audit_events",)) -> dict[str, object]:
    """Every row of every table (audit events aside: viewing a plan writes one by design).

    On PostgreSQL each table's rows, as text and in order, are digested in one round trip
    instead of one query a table: the sweeps take two snapshots a request.
    """
    conn = db.session.connection()  # the test's own: it sees rows not yet rolled back
    tables = [table for table in Base.metadata.sorted_tables if table.name not in exclude]
    if conn.dialect.name == "postgresql":
        digests = ", ".join(  # table names from the models, never from input
            f"(SELECT md5(coalesce(string_agg(r::text, chr(10) ORDER BY r::text), '')) "  # noqa: S608
            f'FROM "{table.name}" r)'
            for table in tables
        )
        row = conn.execute(text(f"SELECT {digests}")).one()
        return dict(zip([t.name for t in tables], row, strict=True))
    return {
        table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
        for table in tables
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


# The hostile-input sweeps (tests/test_bad_input.py, tests/test_fuzz.py) fuzz one target at a
# time: a form route or a GET page, as one role, at one URL (patient A's, or forged ids). Each
# target gets FUZZ_EXAMPLES generated examples beside its fixed ones: a few in the normal suite,
# more in `make bench` (bench/fuzz.py), which bounds them in time too and reads what each target
# did from PORTAL_FUZZ_REPORT (one JSON line per target). That file is also the run's progress:
# targets already recorded there as done are skipped, so a run that was cut off can be resumed.
FUZZ_EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "3"))
FUZZ_TARGET_SECONDS = float(os.environ.get("PORTAL_FUZZ_TARGET_SECONDS", "0"))  # 0: no limit
FUZZ_DEADLINE = float(os.environ.get("PORTAL_FUZZ_DEADLINE", "0"))  # epoch seconds; 0: none
FUZZ_REPORT = os.environ.get("PORTAL_FUZZ_REPORT")
FINISHED = ("done", "time budget spent")


class FuzzTarget:
    """One target of a hostile-input sweep: how many requests it made, and whether time ran out.

    The fixed examples (``floor``) always run; after them, once the target has used its
    ``PORTAL_FUZZ_TARGET_SECONDS`` the remaining generated examples are passed over, unless a
    request has already failed (so hypothesis can still shrink and report the failure).
    """

    def __init__(self, sweep: str, key: str, floor: int = 2):
        self.key = f"{sweep}: {key}"
        self.floor = floor
        self.requests = 0
        self.out_of_time = False
        self.failing = False
        self.started = time.monotonic()

    def spent(self) -> bool:
        """Whether the rest of this target's examples should be passed over."""
        if self.failing or self.requests < self.floor or not FUZZ_TARGET_SECONDS:
            return False
        self.out_of_time |= time.monotonic() - self.started > FUZZ_TARGET_SECONDS
        return self.out_of_time

    @contextmanager
    def request(self):
        """Counts one request; a failing one keeps the target from being cut short."""
        self.requests += 1
        try:
            yield
        except BaseException:
            self.failing = True
            raise

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, exc_type, exc, tb):
        status = "failed" if exc_type else ("time budget spent" if self.out_of_time else "done")
        self.record(status)

    def record(self, status: str) -> None:
        if FUZZ_REPORT:
            line = {
                "target": self.key,
                "status": status,
                "requests": self.requests,
                "seconds": round(time.monotonic() - self.started, 2),
            }
            with open(FUZZ_REPORT, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")


def no_error(response) -> bool:
    """Not a 500: any answer below 500, or the message page of a PDF refused for its time
    (503, by design: a render on a busy machine may pass ``PDF_RENDER_SECONDS``)."""
    from portal.pdf.views import RETRY_REFUSED_AFTER

    refused = response.headers.get("Retry-After") == RETRY_REFUSED_AFTER
    return response.status_code < 500 or (response.status_code == 503 and refused)


def unfinished(sweep: str, items) -> list:
    """The ``(key, item)`` pairs whose target an earlier, cut-off run of this report has not
    finished (all of them without a report)."""
    if not (FUZZ_REPORT and os.path.exists(FUZZ_REPORT)):
        return list(items)
    with open(FUZZ_REPORT, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    finished = {line["target"] for line in lines if line["status"] in FINISHED}
    return [(key, item) for key, item in items if f"{sweep}: {key}" not in finished]


def fuzz_targets(sweep: str, pending):
    """``(target, item)`` for each ``(key, item)`` of ``pending`` while the run has time.

    The caller fuzzes each inside ``with target:``, which records what it did. Past the
    run's deadline each remaining target is recorded as not reached (a later run with the
    same report resumes there).
    """
    for key, item in pending:
        target = FuzzTarget(sweep, key)
        if FUZZ_DEADLINE and time.time() > FUZZ_DEADLINE:
            target.record("not reached")
            continue
        yield target, item


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
