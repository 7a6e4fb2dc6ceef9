"""Real-browser fixtures: the portal served on a free port with demo data, and Chromium.

Each pytest worker starts its own server on its own port with its own SQLite database, and
one Chromium; each test gets fresh browser contexts (cookies are never shared between tests).
A journey that changes the demo data gets a server and a copy of the database of its own.
"""

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import select, text
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.browser import harness

BROWSER_DIR = os.path.dirname(__file__)


def pytest_configure(config):
    """Drop screenshots and PDFs left by earlier runs.

    Every process (each xdist worker too) may get here, at different moments; what this
    run saves is always newer than its start, so only files from well before it go.
    """
    before = time.time() - 30
    for old in [*harness.SCREENSHOTS.glob("*.png"), *harness.ARTIFACTS.glob("*.pdf")]:
        with contextlib.suppress(FileNotFoundError):
            if old.stat().st_mtime < before:
                old.unlink()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Everything in tests/browser is a browser test (runs before ``-m`` deselects)."""
    for item in items:
        if str(item.path).startswith(BROWSER_DIR):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.portal_failed = report.failed


@dataclass
class DemoFacts:
    """Ids and dates of the demo records, read from the database the server uses."""

    margaret: int
    arif: int
    margaret_next_review: object
    goal: int  # Margaret's agreed walking goal
    proposed_goal: int  # Margaret's goal waiting to be agreed
    arif_goal: int
    step: int  # Margaret's first crisis step
    contact: int  # Margaret's first crisis contact
    member: int  # Margaret's first care team member
    carer_grant: int  # David's accepted access to Margaret's plan
    pending_grant: int  # the invitation waiting for Margaret's daughter
    held_meeting: int  # last year's review, which has a survey
    audit: int  # the practice's sample audit
    audit_item: int
    practice: int  # the demo practice (an organisation)
    nurse_account: int  # a staff account, for the administration pages
    margaret_account: int
    reset_token: str  # a usable "choose a password" link for the commissioner
    invitation_token: str  # a usable invitation for Margaret's daughter
    conversation: int  # Margaret's question waiting for the nurse


@dataclass
class PortalServer:
    url: str
    app: object
    demo: DemoFacts
    # Signed-in browser state per role, so the sweep signs each role in through the form
    # once per worker rather than once per page.
    sessions: dict = field(default_factory=dict)
    # An untouched copy of the demo database, for ``fresh_portal``.
    pristine: Path | None = None

    def path(self, template: str) -> str:
        return template.format(**vars(self.demo))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def _app_config(database: Path) -> dict:
    return {
        "ENV": "testing",
        "SECRET_KEY": "browser-test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "WTF_CSRF_ENABLED": True,  # a real browser submits real forms
        "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "HSTS": False,
    }


def _use_wal(db) -> None:
    # WAL lets the page being read and the audit event being written not wait on each other.
    db.session.execute(text("PRAGMA journal_mode=WAL"))


@contextlib.contextmanager
def _serving(app):
    """Serve ``app`` on 127.0.0.1 and a free port; yields its address."""
    from portal.extensions import db

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="portal-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory):
    """The portal on 127.0.0.1 and a free port, with a fresh SQLite database of demo data."""
    os.environ.setdefault("PORTAL_ENV", "testing")
    from portal import create_app, demo
    from portal.conditions import CONDITIONS
    from portal.extensions import db
    from portal.models import Base, Condition, Patient, User

    folder = tmp_path_factory.mktemp("browser-db")
    database = folder / "portal.sqlite3"
    app = create_app(_app_config(database))
    with app.app_context():
        _use_wal(db)
        Base.metadata.create_all(db.engine)
        db.session.add_all(Condition(code=c.code, name=c.name) for c in CONDITIONS)
        db.session.commit()
        # Every demo account has the same password: hash it once (argon2 is slow on purpose).
        with mock.patch("portal.demo.hash_password", cache(demo.hash_password)):
            demo.load_demo_data()

        def patient_of(email):
            return db.session.scalars(
                select(Patient).join(User, Patient.user_id == User.id).where(User.email == email)
            ).one()

        margaret = patient_of(harness.ACCOUNTS["patient"])
        arif = patient_of(harness.ACCOUNTS["patient_urdu"])
        facts = _demo_facts(margaret, arif)
        db.session.remove()
    pristine = folder / "pristine.sqlite3"
    _copy_database(database, pristine)

    with _serving(app) as url:
        yield PortalServer(url=url, app=app, demo=facts, pristine=pristine)


def _demo_facts(margaret, arif) -> DemoFacts:
    """Ids of the demo records the sweep visits, and two links only an email would carry."""
    from flask import current_app

    from portal.auth.services import issue_password_link
    from portal.extensions import db
    from portal.models import (
        AccessGrant,
        Conversation,
        PlanAudit,
        PlanAuditItem,
        ReviewMeeting,
        User,
    )
    from portal.sharing import services as sharing

    def account(role: str) -> User:
        return db.session.scalars(select(User).where(User.email == harness.ACCOUNTS[role])).one()

    plan = margaret.plan
    goals = {goal.status: goal.id for goal in plan.goals}
    grants = db.session.scalars(select(AccessGrant).where(AccessGrant.patient_id == margaret.id))
    accepted = {grant.grantee_id is not None: grant for grant in grants}
    pending = accepted[False]
    audit = db.session.scalars(select(PlanAudit).order_by(PlanAudit.id)).first()
    with current_app.test_request_context():  # the link is built as for an email
        reset_link = issue_password_link(account("commissioner"), hours=48)
    invitation_token = secrets.token_urlsafe(32)
    pending.token_hash = sharing.hash_token(invitation_token)
    facts = DemoFacts(
        margaret=margaret.id,
        arif=arif.id,
        margaret_next_review=plan.next_review_date,
        goal=goals["agreed"],
        proposed_goal=goals["proposed"],
        arif_goal=arif.plan.goals[0].id,
        step=plan.crisis_steps[0].id,
        contact=plan.contacts[0].id,
        member=plan.care_team[0].id,
        carer_grant=accepted[True].id,
        pending_grant=pending.id,
        held_meeting=db.session.scalars(
            select(ReviewMeeting.id).where(
                ReviewMeeting.plan_id == plan.id, ReviewMeeting.status == "held"
            )
        ).one(),
        audit=audit.id,
        audit_item=db.session.scalars(
            select(PlanAuditItem.id).where(PlanAuditItem.audit_id == audit.id)
        ).first(),
        practice=margaret.organisation_id,
        nurse_account=account("professional").id,
        margaret_account=margaret.user_id,
        reset_token=reset_link.rsplit("/", 1)[1],
        invitation_token=invitation_token,
        conversation=db.session.scalars(
            select(Conversation.id).where(
                Conversation.patient_id == margaret.id,
                Conversation.awaiting_reply_since.is_not(None),
            )
        ).one(),
    )
    db.session.commit()
    return facts


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, write-ahead log included."""
    with (
        contextlib.closing(sqlite3.connect(source)) as reading,
        contextlib.closing(sqlite3.connect(target)) as writing,
    ):
        reading.backup(writing)


