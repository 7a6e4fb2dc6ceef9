"""Headers, cookies, production settings, CSRF, no writes on GET, throttling, logs, and who may
reach the account security pages."""

import logging
import re
import time
import uuid

import pytest
from sqlalchemy import select

from portal import create_app
from portal.auth import throttle
from portal.config import DEV_SECRET_KEY
from portal.models import AuditEvent, User
from tests.conftest import sign_in
from tests.factories import CAST_KEYS, PASSWORD, make_patient, make_plan, make_user
from tests.support import STATE_CHANGING, changed_tables, fill, other_app, rules, snapshot

CSP_PARTS = ["script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def assert_security_headers(response, hsts=False):
    csp = response.headers["Content-Security-Policy"]
    for part in CSP_PARTS:
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert ("Strict-Transport-Security" in response.headers) == hsts
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", body), "inline script"
        assert not re.search(r"\son[a-z]+\s*=", body), "inline event handler"


# --- headers on a sample of routes, error pages included ---------------------------------------


def test_headers_on_pages_static_files_and_error_pages(app, client, db, monkeypatch):
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    anonymous = {
        "/sign-in": 200,
        "/forgot-password": 200,
        "/static/css/portal.css": 200,
        "/no-such-page": 404,
        "/sign-out": 405,
        f"/patients/{patient.id}/plan": 302,
    }
    for url, status in anonymous.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert_security_headers(response)

    sign_in(client, patient.user)
    for url in [f"/patients/{patient.id}/plan", "/account/", "/account/mfa/set-up"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)
        assert response.headers["Cache-Control"] == "no-store"  # nothing personal is cached

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.view_functions, "account.settings", broken)
    response = client.get("/account/")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)
    assert_security_headers(response)


def test_ids_too_big_for_the_database_are_404_not_500(login, db):
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    client = login(patient.user)
    for big in (2**31, 2**63, 10**30):
        assert client.get(f"/patients/{big}/plan").status_code == 404


# --- production settings -----------------------------------------------------------------------


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "a-long-random-production-secret-for-tests-0123")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://localhost")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("PORTAL_DEBUG", raising=False)


