"""Two-step verification: set-up, sign-in with a code, recovery codes, who must use it."""

import base64
import json
import re

import pyotp
import pytest
from sqlalchemy import select

from portal import security
from portal.auth import mfa
from portal.models import AuditEvent, Role, User
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_patient, make_plan, make_user
from tests.support import use_outbox

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STEP = 30


@pytest.fixture
def outbox(app, monkeypatch, tmp_path):
    return use_outbox(app, monkeypatch, tmp_path)


@pytest.fixture
def clock(monkeypatch):
    """The portal's clock, pinned to the middle of a time step and moved by hand."""

    class Clock:
        t = (security.now() // STEP + 1) * STEP + 15  # never behind the real clock

        def advance(self, seconds: int) -> None:
            self.t += seconds

    clock = Clock()
    monkeypatch.setattr(security, "now", lambda: clock.t)
    return clock


def code(clock, secret=SECRET, steps=0) -> str:
    return pyotp.TOTP(secret).at(clock.t + steps * STEP)


def with_mfa(user, codes=None):
    user.mfa_secret = SECRET
    user.mfa_enabled = True
    return user


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def password_step(client, user, next_url=None):
    url = "/sign-in" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": user.email, "password": PASSWORD})


# --- signing in with a code --------------------------------------------------------------------


def test_sign_in_asks_for_the_code_and_is_not_signed_in_until_then(client, db, clock):
    patient = make_patient()
    make_plan(patient)
    with_mfa(patient.user)
    db.session.commit()

    response = password_step(client, patient.user, next_url=f"/patients/{patient.id}/plan")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in/code"
    # Password alone opens nothing.
    assert client.get(f"/patients/{patient.id}/plan").status_code == 302
    assert client.get("/account/").status_code == 302
    page = client.get("/sign-in/code")
    assert "Enter your security code" in page.get_data(as_text=True)

    wrong = client.post("/sign-in/code", data={"code": "000000"})
    assert "The code is not right" in wrong.get_data(as_text=True)
    right = client.post("/sign-in/code", data={"code": code(clock)})
    assert right.status_code == 302
    assert right.headers["Location"] == f"/patients/{patient.id}/plan"
    assert actions(db)[-3:] == ["auth.mfa_failed", "auth.mfa_passed", "auth.sign_in"]
    assert client.get(f"/patients/{patient.id}/plan").status_code == 200


def test_a_code_cannot_be_used_twice(app, db, clock):
    user = with_mfa(make_user())
    db.session.commit()
    used = code(clock)
    first, second = app.test_client(), app.test_client()
    password_step(first, user)
    assert first.post("/sign-in/code", data={"code": used}).status_code == 302
    password_step(second, user)
    replay = second.post("/sign-in/code", data={"code": used})
    assert replay.status_code == 200
    assert "The code is not right" in replay.get_data(as_text=True)
    # The next step's code works.
    clock.advance(STEP)
    assert second.post("/sign-in/code", data={"code": code(clock)}).status_code == 302


def test_a_code_from_one_step_either_side_is_accepted_for_clock_drift(db, clock):
    user = with_mfa(make_user())
    db.session.commit()
    assert mfa.verify_totp(user, code(clock, steps=-1))
    assert mfa.verify_totp(user, code(clock, steps=1))
    assert not mfa.verify_totp(user, code(clock, steps=0))  # older than the last one used
    assert not mfa.verify_totp(user, code(clock, steps=3))


def test_the_code_step_expires_and_needs_the_password_again(client, db, clock):
    user = with_mfa(make_user())
    db.session.commit()
    password_step(client, user)
    clock.advance(6 * 60)
    response = client.post("/sign-in/code", data={"code": code(clock)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in")
    assert client.get("/account/").status_code == 302


def test_the_code_step_cannot_be_reached_without_the_password(client, db, clock):
    user = with_mfa(make_user())
    db.session.commit()
    with client.session_transaction() as session:
        session["mfa_pending"] = {"uid": user.id, "check": "guessed", "at": clock.t}
    response = client.post("/sign-in/code", data={"code": code(clock)})
    assert response.headers["Location"].endswith("/sign-in")
    assert client.get("/account/").status_code == 302


def test_a_recovery_code_works_once_and_the_owner_is_told(app, db, clock, outbox):
    user = with_mfa(make_user(email="owner@example.org"))
    codes = mfa.new_recovery_codes(user)
    db.session.commit()
    client = app.test_client()
    password_step(client, user)
    response = client.post("/sign-in/code", data={"code": codes[0].upper()}, follow_redirects=True)
    assert "You have 9 recovery codes left" in response.get_data(as_text=True)
    again = app.test_client()
    password_step(again, user)
    assert again.post("/sign-in/code", data={"code": codes[0]}).status_code == 200
    assert mfa.recovery_codes_left(db.session.get(User, user.id)) == 9
    [told] = outbox.to("owner@example.org")
    assert told["Subject"] == "Someone signed in with a recovery code"
    assert "reset your password" in told.get_body(preferencelist=("plain",)).get_content()


def test_a_sign_in_with_the_app_sends_no_email(client, db, clock, outbox):
    user = with_mfa(make_user(email="owner@example.org"))
    db.session.commit()
    password_step(client, user)
    assert client.post("/sign-in/code", data={"code": code(clock)}).status_code == 302
    assert outbox.to("owner@example.org") == []


# --- setting it up -----------------------------------------------------------------------------


def _setup_secret(client) -> str:
    page = client.get("/account/mfa/set-up").get_data(as_text=True)
    secret = re.search(r'<code class="portal-secret">([A-Z2-7 ]+)</code>', page).group(1)
    return secret.replace(" ", "")


def test_set_up_shows_a_qr_code_and_the_key_and_needs_a_code_to_turn_on(
    app, login, db, clock, outbox
):
    user = make_patient().user
    db.session.commit()
    other_device = app.test_client()
    sign_in(other_device, user)
    client = login(user)

    page = client.get("/account/mfa/set-up").get_data(as_text=True)
    qr = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
    assert b"<svg" in base64.b64decode(qr)
    secret = _setup_secret(client)
    assert client.post("/account/mfa/set-up", data={"code": "123456"}).status_code == 200
    assert not db.session.get(User, user.id).mfa_enabled

    response = client.post("/account/mfa/set-up", data={"code": code(clock, secret)})

    body = response.get_data(as_text=True)
    shown = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", body)
    assert len(shown) == 10
    user = db.session.get(User, user.id)
    assert user.mfa_enabled and user.mfa_secret == secret
    stored = json.loads(user.recovery_codes)
    assert len(stored) == 10
    assert not any(c in user.recovery_codes or c.replace("-", "") in user.recovery_codes
                   for c in shown)
    assert client.get("/account/").status_code == 200  # this session carries on
    assert other_device.get("/account/").status_code == 302  # others end
    assert "auth.mfa_enabled" in actions(db)
    # After an administrator's reset this is the next sign-in: the owner hears of it.
    [told] = outbox.to(user.email)
    assert told["Subject"] == "Two-step verification was set up"


def test_new_recovery_codes_replace_the_old_ones(login, db, clock):
    user = with_mfa(make_user())
    old = mfa.new_recovery_codes(user)
    db.session.commit()
    body = login(user).post("/account/mfa/recovery-codes").get_data(as_text=True)
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", body)
    assert len(new) == 10 and not set(new) & set(old)
    user = db.session.get(User, user.id)
    assert not mfa.use_recovery_code(user, old[0])
    assert mfa.use_recovery_code(user, new[0])


@pytest.mark.parametrize(
    "url",
    ["/account/mfa/set-up", "/account/mfa/recovery-codes", "/account/mfa/turn-off"],
)
def test_changing_two_step_verification_needs_a_recent_password(login, db, clock, url):
    user = with_mfa(make_user())
    db.session.commit()
    client = login(user)
    clock.advance(6 * 60)
    method = client.get if url.endswith("set-up") else client.post
    response = method(url)
    assert response.status_code == 302
    assert "/confirm-password" in response.headers["Location"]
    assert db.session.get(User, user.id).mfa_enabled


def test_patients_and_carers_may_turn_it_off_and_are_emailed(login, db, clock, outbox):
    user = with_mfa(make_user(Role.CARER, email="carer@example.org"))
    db.session.commit()
    response = login(user).post("/account/mfa/turn-off")
    assert response.status_code == 302
    user = db.session.get(User, user.id)
    assert not user.mfa_enabled and user.mfa_secret is None
    assert outbox.to("carer@example.org")


@pytest.mark.parametrize("role", [Role.PROFESSIONAL, Role.COMMISSIONER, Role.ADMIN])
def test_staff_cannot_turn_it_off(login, db, clock, role):
    user = with_mfa(make_user(role))
    db.session.commit()
    assert login(user).post("/account/mfa/turn-off").status_code == 403
    assert db.session.get(User, user.id).mfa_enabled


# --- mandatory for staff -----------------------------------------------------------------------

STAFF = [
    ("professional", {"role": Role.PROFESSIONAL}),
    ("auditor", {"role": Role.PROFESSIONAL, "can_audit": True}),
    ("commissioner", {"role": Role.COMMISSIONER}),
    ("admin", {"role": Role.ADMIN}),
]


@pytest.mark.parametrize(("label", "kw"), STAFF, ids=[s[0] for s in STAFF])
def test_staff_without_it_must_set_it_up_before_anything_else(client, db, clock, label, kw):
    patient = make_patient()
    make_plan(patient)
    user = make_user(kw.pop("role"), **kw)
    db.session.commit()

    response = password_step(client, user)
    assert response.status_code == 302
    for url in ["/", "/account/", "/account/email", f"/patients/{patient.id}/plan"]:
        blocked = client.get(url)
        assert blocked.status_code == 302, url
        assert blocked.headers["Location"] == "/account/mfa/set-up", url
    page = client.get("/account/mfa/set-up").get_data(as_text=True)
    assert "You need to do this first" in page
    secret = _setup_secret(client)
    client.post("/account/mfa/set-up", data={"code": code(clock, secret)})
    assert client.get("/account/").status_code == 200


def test_after_setting_it_up_staff_carry_on_to_the_page_they_asked_for(client, db, clock):
    patient = make_patient()
    make_plan(patient)
    user = make_user(Role.PROFESSIONAL)
    db.session.commit()
    wanted = f"/patients/{patient.id}/plan"

    response = password_step(client, user, next_url=wanted)
    assert client.get(response.headers["Location"]).headers["Location"] == "/account/mfa/set-up"
    secret = _setup_secret(client)
    page = client.post("/account/mfa/set-up", data={"code": code(clock, secret)})

    body = page.get_data(as_text=True)
    assert f'href="{wanted}">I have saved my codes: continue' in body


def test_a_setup_reached_directly_continues_to_the_home_page(login, db, clock):
    user = make_user(Role.COMMISSIONER)
    db.session.commit()
    client = login(user)
    secret = _setup_secret(client)
    body = client.post("/account/mfa/set-up", data={"code": code(clock, secret)}).get_data(
        as_text=True
    )
    assert 'href="/">I have saved my codes: continue' in body


@pytest.mark.parametrize("role", [Role.PATIENT, Role.CARER])
def test_patients_and_carers_are_not_made_to_use_it(client, db, clock, role):
    user = make_user(role)
    db.session.commit()
    password_step(client, user)
    assert client.get("/account/").status_code == 200


def test_an_account_with_mfa_on_cannot_use_a_session_that_skipped_the_code(client, db):
    """A session signed in before MFA was turned on elsewhere is not trusted."""
    user = with_mfa(make_user())
    db.session.commit()
    sign_in(client, user)
    with client.session_transaction() as session:
        session.pop("mfa_ok")
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in")


def test_demo_staff_sign_in_with_the_published_key(client, db, clock):
    from portal.demo import ACCOUNTS, DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo_data

    assert load_demo_data()
    nurse = db.session.scalars(select(User).where(User.email == ACCOUNTS["professional"])).one()
    patient = db.session.scalars(select(User).where(User.email == ACCOUNTS["patient"])).one()
    assert nurse.mfa_enabled and not patient.mfa_enabled
    nurse.mfa_enabled = False  # as in a database loaded before two-step verification existed
    db.session.commit()
    assert not load_demo_data()  # a second run adds nothing, and restores the published key
    assert db.session.get(User, nurse.id).mfa_enabled

    response = client.post("/sign-in", data={"email": nurse.email, "password": DEMO_PASSWORD})
    assert response.headers["Location"] == "/sign-in/code"
    response = client.post("/sign-in/code", data={"code": code(clock, DEMO_TOTP_SECRET)})
    assert response.status_code == 302
    assert client.get("/worklist").status_code == 200  # signed in, at the professional's home