@pytest.fixture
def fresh_portal(portal_server: PortalServer, tmp_path) -> PortalServer:
    """The portal again, on a port of its own, with its own copy of the untouched demo data.

    For a journey that changes the plans (edits a goal, agrees a proposal): it starts from the
    demo data as loaded, whatever ran before it, and the worker's other tests never see its
    changes. A copy of the database and a second app take well under a second.
    """
    from portal import create_app
    from portal.extensions import db

    database = tmp_path / "portal.sqlite3"
    _copy_database(portal_server.pristine, database)
    app = create_app(_app_config(database))
    with app.app_context():
        _use_wal(db)
        db.session.remove()
    with _serving(app) as url:
        yield PortalServer(url=url, app=app, demo=portal_server.demo)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium per worker (Playwright never downloads a browser here)."""
    if not harness.CHROMIUM.exists():
        message = f"{harness.CHROMIUM} is missing: install Debian's chromium (make setup)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(harness.CHROMIUM), headless=True, args=harness.CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _context(browser: Browser, portal_server: PortalServer, **options) -> BrowserContext:
    options.setdefault("viewport", {"width": 1024, "height": 768})
    options.setdefault("locale", "en-GB")
    options.setdefault("base_url", portal_server.url)
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def new_context(browser: Browser, portal_server: PortalServer, request):
    """Factory for fresh browser contexts on the portal; closed (and shot on failure) after."""
    contexts = []

    def _new(**options):
        context = _context(browser, portal_server, **options)
        contexts.append(context)
        return context

    yield _new
    failed = getattr(request.node, "portal_failed", False)
    for n, context in enumerate(contexts):
        if failed:
            for m, page in enumerate(context.pages):
                if not page.is_closed():
                    harness.screenshot(page, f"FAILED-{request.node.name}-{n}-{m}")
        context.close()


@pytest.fixture
def page(new_context) -> Page:
    """A fresh page for someone who has not signed in (journeys sign in through the form)."""
    tab = new_context().new_page()
    harness.watch_console(tab)
    return tab


@pytest.fixture
def fresh_page(fresh_portal: PortalServer, new_context) -> Page:
    """A fresh page, not signed in, on a portal of its own (``fresh_portal``, which stops
    after the page is closed)."""
    tab = new_context(base_url=fresh_portal.url).new_page()
    harness.watch_console(tab)
    return tab


def _arrive(tab: Page, portal_server: PortalServer, role: str, locale: str, path: str) -> None:
    """Go to ``path`` as ``role`` in ``locale``, signing in or confirming the password on the
    way through the real forms when the portal asks (and remembering the signed-in state)."""
    tab.goto(portal_server.path(path))
    if role != "anonymous" and not harness.is_signed_in_page(tab):
        harness.sign_in(tab, role, locale=None)  # back to ``path`` afterwards
        portal_server.sessions[role] = tab.context.storage_state()
    if harness.asks_to_confirm_password(tab) and not path.startswith("/confirm-password"):
        harness.confirm_password(tab)  # back to ``path`` afterwards
        portal_server.sessions[role] = tab.context.storage_state()
    harness.ensure_language(tab, locale)  # the switcher comes back to ``path`` too


@pytest.fixture
def open_as(new_context, portal_server: PortalServer):
    """Factory: a fresh page at ``path``, signed in as ``role``, in language ``locale``.

    The first time a worker needs a role it signs in through the real form; later contexts
    reuse that browser state. If the portal has ended that session (a sign-out elsewhere
    rotates the session token), it signs in through the form again. A page that needs a
    recent password (the administration area, changing an email address) gets one: the
    harness confirms the password through the form, as the person would. ``path`` may name
    demo records by the fields of ``DemoFacts``. ``harness.status(page)`` gives the HTTP
    status.
    """

    def _open(role: str = "anonymous", locale: str = "en", path: str = "/", **options) -> Page:
        if role != "anonymous" and role in portal_server.sessions:
            options.setdefault("storage_state", portal_server.sessions[role])
        tab = new_context(**options).new_page()
        harness.watch_console(tab)
        _arrive(tab, portal_server, role, locale, path)
        return tab

    return _open


# Tabs the sweep keeps open at once; it visits every page of one role and language in a row.
_BROWSING_TABS = 2


@pytest.fixture(scope="session")
def _browsing_tabs(browser: Browser, portal_server: PortalServer):
    tabs: OrderedDict[tuple[str, str], Page] = OrderedDict()
    yield tabs
    for tab in tabs.values():
        tab.context.close()


@pytest.fixture
def browse_as(browser: Browser, portal_server: PortalServer, _browsing_tabs, request):
    """Factory like ``open_as``, but one tab per role and language goes from page to page, as
    a person browsing would, instead of a fresh browser context per page.

    The accessibility sweep visits hundreds of read-only pages; a new context costs about as
    much as checking a page. The tab's console errors start empty for each test; at most
    ``_BROWSING_TABS`` tabs stay open.
    """
    used: list[Page] = []

    def _browse(role: str, locale: str, path: str) -> Page:
        tab = _browsing_tabs.get((role, locale))
        if tab is None:
            signed_in = portal_server.sessions.get(role) if role != "anonymous" else None
            context = _context(browser, portal_server, storage_state=signed_in)
            tab = _browsing_tabs[(role, locale)] = context.new_page()
            harness.watch_console(tab)
            while len(_browsing_tabs) > _BROWSING_TABS:
                _browsing_tabs.popitem(last=False)[1].context.close()
        _browsing_tabs.move_to_end((role, locale))
        tab.portal_console_errors.clear()
        _arrive(tab, portal_server, role, locale, path)
        used.append(tab)
        return tab

    yield _browse
    if getattr(request.node, "portal_failed", False):
        for tab in used:
            harness.screenshot(tab, f"FAILED-{request.node.name}")
    for tab in used:
        # A tab kept for the next test must not run the page's idle-timeout timers meanwhile:
        # their requests would reach this worker's server while a test without a browser
        # holds the database in its rolled-back transaction. The cookies stay for next time.
        tab.goto("about:blank")
