"""Sessions: a new one at sign-in, timeouts, ending them server-side, re-authentication."""

import time

import pytest
from flask import Flask
from flask_login import login_required
from itsdangerous import TimestampSigner
from sqlalchemy import select

from portal.auth.reauth import require_recent_auth
from portal.models import AuditEvent, Role, User
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_patient, make_plan, make_user
from tests.support import email_change_link, use_outbox

MINUTE = 60


@pytest.fixture
def outbox(app, monkeypatch, tmp_path):
    return use_outbox(app, monkeypatch, tmp_path)


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _password_sign_in(client, user):
    return client.post("/sign-in", data={"email": user.email, "password": PASSWORD})


# --- a new session at sign-in ------------------------------------------------------------------


def test_nothing_from_before_sign_in_survives_into_the_signed_in_session(client, db):
    patient = make_patient()
    db.session.commit()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_user_id"] = "999:forged"
    assert _password_sign_in(client, patient.user).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == patient.user.get_id()
        assert {"started_at", "seen_at", "auth_at"} <= set(session)


def test_the_session_cookie_changes_at_sign_in(client, db):
    patient = make_patient()
    db.session.commit()
    client.get("/sign-in")
    with client.session_transaction() as session:
        session["planted"] = "x"
    before = client.get_cookie("session").value
    _password_sign_in(client, patient.user)
    assert client.get_cookie("session").value != before


# --- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "still_in", "timed_out"),
    [
        ("owner", 29 * MINUTE, 31 * MINUTE),
        ("carer_view", 29 * MINUTE, 31 * MINUTE),
        ("professional", 14 * MINUTE, 16 * MINUTE),
        ("commissioner", 14 * MINUTE, 16 * MINUTE),
        ("admin", 14 * MINUTE, 16 * MINUTE),
    ],
)
def test_idle_timeout_is_30_minutes_for_patients_and_carers_and_15_for_staff(
    cast, login, clock, who, still_in, timed_out
):
    client = login(cast.users[who])
    clock.advance(still_in)
    assert client.get("/account/").status_code == 200  # activity restarts the idle clock
    clock.advance(still_in)
    assert client.get("/account/").status_code == 200
    clock.advance(timed_out)
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
    assert client.get("/account/").status_code == 302  # the session is gone, not just refused


def test_absolute_limit_is_8_hours_even_when_active(cast, login, clock):
    client = login(cast.users["owner"])
    for _ in range(23):  # a request every 20 minutes for 7 h 40 min
        clock.advance(20 * MINUTE)
        assert client.get("/account/").status_code == 200
    clock.advance(25 * MINUTE)  # 8 h 5 min after sign-in, 25 minutes after the last request
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


# --- ending sessions on the server -------------------------------------------------------------


def test_sign_out_makes_a_copied_session_cookie_useless(app, client, db):
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    _password_sign_in(client, patient.user)
    stolen = client.get_cookie("session").value
    assert client.post("/sign-out").status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", stolen, domain="localhost")
    response = thief.get(f"/patients/{patient.id}/plan")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_sign_out_everywhere_ends_every_session_of_the_account(app, login, db):
    user = make_user(Role.CARER)
    other = make_user(Role.CARER)
    db.session.commit()
    phone, laptop, someone_else = app.test_client(), login(user), app.test_client()
    sign_in(phone, user)
    sign_in(someone_else, other)

    response = laptop.post("/account/sign-out-everywhere")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in")
    assert laptop.get("/account/").status_code == 302
    assert phone.get("/account/").status_code == 302
    assert someone_else.get("/account/").status_code == 200
    assert "auth.sign_out_everywhere" in actions(db)


def test_a_deactivated_account_is_signed_out_at_its_next_request(login, db):
    user = make_user(Role.PROFESSIONAL)
    db.session.commit()
    client = login(user)
    assert client.get("/account/").status_code == 200
    user.active = False
    db.session.commit()
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_a_deactivated_account_cannot_sign_in(client, db):
    user = make_user(active=False)
    db.session.commit()
    response = _password_sign_in(client, user)
    assert "Enter a correct email address and password" in response.get_data(as_text=True)


# --- re-authentication -------------------------------------------------------------------------


def test_changing_email_needs_a_password_from_the_last_5_minutes(login, db, clock, outbox):
    user = make_user(email="old@example.org")
    db.session.commit()
    client = login(user)
    clock.advance(6 * MINUTE)

    response = client.get("/account/email")
    assert response.status_code == 302
    assert "/confirm-password?next=/account/email" in response.headers["Location"]
    wrong = client.post("/confirm-password?next=/account/email", data={"password": "nope"})
    assert "Your password is not right" in wrong.get_data(as_text=True)
    right = client.post("/confirm-password?next=/account/email", data={"password": PASSWORD})
    assert right.headers["Location"] == "/account/email"
    assert client.get("/account/email").status_code == 200
    assert actions(db)[-2:] == ["auth.reauth_failed", "auth.reauth"]


