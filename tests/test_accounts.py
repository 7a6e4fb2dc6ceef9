"""Accounts and the shared form rules: the password policy on every account a person creates,
emailed links on the public address only, and meeting forms that count text as people see it."""

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import accounts
from portal.models import Contact, PlanVersion, Role, User
from portal.sharing import services as sharing
from tests.factories import make_invitation
from tests.support import as_date_boxes
from tests.test_meetings import agreed, key, meeting_payload  # noqa: F401 (fixture)

STRONG = "quiet lantern maple river"


def _body(response) -> str:
    return response.get_data(as_text=True)


# --- the password policy on a carer's account ----------------------------------------------


def _create_carer_account(db, cast, client, password: str):
    """Nora accepts an invitation by creating an account with ``password``."""
    _grant, token = make_invitation(cast.a, email="nora.carer@example.org")
    db.session.commit()
    return client.post(
        f"/invitations/{token}/create-account",
        data={"display_name": "Nora Carer", "password": password, "confirm": password},
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password", "This password is too common or easy to guess"),
        ("Password1", "This password is too common or easy to guess"),
        ("short", "Your password must be at least 8 characters"),
        ("x" * 129, "Your password must be 128 characters or fewer"),
        ("nora.carer 2026", "must not contain your name or email address"),
    ],
)
def test_a_carer_cannot_choose_a_password_the_policy_refuses(db, cast, client, password, message):
    response = _create_carer_account(db, cast, client, password)
    assert response.status_code == 200
    assert message in _body(response)
    assert db.session.scalar(select(User).where(User.email == "nora.carer@example.org")) is None


def test_a_carer_with_a_strong_password_gets_an_account(db, cast, client):
    assert _create_carer_account(db, cast, client, STRONG).status_code == 302
    user = db.session.scalars(select(User).where(User.email == "nora.carer@example.org")).one()
    assert user.role == Role.CARER and user.password_changed_at is not None


def test_account_creation_itself_refuses_a_weak_password(db, app):
    with app.test_request_context(), pytest.raises(accounts.WeakPassword):
        accounts.create_account("weak@example.org", Role.CARER, "Weak", password="password")


# --- emailed links are built on PORTAL_BASE_URL --------------------------------------------

PUBLIC = "https://careplan.example.nhs.uk"


@pytest.fixture
def public_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", PUBLIC)


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"<]+", text)


def test_invitation_link_uses_the_public_address_not_the_host_header(db, cast, public_address, app):
    outbox = Path(app.config["OUTBOX_DIR"])
    before = set(outbox.glob("*.eml"))
    with app.test_request_context("/", base_url="http://evil.example"):
        invitation = sharing.invite(
            cast.a, cast.users["owner"], "daughter@example.org", "Daughter", "view", None
        )
    assert invitation.link.startswith(f"{PUBLIC}/invitations/")  # the link shown to pass on
    [written] = set(outbox.glob("*.eml")) - before
    text = written.read_text()
    links = [link for link in _links(text) if "/invitations/" in link]
    assert links and all(link.startswith(f"{PUBLIC}/invitations/") for link in links)
    assert "evil.example" not in text


def test_email_change_link_uses_the_public_address(db, cast, app, public_address):
    user = cast.users["owner"]
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        link = accounts.email_link("account.confirm_email", token="abc")
    assert link == f"{PUBLIC}/account/email/confirm/abc" or link.startswith(PUBLIC)
    assert "evil" not in link and user.id


def test_development_has_a_default_public_address():
    from portal import create_app

    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"


# --- the review meeting's forms --------------------------------------------------------------


def test_an_amended_contact_phone_must_be_a_phone_number(agreed, db, cast, login):  # noqa: F811
    client = login(cast.users["professional"])
    contact_key = key("contacts", agreed["new_contact"])
    data = meeting_payload(client, cast.a.id, {contact_key: "amend"})
    data[f"p_{contact_key}_phone"] = "not a phone number at all"
    body = _body(client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)))
    assert "There is a problem" in body
    assert "Enter a phone number using numbers only" in body
    assert db.session.get(Contact, agreed["new_contact"].id).phone == "07700 900456"
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1


def test_meeting_text_of_2000_visible_characters_with_windows_newlines_is_accepted(
    agreed,  # noqa: F811
    db,
    cast,
    login,
):
    """Browsers send CRLF; the character count counts one per newline, and so must the form."""
    client = login(cast.users["professional"])
    feedback = "\r\n".join(["x" * 99] * 20)  # 20 x 99 + 19 newlines = 1999 visible, 2018 sent
    feedback += "y"
    assert len(feedback.replace("\r\n", "\n")) == 2000 and len(feedback) > 2000
    goal_key = key("goals", agreed["changed_goal"])
    data = meeting_payload(client, cast.a.id, {goal_key: "amend"}, patient_feedback=feedback)
    data[f"p_{goal_key}_steps"] = feedback
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 302, _body(response)
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 2
