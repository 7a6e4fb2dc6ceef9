"""Password policy, hashing, change of password and password reset by email."""

import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from portal.auth import passwords
from portal.auth.services import hasher
from portal.mail import ENGLISH_DIVIDER
from portal.models import AuditEvent, PasswordResetToken, User
from portal.models.base import utcnow
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_patient, make_user
from tests.support import use_outbox

STRONG = "violet tractor lantern harbour"


@pytest.fixture
def outbox(app, monkeypatch, tmp_path):
    return use_outbox(app, monkeypatch, tmp_path)


def events(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- the policy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("", passwords.TOO_SHORT),
        ("Zq8#vL2", passwords.TOO_SHORT),  # 7 characters
        ("x" * 129, passwords.TOO_LONG),
        ("password123", passwords.TOO_COMMON),
        ("PASSWORD123", passwords.TOO_COMMON),  # the list ignores case
        ("careplan123", passwords.TOO_COMMON),  # shipped list
        ("qwertyuiop", passwords.TOO_COMMON),  # keyboard walk (zxcvbn)
        ("abcdefgh", passwords.TOO_COMMON),
        ("aaaaaaaaaaaaaaaa", passwords.TOO_COMMON),  # long but repetitive
        ("summer2024!", passwords.TOO_COMMON),
    ],
)
def test_short_long_common_and_guessable_passwords_are_refused(password, expected):
    assert passwords.problem(password) == expected


@pytest.mark.parametrize(
    "password",
    [
        STRONG,  # only lower case and spaces: no composition rules
        "violettractorlanternharbour",
        "k9#Tw!4pQ",  # short but random (zxcvbn rates any 8 characters as guessable offline)
        "glacier-" + "w9" * 60,  # exactly 128 characters
        "марка лампа дорога зима",  # any script
    ],
)
def test_long_unusual_passwords_are_accepted_without_composition_rules(password):
    assert len(password) <= 128
    assert passwords.problem(password) is None


def test_password_containing_the_email_or_name_is_refused():
    assert (
        passwords.problem("margaret.hughes-violet-tractor", email="margaret.hughes@example.org")
        == passwords.PERSONAL
    )
    assert (
        passwords.problem("HUGHES violet tractor lantern", name="Margaret Hughes")
        == passwords.PERSONAL
    )
    assert passwords.problem(STRONG, email="margaret@example.org", name="Margaret") is None


def test_new_hashes_are_argon2id_with_the_library_defaults(db):
    stored = hasher.hash(STRONG)
    assert stored.startswith("$argon2id$")
    default = PasswordHasher()
    assert f"m={default.memory_cost},t={default.time_cost},p={default.parallelism}" in stored


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(client, db):
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    patient = make_patient()
    patient.user.password_hash = weak.hash(PASSWORD)
    db.session.commit()
    old_hash = patient.user.password_hash
    assert hasher.check_needs_rehash(old_hash)

    response = client.post("/sign-in", data={"email": patient.user.email, "password": PASSWORD})

    assert response.status_code == 302
    user = db.session.get(User, patient.user.id)
    assert user.password_hash != old_hash
    assert not hasher.check_needs_rehash(user.password_hash)
    assert hasher.verify(user.password_hash, PASSWORD)


# --- changing the password ---------------------------------------------------------------------


def _change(client, current=PASSWORD, new=STRONG, confirm=None):
    return client.post(
        "/account/password",
        data={"current_password": current, "password": new, "confirm": confirm or new},
    )


def test_changing_the_password_needs_the_current_one(login, db):
    user = make_user(email="pat@example.org")
    db.session.commit()
    before = user.password_hash
    response = _change(login(user), current="not-my-password")
    assert response.status_code == 200
    assert "Your current password is not right" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).password_hash == before
    assert len(events(db, "auth.reauth_failed")) == 1


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short", None, "at least 8 characters"),
        ("password123", None, "too common or easy to guess"),
        ("priyashah-violet-tractor", None, "must not contain your name or email"),
        (STRONG, STRONG + " x", "The passwords do not match"),
        ("", "", "Enter a new password"),
    ],
)
def test_a_weak_new_password_is_refused_with_a_clear_message(login, db, new, confirm, message):
    user = make_user(email="priya.shah@example.org", display_name="Priya Shah")
    db.session.commit()
    before = user.password_hash
    response = _change(login(user), new=new, confirm=confirm)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.get(User, user.id).password_hash == before


def test_changing_the_password_ends_every_other_session(app, login, db, outbox):
    user = make_user(email="pat@example.org")
    db.session.commit()
    other_device = app.test_client()
    sign_in(other_device, user)
    client = login(user)
    old_token = user.session_token

    response = _change(client)

    assert response.status_code == 302
    user = db.session.get(User, user.id)
    assert user.session_token != old_token
    assert hasher.verify(user.password_hash, STRONG)
    assert user.password_changed_at is not None
    assert client.get("/account/").status_code == 200  # this device stays signed in
    assert other_device.get("/account/").status_code == 302  # the other one is signed out
    assert len(events(db, "auth.password_changed")) == 1
    [mail] = outbox.to("pat@example.org")
    assert "password" in mail["Subject"].lower()


# --- password reset by email -------------------------------------------------------------------