def test_a_late_post_is_sent_to_confirm_the_password_and_changes_nothing(login, db, clock):
    user = make_user(email="old@example.org")
    db.session.commit()
    client = login(user)
    clock.advance(5 * MINUTE + 1)
    response = client.post("/account/email", data={"email": "new@example.org"})
    assert response.status_code == 302
    assert "/confirm-password?next=/account/email" in response.headers["Location"]
    assert db.session.get(User, user.id).email == "old@example.org"


def test_a_new_email_is_used_only_after_its_link_is_opened(app, login, db, outbox):
    user = make_user(email="old@example.org")
    db.session.commit()
    elsewhere = app.test_client()
    sign_in(elsewhere, user)
    client = login(user)

    response = client.post(
        "/account/email", data={"email": "new@example.org"}, follow_redirects=True
    )

    assert "We have sent a link to new@example.org" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).email == "old@example.org"
    assert elsewhere.get("/account/").status_code == 200
    link = email_change_link(outbox, "new@example.org")
    page = client.get(link).get_data(as_text=True)
    assert "new@example.org" in page and "Confirm new email address" in page
    assert db.session.get(User, user.id).email == "old@example.org"  # opening is not confirming

    client.post(link)

    assert db.session.get(User, user.id).email == "new@example.org"
    assert client.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302
    assert outbox.to("old@example.org")
    assert actions(db)[-2:] == ["auth.email_change_requested", "auth.email_changed"]
    again = client.get(link)
    assert again.status_code == 404 and "This link no longer works" in again.get_data(as_text=True)


@pytest.mark.parametrize("case", ["someone else", "expired", "tampered", "address taken since"])
def test_a_link_that_is_not_good_changes_nothing(app, login, db, outbox, monkeypatch, case):
    user = make_user(email="old@example.org")
    other = make_user(email="other@example.org")
    db.session.commit()
    with monkeypatch.context() as m:
        if case == "expired":  # the link was sent 25 hours ago
            earlier = int(time.time()) - 25 * 3600
            m.setattr(TimestampSigner, "get_timestamp", lambda self: earlier)
        login(user).post("/account/email", data={"email": "new@example.org"})
    link = email_change_link(outbox, "new@example.org")
    client = app.test_client()
    sign_in(client, user)
    if case == "someone else":
        sign_in(client, other)
    elif case == "tampered":
        link = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    else:
        make_user(email="new@example.org")
        db.session.commit()

    response = client.post(link)

    assert response.status_code == 404
    assert "This link no longer works" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).email == "old@example.org"
    assert db.session.get(User, other.id).email == "other@example.org"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your new email address"),
        ("not-an-email", "correct format"),
        ("taken@example.org", "You cannot use this email address"),
        ("a" * 250 + "@example.org", "254 characters or fewer"),
    ],
)
def test_an_unusable_new_email_is_refused_and_kept_in_the_form(login, db, typed, message):
    make_user(email="taken@example.org")
    user = make_user(email="old@example.org")
    db.session.commit()
    response = login(user).post("/account/email", data={"email": typed})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in body
    assert f'value="{typed}"' in body or not typed
    assert db.session.get(User, user.id).email == "old@example.org"


def test_require_recent_auth_protects_any_view(app, db, clock):
    """The helper other areas (sharing) use: a GET and a POST-only route."""
    from tests.support import other_app

    with other_app(app) as sharing_app:
        _add_demo_routes(sharing_app)
        user = make_user()
        db.session.commit()
        client = sharing_app.test_client()
        sign_in(client, user)
        assert client.get("/demo/share").get_data(as_text=True) == "sharing page"
        clock.advance(6 * MINUTE)
        page = client.get("/demo/share?patient=1")
        assert page.status_code == 302
        assert "next=/demo/share?patient%3D1" in page.headers["Location"]
        post = client.post("/demo/revoke")
        assert "next=/account/" in post.headers["Location"]


def _add_demo_routes(app: Flask) -> None:
    @app.route("/demo/share")
    @login_required
    @require_recent_auth
    def share():
        return "sharing page"

    @app.route("/demo/revoke", methods=["POST"])
    @login_required
    @require_recent_auth(return_to="account.settings")
    def revoke():
        return "revoked"