def test_production_refuses_to_start_without_a_real_secret_key(production_env, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY")
    with pytest.raises(RuntimeError, match="PORTAL_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("PORTAL_SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(RuntimeError, match="PORTAL_SECRET_KEY"):
        create_app()


def test_production_refuses_to_start_without_a_base_url_for_email_links(
    production_env, monkeypatch
):
    monkeypatch.delenv("PORTAL_BASE_URL")
    with pytest.raises(RuntimeError, match="PORTAL_BASE_URL must be set.*Host header"):
        create_app()


def test_production_refuses_per_worker_sign_in_limits_unless_accepted(
    app, production_env, monkeypatch
):
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(RuntimeError, match="REDIS_URL must be set.*each worker counts"):
        create_app()
    monkeypatch.setenv("PORTAL_ACCEPT_PER_WORKER_LIMITS", "true")
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    with other_app(app, config, testing_defaults=False) as prod:
        assert prod.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_production_cookies_are_host_prefixed_secure_httponly_lax_with_hsts(
    app, db, production_env
):
    user = make_user(email="pat@example.org")
    db.session.commit()
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    with other_app(app, config, testing_defaults=False) as prod:
        assert not prod.debug
        assert prod.config["ENV"] == "production"
        client = prod.test_client()
        page = client.get("/sign-in", base_url="https://localhost")
        assert_security_headers(page, hsts=True)
        cookie = page.headers["Set-Cookie"]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        response = client.post(
            "/sign-in",
            base_url="https://localhost",
            headers={"Referer": "https://localhost/sign-in"},
            data={"csrf_token": token, "email": user.email, "password": PASSWORD},
        )
        assert response.status_code == 302
        for set_cookie in (cookie, response.headers["Set-Cookie"]):
            assert set_cookie.startswith("__Host-session=")
            assert "; Secure" in set_cookie
            assert "; HttpOnly" in set_cookie
            assert "; SameSite=Lax" in set_cookie
            assert "; Path=/" in set_cookie
            assert "Domain=" not in set_cookie
        assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_debug_is_off_unless_asked_for(app, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "development")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("PORTAL_DEBUG", raising=False)
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    with other_app(app, config, testing_defaults=False) as dev:
        assert not dev.debug


# --- CSRF and no state change on GET -----------------------------------------------------------


# Called by apps and systems, not browsers: a signed client assertion or a PKCE code verifier
# stands where a form's CSRF token would (``portal.portability.smart``).
OAUTH_ENDPOINTS = frozenset({"portability.smart_token"})
# Proved by a token instead of a form: GOV.UK Notify's receipts (a bearer token) and the
# one-click unsubscribe a mail program posts (RFC 8058: a signed link, no form).
CALLBACK_ENDPOINTS = frozenset({"notifications.notify_status", "notifications.stop"})


def test_every_state_changing_route_refuses_a_post_without_csrf_token(app, cast):
    """Walks the app's rules, so routes added later are covered too."""
    with other_app(app, {"WTF_CSRF_ENABLED": True}) as protected:
        targets = rules(protected, STATE_CHANGING)
        assert len(targets) >= 10
        for who in ("anonymous", "owner", "professional"):
            client = protected.test_client()
            if cast.users[who]:
                sign_in(client, cast.users[who])
            for rule in targets:
                url = fill(protected, rule, cast.a.id)
                before = snapshot(exclude=())
                method = sorted(STATE_CHANGING & rule.methods)[0]
                response = client.open(url, method=method, data={"email": "x@example.org"})
                if rule.endpoint in CALLBACK_ENDPOINTS:  # a wrong token: 404
                    assert response.status_code == 404, (who, url)
                    assert changed_tables(before, snapshot(exclude=())) == [], (who, url)
                    continue
                assert response.status_code == 400, (who, url)
                if rule.endpoint in OAUTH_ENDPOINTS:  # the client proves itself instead
                    assert response.get_json()["error"] == "unsupported_grant_type"
                else:
                    assert "This form has expired" in response.get_data(as_text=True)
                assert_security_headers(response)
                assert changed_tables(before, snapshot(exclude=())) == [], (who, url)

        # With the token, the same kind of request goes through.
        client = protected.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/account/language", data={"csrf_token": token, "language": "en"})
        assert response.status_code == 302


@pytest.mark.parametrize(
    "who", ["anonymous", "owner", "carer_contribute", "professional", "commissioner", "admin"]
)
def test_no_get_request_changes_anything(app, cast, request_as, who):
    """Every GET route, for the patient in reach and for another's (forged) items."""
    targets = rules(app, {"GET"})
    assert len(targets) >= 10
    before = snapshot()
    for rule in targets:
        for patient_id, forged in ((cast.a.id, False), (cast.b.id, True)):
            url = fill(app, rule, patient_id, forged=forged)
            response = request_as(cast.users[who], "GET", url)
            assert response.status_code < 500, url
            after = snapshot()
            assert changed_tables(before, after) == [], (who, url)
            before = after


# --- sign-in throttling ------------------------------------------------------------------------


@pytest.fixture
def limited(app):
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"}
    with other_app(app, config) as limited_app:
        yield limited_app


WRONG = "wrong-password"


def _attempt(client, email, password=WRONG, **kw):
    return client.post("/sign-in", data={"email": email, "password": password}, **kw)


def test_sign_in_is_throttled_per_account_for_a_time_window_only(limited, db, monkeypatch):
    user = make_user(email="pat@example.org")
    make_user(email="other@example.org")
    db.session.commit()
    client = limited.test_client()
    for _ in range(5):
        assert _attempt(client, "pat@example.org").status_code == 200
    throttled = _attempt(client, "PAT@example.org", PASSWORD)  # even the right password waits
    assert throttled.status_code == 429
    body = throttled.get_data(as_text=True)
    assert "Too many attempts" in body and "Your account is not locked" in body
    assert_security_headers(throttled)
    assert client.get("/account/").status_code == 302
    # Another account from the same address is not held up.
    assert _attempt(client, "other@example.org", PASSWORD).status_code == 302
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.throttled"))
    assert [e.actor_id for e in event] == [user.id]

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)  # the minute has passed
    assert _attempt(limited.test_client(), "pat@example.org", PASSWORD).status_code == 302


def test_two_step_codes_are_throttled_per_account(limited, db):
    user = make_user(email="pat@example.org", mfa_enabled=True, mfa_secret="JBSWY3DPEHPK3PXP" * 2)
    db.session.commit()
    client = limited.test_client()
    assert _attempt(client, user.email, PASSWORD).headers["Location"] == "/sign-in/code"
    for _ in range(5):
        assert client.post("/sign-in/code", data={"code": "000000"}).status_code == 200
    assert client.post("/sign-in/code", data={"code": "000000"}).status_code == 429
    throttled = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.throttled"))
    assert [e.actor_id for e in throttled] == [user.id]


def test_sign_in_is_throttled_per_address(limited, db, monkeypatch):
    monkeypatch.setitem(limited.config, "SIGN_IN_LIMITS_ADDRESS", "3 per hour")
    client = limited.test_client()
    for n in range(3):
        assert _attempt(client, f"guess{n}@example.org").status_code == 200
    assert _attempt(client, "guess9@example.org").status_code == 429
    elsewhere = _attempt(client, "guess9@example.org", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 200


def test_successful_sign_ins_do_not_use_up_the_allowance(limited, db, monkeypatch):
    monkeypatch.setitem(limited.config, "SIGN_IN_LIMITS_ACCOUNT", "1 per minute")
    user = make_user(email="pat@example.org")
    db.session.commit()
    for _ in range(2):
        client = limited.test_client()
        assert _attempt(client, user.email, PASSWORD).status_code == 302


def test_password_reset_requests_are_throttled(limited, db, tmp_path, monkeypatch):
    monkeypatch.setitem(limited.config, "OUTBOX_DIR", str(tmp_path))
    client = limited.test_client()
    for _ in range(3):
        response = client.post("/forgot-password", data={"email": "pat@example.org"})
        assert response.status_code == 200
    assert client.post("/forgot-password", data={"email": "pat@example.org"}).status_code == 429


def _redis():
    try:
        import redis

        connection = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5)
        connection.ping()
        return connection
    except Exception:  # noqa: BLE001 - any failure means no Redis here
        return None


def test_throttling_counts_in_redis_shared_by_every_worker(app, db):
    connection = _redis()
    if connection is None:
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    email = f"redis-{uuid.uuid4().hex}@example.org"
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    with other_app(app, config) as limited:
        for _ in range(5):
            worker = limited.test_client()  # a new client each time, as different workers
            response = _attempt(worker, email, environ_base={"REMOTE_ADDR": address})
            assert response.status_code == 200
        response = _attempt(limited.test_client(), email, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 429
    with app.test_request_context("/sign-in", method="POST", data={"email": email}):
        key = throttle.account_key()
    stored = connection.keys(f"*{key}*")
    assert stored and email.encode() not in b"".join(stored)
    connection.delete(*stored)


def test_sign_in_still_works_when_the_limit_store_is_down(app, db):
    user = make_user(email="pat@example.org")
    db.session.commit()
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}
    with other_app(app, config) as limited:
        assert _attempt(limited.test_client(), user.email).status_code == 200
        assert _attempt(limited.test_client(), user.email, PASSWORD).status_code == 302


# --- logs carry no personal data ---------------------------------------------------------------


def test_a_failed_sign_in_logs_the_account_id_only(client, db, caplog):
    user = make_user(email="margaret.hughes@example.org", display_name="Margaret Hughes")
    db.session.commit()
    with caplog.at_level(logging.DEBUG):
        _attempt(client, "margaret.hughes@example.org")
        _attempt(client, "nobody.known@example.org")
    assert f"sign-in failed (user {user.id})" in caplog.text
    for secret in ("margaret", "hughes", "nobody.known", "@example.org", "wrong-password"):
        assert secret not in caplog.text.lower()


def test_an_unhandled_error_logs_no_names_or_nhs_numbers(app, login, db, caplog, monkeypatch):
    patient = make_patient(given_name="Margaret", family_name="Hughes", nhs_number="9434765919")
    make_plan(patient)
    db.session.commit()

    def broken(patient_id):
        raise ValueError(f"bad plan for {patient.given_name} {patient.family_name} "
                         f"{patient.nhs_number} {patient.user.email}")

    monkeypatch.setitem(app.view_functions, "plans.plan", broken)
    with caplog.at_level(logging.DEBUG):
        response = login(patient.user).get(f"/patients/{patient.id}/plan")
    assert response.status_code == 500
    assert "ValueError" in caplog.text
    assert f"(user {patient.user.id})" in caplog.text
    for secret in ("Margaret", "Hughes", "9434765919", "943 476 5919", patient.user.email):
        assert secret not in caplog.text
    assert db.engine.hide_parameters  # database errors never quote the values either


# --- control characters never reach the database -----------------------------------------------


def test_control_characters_are_removed_from_every_form_and_query(login, client, db):
    user = make_user(display_name="Ann")
    db.session.commit()
    # NUL in a sign-in would be a database error on PostgreSQL; here it is just a wrong email.
    response = client.post("/sign-in?next=/\x00x", data={"email": "a\x00@x.org", "password": "x"})
    assert response.status_code == 200
    typed = "Ann\x00ie\x07 \x1bSmith \u202eRTL 😀"
    response = login(user).post("/account/name", data={"display_name": typed})
    assert response.status_code == 302
    assert db.session.get(User, user.id).display_name == "Annie Smith \u202eRTL 😀"


# --- who may reach the account security pages -------------------------------------------------

ALL = CAST_KEYS
STAFF = {"professional", "professional_other_org", "commissioner", "admin", "practice_admin"}

# (method, url, status for anonymous, for patients and carers, for staff); staff in the
# shared test sign-in have passed two-step verification, nobody in the cast has it set up.
MATRIX = [
    ("GET", "/forgot-password", 200, 200, 200),
    ("POST", "/forgot-password", 200, 200, 200),
    ("GET", "/reset-password/not-a-token", 200, 200, 200),
    ("POST", "/reset-password/not-a-token", 200, 200, 200),
    ("GET", "/sign-in/code", 302, 302, 302),
    ("POST", "/sign-in/code", 302, 302, 302),
    ("GET", "/confirm-password", 302, 200, 200),
    ("POST", "/confirm-password", 302, 200, 200),
    ("GET", "/account/", 302, 200, 200),
    ("GET", "/account/name", 302, 200, 200),
    ("POST", "/account/name", 302, 200, 200),
    ("GET", "/account/email", 302, 200, 200),
    ("POST", "/account/email", 302, 200, 200),
    ("GET", "/account/password", 302, 200, 200),
    ("POST", "/account/password", 302, 200, 200),
    ("GET", "/account/mfa", 302, 200, 200),
    ("GET", "/account/mfa/set-up", 302, 200, 200),
    ("POST", "/account/mfa/set-up", 302, 302, 302),
    ("POST", "/account/mfa/recovery-codes", 302, 302, 302),
    ("POST", "/account/mfa/turn-off", 302, 302, 403),
    ("POST", "/account/sign-out-everywhere", 302, 302, 302),
    ("POST", "/sign-out", 302, 302, 302),
]


@pytest.mark.parametrize("who", ALL)
def test_account_security_routes_by_role(cast, request_as, who):
    """Invalid or empty posts re-show their form (200); nothing here is about one patient."""
    for method, url, anonymous, patient_or_carer, staff in MATRIX:
        expected = anonymous if who == "anonymous" else staff if who in STAFF else patient_or_carer
        response = request_as(cast.users[who], method, url, data={})
        assert response.status_code == expected, (method, url)