def _reset_link(outbox, email) -> str:
    [mail] = outbox.to(email)
    return re.search(r"http://localhost(/reset-password/\S+)", mail.get_content()).group(1)


def _without_csrf(response) -> str:
    return re.sub(r'name="csrf_token"[^>]*>', "", response.get_data(as_text=True))


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(client, db, outbox):
    make_user(email="known@example.org")
    db.session.commit()
    known = client.post("/forgot-password", data={"email": "known@example.org"})
    unknown = client.post("/forgot-password", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    # The pages are the same apart from the CSRF token, which carries the time to the second.
    assert _without_csrf(known) == _without_csrf(unknown)
    assert "Check your email" in known.get_data(as_text=True)
    assert len(outbox.messages) == 1
    assert outbox.to("known@example.org")
    assert len(events(db, "auth.reset_requested")) == 2


def test_the_reset_email_is_in_the_account_language_with_the_english_below(client, db, outbox):
    make_user(email="known@example.org", preferred_locale="ur")
    db.session.commit()
    client.post("/forgot-password", data={"email": "known@example.org"})
    [mail] = outbox.to("known@example.org")
    own, english = mail.get_content().replace("\r\n", "\n").split(ENGLISH_DIVIDER)
    assert mail["Subject"] != "Reset your password"
    assert "Someone asked" not in own and "http://localhost/reset-password/" in own
    assert english.startswith("Someone asked to reset the password")
    # The same single-use link in both parts.
    links = re.findall(r"http://localhost/reset-password/\S+", mail.get_content())
    assert len(links) == 2 and links[0] == links[1]


def test_reset_token_is_stored_hashed_and_expires_in_an_hour(client, db, outbox):
    user = make_user(email="known@example.org")
    db.session.commit()
    client.post("/forgot-password", data={"email": "KNOWN@example.org"})
    link = _reset_link(outbox, "known@example.org")
    raw = link.rsplit("/", 1)[1]
    [token] = db.session.scalars(select(PasswordResetToken)).all()
    assert token.user_id == user.id
    assert raw not in token.token_hash
    assert len(token.token_hash) == 64
    assert timedelta(minutes=59) < token.expires_at - utcnow() <= timedelta(hours=1)


def test_reset_sets_a_new_password_once_and_ends_sessions(app, client, db, outbox):
    user = make_user(email="known@example.org")
    db.session.commit()
    signed_in_elsewhere = app.test_client()
    sign_in(signed_in_elsewhere, user)
    client.post("/forgot-password", data={"email": "known@example.org"})
    link = _reset_link(outbox, "known@example.org")

    assert "Choose a new password" in client.get(link).get_data(as_text=True)
    weak = client.post(link, data={"password": "password123", "confirm": "password123"})
    assert "too common" in weak.get_data(as_text=True)
    response = client.post(link, data={"password": STRONG, "confirm": STRONG})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in")
    user = db.session.get(User, user.id)
    assert hasher.verify(user.password_hash, STRONG)
    assert signed_in_elsewhere.get("/account/").status_code == 302
    [token] = db.session.scalars(select(PasswordResetToken)).all()
    assert token.used_at is not None
    assert len(events(db, "auth.reset_completed")) == 1
    # The link works once.
    other = "another " + STRONG
    again = client.post(link, data={"password": other, "confirm": other})
    assert "This link has expired" in again.get_data(as_text=True)
    assert hasher.verify(db.session.get(User, user.id).password_hash, STRONG)
    # And the new password signs in.
    signed = client.post("/sign-in", data={"email": "known@example.org", "password": STRONG})
    assert signed.status_code == 302


def test_an_expired_or_superseded_reset_link_does_nothing(client, db, outbox):
    user = make_user(email="known@example.org")
    db.session.commit()
    before = user.password_hash
    client.post("/forgot-password", data={"email": "known@example.org"})
    first = _reset_link(outbox, "known@example.org")
    for path in outbox.path.glob("*.eml"):
        path.unlink()
    client.post("/forgot-password", data={"email": "known@example.org"})
    second = _reset_link(outbox, "known@example.org")
    # A newer link cancels the older one.
    assert "This link has expired" in client.get(first).get_data(as_text=True)
    # An hour later the newer one has expired too.
    for token in db.session.scalars(select(PasswordResetToken)):
        token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post(second, data={"password": STRONG, "confirm": STRONG})
    assert "This link has expired" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).password_hash == before


def test_deactivated_accounts_get_no_reset_email(client, db, outbox):
    make_user(email="gone@example.org", active=False)
    db.session.commit()
    response = client.post("/forgot-password", data={"email": "gone@example.org"})
    assert "Check your email" in response.get_data(as_text=True)
    assert outbox.messages == []


def test_reset_email_links_to_the_configured_public_address(app, client, db, outbox, monkeypatch):
    """A forged Host header cannot redirect the reset link to another site."""
    monkeypatch.setitem(app.config, "BASE_URL", "https://careplan.example.nhs.uk")
    make_user(email="known@example.org")
    db.session.commit()
    client.post(
        "/forgot-password", data={"email": "known@example.org"}, headers={"Host": "evil.example"}
    )
    [mail] = outbox.to("known@example.org")
    assert "https://careplan.example.nhs.uk/reset-password/" in mail.get_content()
    assert "evil" not in mail.get_content()
