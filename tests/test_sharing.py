"""Sharing: invitations, grants and their scopes, consent, and "shared with me"."""

import hashlib
import re
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, select

from portal.audit import AuditTampering
from portal.i18n import LOCALE_COOKIE
from portal.models import AccessGrant, AuditEvent, ConsentRecord, Patient, Role, User
from portal.models.base import utcnow
from tests.conftest import sign_in
from tests.factories import (
    PASSWORD,
    make_grant,
    make_invitation,
    make_patient,
    make_plan,
    make_user,
)

STRONG = "quiet lantern maple river"
TOKEN_IN_PAGE = re.compile(r"/invitations/([A-Za-z0-9_-]{20,})")


def _body(response) -> str:
    return response.get_data(as_text=True)


def _grant(db, grant_id) -> AccessGrant:
    return db.session.get(AccessGrant, grant_id, populate_existing=True)


def _second_client(app, user):
    """Another browser, signed in as ``user``, alongside the test's main client."""
    other = app.test_client()
    sign_in(other, user)
    return other


def _invite_form(**overrides) -> dict:
    data = {
        "email": "Daughter@Example.org",
        "relationship": "Daughter",
        "scope": "view",
        "end_date-day": "",
        "end_date-month": "",
        "end_date-year": "",
    }
    data.update(overrides)
    return data


def _checked(body: str, value: str) -> bool:
    """Whether the radio button with this value is selected in the page."""
    return any(
        "checked" in tag
        for tag in re.findall(r"<input[^>]*>", body)
        if f'value="{value}"' in tag and 'type="radio"' in tag
    )


def _future(days=30) -> date:
    return date.today() + timedelta(days=days)


def _date_fields(d: date) -> dict:
    return {
        "end_date-day": str(d.day),
        "end_date-month": str(d.month),
        "end_date-year": str(d.year),
    }


@pytest.fixture
def outbox(app):
    return Path(app.config["OUTBOX_DIR"])


# --------------------------------------------------------------------------- #
# Inviting
# --------------------------------------------------------------------------- #


def test_patient_invites_someone_and_is_given_the_link_to_pass_on(db, cast, login, outbox):
    before = set(outbox.glob("*.eml"))
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/sharing/invite", data=_invite_form(**_date_fields(_future()))
    )
    body = _body(response)
    assert response.status_code == 200
    assert "Give this link to daughter@example.org" in body
    token = TOKEN_IN_PAGE.search(body).group(1)
    # On a phone: copy and share buttons need script and start hidden; the text message and
    # email links carry the link without any.
    assert re.search(r"<button[^>]*data-portal-copy hidden>Copy the link</button>", body)
    assert re.search(r'href="sms:\?&amp;body=[^"]*/invitations/' + token, body)
    mailto = r'href="mailto:daughter%40example.org\?subject=[^"]*/invitations/'
    assert re.search(mailto + token, body)
    assert "js/share.js" in body

    grant = db.session.scalars(
        select(AccessGrant).where(AccessGrant.invited_email == "daughter@example.org")
    ).one()
    assert grant.patient_id == cast.a.id
    assert grant.grantee_id is None and grant.accepted_at is None
    assert grant.scope == "view"
    assert grant.expires_on == _future()
    assert grant.created_by_id == cast.users["owner"].id
    assert grant.token_hash == hashlib.sha256(token.encode()).hexdigest()
    days = (grant.invitation_expires_at - utcnow()).total_seconds() / 86400
    assert 6.9 < days <= 7
    assert db.session.query(AuditEvent).filter_by(action="sharing.invite").count() == 1

    # In development and testing the email is also written to the outbox.
    written = set(outbox.glob("*.eml")) - before
    assert len(written) == 1
    message = message_from_bytes(written.pop().read_bytes(), policy=default_policy)
    assert message["To"] == "daughter@example.org"
    assert "Alice Able has shared their care plan with you" in message["Subject"]
    assert f"/invitations/{token}" in message.get_content()


def test_the_raw_token_is_never_stored(db, cast, login):
    client = login(cast.users["owner"])
    body = _body(client.post(f"/patients/{cast.a.id}/sharing/invite", data=_invite_form()))
    token = TOKEN_IN_PAGE.search(body).group(1)
    conn = db.session.connection()
    for table in ("access_grants", "audit_events", "users"):
        for row in conn.exec_driver_sql(f"SELECT * FROM {table}"):  # noqa: S608
            assert not any(token in str(value) for value in row)


class FakeSMTP:
    sent: list = []
    fail = False

    def __init__(self, host, port, timeout=None):
        self.host, self.port = host, port

    def __enter__(self):
        if self.fail:
            raise OSError("connection refused")
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, message):
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(monkeypatch, app):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "mail.example.org")
    monkeypatch.setattr("portal.mail.smtplib.SMTP", FakeSMTP)
    FakeSMTP.sent = []
    FakeSMTP.fail = False
    return FakeSMTP


def test_invitation_is_emailed_when_a_mail_server_is_set(db, cast, login, smtp, outbox):
    before = set(outbox.glob("*.eml"))
    client = login(cast.users["owner"])
    body = _body(client.post(f"/patients/{cast.a.id}/sharing/invite", data=_invite_form()))
    assert "We have emailed an invitation to daughter@example.org" in body
    assert len(smtp.sent) == 1
    message = smtp.sent[0]
    assert message["To"] == "daughter@example.org"
    assert TOKEN_IN_PAGE.search(message.get_content()).group(1) == TOKEN_IN_PAGE.search(body).group(
        1
    )
    assert set(outbox.glob("*.eml")) == before  # sent for real: no outbox copy


def test_a_mail_failure_falls_back_to_the_link(db, cast, login, smtp):
    smtp.fail = True
    client = login(cast.users["owner"])
    response = client.post(f"/patients/{cast.a.id}/sharing/invite", data=_invite_form())
    assert response.status_code == 200
    assert "Give this link to daughter@example.org" in _body(response)
    assert TOKEN_IN_PAGE.search(_body(response))


def test_invitation_email_explains_what_they_will_see(db, cast, app):
    from portal.sharing.services import invitation_text

    grant, _token = make_invitation(
        cast.a, scope="crisis", expires_on=date(2031, 3, 4), relationship="Neighbour"
    )
    db.session.commit()
    with app.test_request_context("/"):
        text = invitation_text(grant, cast.a, "http://localhost/invitations/x")
    assert "Alice Able has invited you" in text
    assert "How they described you: Neighbour" in text
    assert "You will see what to do if they become unwell" in text
    assert "Your access ends on 4 March 2031." in text
    assert "http://localhost/invitations/x" in text


def test_the_words_for_a_carer_are_shown_in_their_language(db, cast, login):
    client = login(cast.users["owner"])
    client.set_cookie(LOCALE_COOKIE, "pl")
    client.post(f"/patients/{cast.a.id}/sharing/invite", data=_invite_form(relationship="Córka"))
    client.set_cookie(LOCALE_COOKIE, "en")
    body = _body(client.get(f"/patients/{cast.a.id}/sharing"))
    assert re.search(r'<span [^>]*lang="pl"[^>]*>Córka</span>', body)


def test_invite_form_says_what_is_missing(db, cast, login):
    client = login(cast.users["owner"])
    body = _body(
        client.post(f"/patients/{cast.a.id}/sharing/invite", data={"email": "", "relationship": ""})
    )
    assert "There is a problem" in body
    assert "Enter their email address" in body
    assert "Enter how this person is related to you" in body
    assert "Choose what this person can see" in body
    assert 'href="#scope-0"' in body  # the summary reaches the radio group's first option
    assert db.session.query(AccessGrant).filter(AccessGrant.accepted_at.is_(None)).count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (_date_fields(date.today() - timedelta(days=1)), "End date must be today or in the future"),
        ({"end_date-day": "31", "end_date-month": "2", "end_date-year": "2030"}, "real date"),
        ({"end_date-day": "1", "end_date-month": "", "end_date-year": "2030"}, "include a month"),
        ({"end_date-day": "x", "end_date-month": "1", "end_date-year": "2030"}, "real date"),
        ({"end_date-day": "1", "end_date-month": "1", "end_date-year": "30"}, "4 numbers"),
    ],
)
def test_end_date_must_be_a_real_date_not_in_the_past(db, cast, login, fields, message):
    client = login(cast.users["owner"])
    response = client.post(f"/patients/{cast.a.id}/sharing/invite", data=_invite_form(**fields))
    body = _body(response)
    assert response.status_code == 200
    assert message in body
    assert 'href="#end_date-' in body  # the error summary links to the box at fault
    typed_day = 'name="end_date-day" type="text" inputmode="numeric" value="'
    assert typed_day + fields["end_date-day"] + '"' in body
    assert 'value="Daughter@Example.org"' in body  # nothing typed is lost
    assert db.session.query(AccessGrant).filter(AccessGrant.accepted_at.is_(None)).count() == 0


def test_end_date_today_is_allowed(db, cast, login):
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/sharing/invite", data=_invite_form(**_date_fields(date.today()))
    )
    assert "Give this link" in _body(response)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "Enter an email address in the correct format"),
        ({"email": "a" * 250 + "@example.org"}, "254 characters or fewer"),
        ({"relationship": "x" * 101}, "100 characters or fewer"),
        ({"scope": "everything"}, "Not a valid choice"),
    ],
)
def test_invite_form_refuses_bad_input(db, cast, login, fields, message):
    client = login(cast.users["owner"])
    response = client.post(f"/patients/{cast.a.id}/sharing/invite", data=_invite_form(**fields))
    assert response.status_code == 200
    assert message in _body(response)


def test_cannot_invite_yourself_or_invite_the_same_person_twice(db, cast, login):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/sharing/invite"
    body = _body(client.post(url, data=_invite_form(email=cast.users["owner"].email.upper())))
    assert "not your own" in body
    client.post(url, data=_invite_form())
    body = _body(client.post(url, data=_invite_form(email=" daughter@example.org ")))
    assert "already has access or an invitation waiting" in body
    body = _body(client.post(url, data=_invite_form(email=cast.users["carer_view"].email)))
    assert "already has access or an invitation waiting" in body
    # Someone whose access was stopped can be invited again.
    body = _body(client.post(url, data=_invite_form(email=cast.users["carer_revoked"].email)))
    assert "Give this link" in body


def test_scope_choices_are_explained_in_plain_words(db, cast, login):
    body = _body(login(cast.users["owner"]).get(f"/patients/{cast.a.id}/sharing/invite"))
    assert "Crisis page only" in body
    assert "They cannot see the rest of your plan." in body
    assert "They cannot change anything." in body
    assert "marked as drafts until they are agreed with you" in body
    assert 'class="nhsuk-radios"' in body or 'class="nhsuk-radios "' in body
    assert 'aria-describedby="scope-0-item-hint"' in body
    assert 'class="nhsuk-date-input"' in body


# --------------------------------------------------------------------------- #
# Accepting
# --------------------------------------------------------------------------- #


def test_invited_person_creates_an_account_and_the_grant_becomes_active(db, cast, client):
    grant, token = make_invitation(cast.a, email="new.carer@example.org", scope="crisis")
    db.session.commit()
    body = _body(client.get(f"/invitations/{token}"))
    assert "Alice Able has invited you to see their care plan" in body
    assert "Crisis page only" in body
    assert f"/invitations/{token}/create-account" in body
    assert f"/sign-in?next=/invitations/{token}" in body

    response = client.post(
        f"/invitations/{token}/create-account",
        data={"display_name": "Nora New", "password": STRONG, "confirm": STRONG},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/shared-with-me")
    user = db.session.scalars(select(User).where(User.email == "new.carer@example.org")).one()
    assert user.role == Role.CARER
    assert user.display_name == "Nora New"
    assert user.password_hash.startswith("$argon2")
    grant = _grant(db, grant.id)
    assert grant.grantee_id == user.id
    assert grant.accepted_at is not None
    assert grant.token_hash is None
    # Signed in straight away, and can open the crisis page but nothing more.
    assert "Alice Able" in _body(client.get("/shared-with-me"))
    assert client.get(f"/patients/{cast.a.id}/crisis").status_code == 200
    assert client.get(f"/patients/{cast.a.id}/plan").status_code == 404
    actions = {e.action for e in db.session.scalars(select(AuditEvent))}
    assert {"auth.account_created", "sharing.accept", "auth.sign_in"} <= actions


def test_create_account_form_checks_name_and_password(db, cast, client):
    _grant_, token = make_invitation(cast.a)
    db.session.commit()
    url = f"/invitations/{token}/create-account"
    body = _body(client.post(url, data={}))
    assert "Enter your full name" in body and "Enter a password" in body
    body = _body(
        client.post(url, data={"display_name": "N", "password": "short", "confirm": "short"})
    )
    assert "Your password must be at least 8 characters" in body
    long = "x" * 129
    body = _body(client.post(url, data={"display_name": "N", "password": long, "confirm": long}))
    assert "Your password must be 128 characters or fewer" in body
    body = _body(
        client.post(
            url, data={"display_name": "N", "password": "long enough", "confirm": "other one"}
        )
    )
    assert "The passwords do not match" in body
    body = _body(
        client.post(url, data={"display_name": "<b>Nora</b>", "password": "x", "confirm": "x"})
    )
    assert 'value="&lt;b&gt;Nora&lt;/b&gt;"' in body
    assert db.session.query(User).filter_by(email="invited@example.org").count() == 0


def test_create_account_for_an_email_that_already_has_one_says_sign_in(db, cast, client):
    existing = make_user(Role.CARER, email="invited@example.org")
    grant, token = make_invitation(cast.a)
    db.session.commit()
    body = _body(
        client.post(
            f"/invitations/{token}/create-account",
            data={"display_name": "N", "password": STRONG, "confirm": STRONG},
        )
    )
    assert "You already have an account" in body
    assert _grant(db, grant.id).accepted_at is None
    assert db.session.query(User).filter_by(email=existing.email).count() == 1


def test_existing_carer_signs_in_then_accepts_with_a_post(db, cast, client):
    carer = make_user(Role.CARER, email="Invited@Example.org")
    grant, token = make_invitation(cast.a, email="invited@example.org", scope="contribute")
    db.session.commit()
    response = client.get(f"/invitations/{token}")
    login_link = f"/sign-in?next=/invitations/{token}"
    assert login_link in _body(response)
    response = client.post(login_link, data={"email": carer.email, "password": PASSWORD})
    assert response.headers["Location"] == f"/invitations/{token}"

    body = _body(client.get(f"/invitations/{token}"))
    assert "Accept the invitation" in body
    assert _grant(db, grant.id).accepted_at is None  # looking changes nothing

    response = client.post(f"/invitations/{token}")
    assert response.status_code == 302
    grant = _grant(db, grant.id)
    assert grant.grantee_id == carer.id and grant.token_hash is None
    assert client.get(f"/patients/{cast.a.id}/plan").status_code == 200


def test_anonymous_post_to_accept_changes_nothing(db, cast, client):
    grant, token = make_invitation(cast.a)
    db.session.commit()
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert _grant(db, grant.id).accepted_at is None


def test_invitation_link_works_only_once(db, cast, client):
    carer = make_user(Role.CARER, email="invited@example.org")
    grant, token = make_invitation(cast.a)
    other = make_user(Role.CARER, email="someone.else@example.org")
    db.session.commit()
    sign_in(client, carer)
    assert client.post(f"/invitations/{token}").status_code == 302
    for user in (carer, other, None):
        with client.session_transaction() as session:
            session.clear()
        if user:
            sign_in(client, user)
        response = client.get(f"/invitations/{token}")
        assert response.status_code == 404
        assert "already been used" in _body(response)
        assert client.post(f"/invitations/{token}").status_code == 404
    assert _grant(db, grant.id).grantee_id == carer.id


def test_expired_invitation_says_so(db, cast, client):
    grant, token = make_invitation(cast.a, days=-1)
    db.session.commit()
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 410
    body = _body(response)
    assert "This invitation has expired" in body
    assert "Ask Alice Able to send you a new invitation" in body
    response = client.post(
        f"/invitations/{token}/create-account",
        data={"display_name": "N", "password": STRONG, "confirm": STRONG},
    )
    assert response.status_code == 410
    assert db.session.query(User).filter_by(email="invited@example.org").count() == 0


def test_invitation_for_a_grant_whose_end_date_has_passed_is_expired(db, cast, client):
    _grant_, token = make_invitation(cast.a, expires_on=date.today() - timedelta(days=1))
    db.session.commit()
    assert client.get(f"/invitations/{token}").status_code == 410


def test_cancelled_invitation_says_so_and_cannot_be_used(db, cast, login, client, app):
    carer = make_user(Role.CARER, email="invited@example.org")
    grant, token = make_invitation(cast.a)
    db.session.commit()
    owner = _second_client(app, cast.users["owner"])
    assert owner.post(f"/patients/{cast.a.id}/sharing/{grant.id}/stop").status_code == 302
    sign_in(client, carer)
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 410
    assert "Alice Able has cancelled this invitation" in _body(response)
    assert client.post(f"/invitations/{token}").status_code == 410
    grant = _grant(db, grant.id)
    assert grant.grantee_id is None and grant.accepted_at is None
    assert client.get(f"/patients/{cast.a.id}/crisis").status_code == 404


def test_signed_in_as_a_different_account_is_refused_and_explained(db, cast, client):
    other = make_user(Role.CARER, email="other@example.org")
    grant, token = make_invitation(cast.a, email="invited@example.org")
    db.session.commit()
    sign_in(client, other)
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 403
    body = _body(response)
    assert "This invitation is for a different account" in body
    assert (
        'sent to <bdi dir="ltr">invited@example.org</bdi>, '
        'but you are signed in as <bdi dir="ltr">other@example.org</bdi>'
    ) in body
    assert client.post(f"/invitations/{token}").status_code == 403
    assert _grant(db, grant.id).accepted_at is None
    assert client.get(f"/patients/{cast.a.id}/plan").status_code == 404


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (Role.PATIENT, "You are signed in with a patient account"),
        (Role.PROFESSIONAL, "You are signed in with a staff account"),
    ],
)
def test_patient_or_staff_account_cannot_accept(db, cast, client, role, message):
    user = make_user(role, cast.org, email="invited@example.org")
    if role == Role.PATIENT:
        make_patient(cast.org, user=user)
    grant, token = make_invitation(cast.a, email="invited@example.org")
    db.session.commit()
    sign_in(client, user)
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 403
    assert message in _body(response)
    assert client.post(f"/invitations/{token}").status_code == 403
    assert _grant(db, grant.id).accepted_at is None


@pytest.mark.parametrize("token", ["nonsense", "x" * 300, "a%20b"])
def test_unknown_links_are_404(db, client, token):
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 404
    assert "This invitation link does not work" in _body(response)


def test_accepting_needs_a_csrf_token(db, cast, client, monkeypatch, app):
    carer = make_user(Role.CARER, email="invited@example.org")
    grant, token = make_invitation(cast.a)
    db.session.commit()
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    sign_in(client, carer)
    assert client.post(f"/invitations/{token}").status_code == 400
    assert _grant(db, grant.id).accepted_at is None
    page = _body(client.get(f"/invitations/{token}"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/invitations/{token}", data={"csrf_token": csrf}).status_code == 302
    assert _grant(db, grant.id).accepted_at is not None


def test_resending_replaces_the_link(db, cast, login):
    grant, old_token = make_invitation(cast.a, days=-2)
    db.session.commit()
    client = login(cast.users["owner"])
    assert "Invitation expired" in _body(client.get(f"/patients/{cast.a.id}/sharing"))
    response = client.post(f"/patients/{cast.a.id}/sharing/{grant.id}/resend")
    assert response.status_code == 200
    new_token = TOKEN_IN_PAGE.search(_body(response)).group(1)
    assert new_token != old_token
    with client.session_transaction() as session:
        session.clear()
    assert client.get(f"/invitations/{old_token}").status_code == 404
    assert client.get(f"/invitations/{new_token}").status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="sharing.resend").count() == 1


def test_an_accepted_grant_cannot_be_resent(db, cast, login):
    grant = db.session.scalars(
        select(AccessGrant).where(AccessGrant.grantee_id == cast.users["carer_view"].id)
    ).one()
    client = login(cast.users["owner"])
    response = client.post(f"/patients/{cast.a.id}/sharing/{grant.id}/resend")
    assert response.status_code == 302
    assert _grant(db, grant.id).token_hash is None


# --------------------------------------------------------------------------- #
# Managing who can see the plan
# --------------------------------------------------------------------------- #


def _grant_of(db, user) -> AccessGrant:
    return db.session.scalars(select(AccessGrant).where(AccessGrant.grantee_id == user.id)).one()


def test_manage_page_lists_everyone_with_their_status(db, cast, login):
    make_invitation(cast.a, email="pending@example.org", relationship="<b>Neighbour</b>")
    make_invitation(cast.a, email="late@example.org", days=-1)
    db.session.commit()
    body = _body(login(cast.users["owner"]).get(f"/patients/{cast.a.id}/sharing"))
    for name in ("Carer crisis", "Carer view", "Carer contribute", "pending@example.org"):
        assert name in body
    for status in ("Active", "Invitation sent", "Invitation expired"):
        assert status in body
    # Past access is listed separately.
    past = body.split("People who can no longer see my plan", 1)[1]
    assert "Carer expired" in past and "End date passed" in past
    assert "Carer revoked" in past and "Access stopped" in past
    assert "&lt;b&gt;Neighbour&lt;/b&gt;" in body
    assert "<b>Neighbour</b>" not in body
    assert "You have agreed that the health and care professionals" in body


def test_manage_page_query_count_does_not_grow_with_grants(db, cast, login, count_queries):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/sharing"
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for i in range(15):
        make_grant(cast.a, make_user(Role.CARER), "view")
        make_invitation(cast.a, email=f"p{i}@example.org")
    db.session.commit()
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.count == few.count


def test_patient_changes_scope_and_it_applies_on_the_carers_next_request(db, cast, login, app):
    carer = cast.users["carer_view"]
    carer_client = _second_client(app, carer)
    assert carer_client.get(f"/patients/{cast.a.id}/plan").status_code == 200
    grant = _grant_of(db, carer)
    owner = login(cast.users["owner"])
    edit = _body(owner.get(f"/patients/{cast.a.id}/sharing/{grant.id}"))
    assert _checked(edit, "view") and not _checked(edit, "crisis")
    response = owner.post(
        f"/patients/{cast.a.id}/sharing/{grant.id}",
        data={"scope": "crisis", **_date_fields(_future(10))},
    )
    assert response.status_code == 302
    grant = _grant(db, grant.id)
    assert grant.scope == "crisis" and grant.expires_on == _future(10)
    assert carer_client.get(f"/patients/{cast.a.id}/plan").status_code == 404
    assert carer_client.get(f"/patients/{cast.a.id}/crisis").status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="sharing.change").count() == 1
    # Saving without a change records nothing more.
    owner.post(
        f"/patients/{cast.a.id}/sharing/{grant.id}",
        data={"scope": "crisis", **_date_fields(_future(10))},
    )
    assert db.session.query(AuditEvent).filter_by(action="sharing.change").count() == 1


def test_changing_to_an_end_date_in_the_past_is_refused(db, cast, login):
    grant = _grant_of(db, cast.users["carer_view"])
    owner = login(cast.users["owner"])
    yesterday = date.today() - timedelta(days=1)
    response = owner.post(
        f"/patients/{cast.a.id}/sharing/{grant.id}",
        data={"scope": "contribute", **_date_fields(yesterday)},
    )
    assert response.status_code == 200
    body = _body(response)
    assert "End date must be today or in the future" in body
    assert f'value="{yesterday.year}"' in body
    assert _checked(body, "contribute")
    grant = _grant(db, grant.id)
    assert grant.scope == "view" and grant.expires_on is None


def test_an_end_date_can_be_removed(db, cast, login):
    grant = make_grant(cast.a, make_user(Role.CARER), "view", expires_on=_future(3))
    db.session.commit()
    owner = login(cast.users["owner"])
    owner.post(
        f"/patients/{cast.a.id}/sharing/{grant.id}",
        data={"scope": "view", "end_date-day": "", "end_date-month": "", "end_date-year": ""},
    )
    assert _grant(db, grant.id).expires_on is None


def test_revocation_takes_effect_mid_session(db, cast, login, app):
    carer = cast.users["carer_contribute"]
    carer_client = _second_client(app, carer)
    assert carer_client.get(f"/patients/{cast.a.id}/plan").status_code == 200
    grant = _grant_of(db, carer)

    owner = login(cast.users["owner"])
    confirm = owner.get(f"/patients/{cast.a.id}/sharing/{grant.id}/stop")
    assert "Stop sharing with Carer contribute?" in _body(confirm)
    assert _grant(db, grant.id).revoked_at is None  # the confirmation page changes nothing
    response = owner.post(f"/patients/{cast.a.id}/sharing/{grant.id}/stop")
    assert response.status_code == 302
    assert _grant(db, grant.id).revoked_at is not None

    # The carer is still signed in, and is refused from the very next request.
    assert carer_client.get(f"/patients/{cast.a.id}/plan").status_code == 404
    assert carer_client.get(f"/patients/{cast.a.id}/crisis").status_code == 404
    assert "Alice Able" not in _body(carer_client.get("/"))
    assert "Alice Able" not in _body(carer_client.get("/shared-with-me"))
    assert db.session.query(AuditEvent).filter_by(action="sharing.revoke").count() == 1
    # Stopping twice is harmless and says so.
    response = owner.post(f"/patients/{cast.a.id}/sharing/{grant.id}/stop", follow_redirects=True)
    assert "has already stopped" in _body(response)
    assert db.session.query(AuditEvent).filter_by(action="sharing.revoke").count() == 1


def test_an_expired_grant_cannot_be_edited(db, cast, login):
    grant = _grant_of(db, cast.users["carer_expired"])
    owner = login(cast.users["owner"])
    response = owner.get(f"/patients/{cast.a.id}/sharing/{grant.id}", follow_redirects=True)
    assert "has already stopped" in _body(response)


@pytest.mark.parametrize("suffix", ["", "/stop", "/resend"])
def test_grants_of_another_patient_are_404(db, cast, login, suffix):
    carer = make_user(Role.CARER)
    theirs = make_grant(cast.b, carer, "view")
    db.session.commit()
    owner = login(cast.users["owner"])
    method = "POST" if suffix == "/resend" else "GET"
    url = f"/patients/{cast.a.id}/sharing/{theirs.id}{suffix}"
    assert owner.open(url, method=method).status_code == 404
    if suffix:
        assert owner.post(url).status_code == 404
    assert _grant(db, theirs.id).revoked_at is None
    assert owner.get(f"/patients/{cast.a.id}/sharing/999999").status_code == 404


# --------------------------------------------------------------------------- #
# Consent to share with the care team
# --------------------------------------------------------------------------- #


def test_withdrawing_consent_closes_the_plan_to_professionals_at_once(db, cast, login, app):
    nurse_client = _second_client(app, cast.users["professional"])
    assert nurse_client.get(f"/patients/{cast.a.id}/plan").status_code == 200

    owner = login(cast.users["owner"])
    page = _body(owner.get(f"/patients/{cast.a.id}/consent"))
    assert "If you say no, they cannot see your plan" in page
    response = owner.post(f"/patients/{cast.a.id}/consent", data={"share": "no"})
    assert response.status_code == 302
    assert db.session.get(Patient, cast.a.id, populate_existing=True).care_team_consent is False

    assert nurse_client.get(f"/patients/{cast.a.id}/plan").status_code == 404
    assert nurse_client.get(f"/patients/{cast.a.id}/crisis").status_code == 404
    assert "Alice" not in _body(nurse_client.get("/"))

    owner.post(f"/patients/{cast.a.id}/consent", data={"share": "yes"})
    assert nurse_client.get(f"/patients/{cast.a.id}/plan").status_code == 200

    records = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.patient_id == cast.a.id)
        .order_by(ConsentRecord.id)
    ).all()
    assert [r.share_with_care_team for r in records] == [False, True]
    assert all(r.recorded_by_id == cast.users["owner"].id for r in records)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("consent.withdrawn") == 1 and actions.count("consent.given") == 1

    history = _body(owner.get(f"/patients/{cast.a.id}/consent"))
    assert history.count("Do not share with my care team") == 1
    assert history.count("Share with my care team") == 1
    assert _checked(history, "yes") and not _checked(history, "no")


def test_the_same_consent_choice_again_is_not_recorded(db, cast, login):
    owner = login(cast.users["owner"])
    response = owner.post(
        f"/patients/{cast.a.id}/consent", data={"share": "yes"}, follow_redirects=True
    )
    assert "Your choice has not changed" in _body(response)
    assert db.session.query(ConsentRecord).count() == 0


def test_consent_form_needs_a_choice(db, cast, login):
    owner = login(cast.users["owner"])
    for data in ({}, {"share": "maybe"}):
        response = owner.post(f"/patients/{cast.a.id}/consent", data=data)
        assert response.status_code == 200
        assert "There is a problem" in _body(response)
    assert db.session.get(Patient, cast.a.id, populate_existing=True).care_team_consent is True


# --------------------------------------------------------------------------- #
# Shared with me
# --------------------------------------------------------------------------- #


def test_carer_sees_who_shared_with_them_and_can_give_up_access(db, cast, login):
    carer = cast.users["carer_view"]
    other_patient = make_patient(cast.org, given_name="Cora", family_name="Cole")
    make_plan(other_patient)
    make_grant(other_patient, carer, "crisis", expires_on=_future(5))
    db.session.commit()
    client = login(carer)
    home = _body(client.get("/"))
    assert 'href="/shared-with-me"' in home
    body = _body(client.get("/shared-with-me"))
    assert "Alice Able" in body and "See the whole plan" in body
    assert "Cora Cole" in body and "Crisis page only" in body
    assert _future(5).strftime("%Y") in body
    assert "No end date" in body

    grant = db.session.scalars(
        select(AccessGrant).where(
            AccessGrant.grantee_id == carer.id, AccessGrant.patient_id == cast.a.id
        )
    ).one()
    confirm = client.get(f"/shared-with-me/{grant.id}/give-up")
    assert "Give up access to the plan of Alice Able?" in _body(confirm)
    assert _grant(db, grant.id).revoked_at is None
    response = client.post(f"/shared-with-me/{grant.id}/give-up")
    assert response.status_code == 302
    assert _grant(db, grant.id).revoked_at is not None
    assert client.get(f"/patients/{cast.a.id}/plan").status_code == 404
    body = _body(client.get("/shared-with-me"))
    assert "Alice Able" not in body and "Cora Cole" in body
    event_ = db.session.query(AuditEvent).filter_by(action="sharing.give_up").one()
    assert event_.actor_id == carer.id and event_.patient_id == cast.a.id
    # The patient sees that access stopped.
    owner_page = _body(login(cast.users["owner"]).get(f"/patients/{cast.a.id}/sharing"))
    assert "Carer view" in owner_page.split("People who can no longer see my plan", 1)[1]


def test_a_carer_cannot_give_up_someone_elses_grant(db, cast, login):
    grant = _grant_of(db, cast.users["carer_view"])
    client = login(cast.users["carer_crisis"])  # has their own grant to the same patient
    assert client.get(f"/shared-with-me/{grant.id}/give-up").status_code == 404
    assert client.post(f"/shared-with-me/{grant.id}/give-up").status_code == 404
    assert _grant(db, grant.id).revoked_at is None


# --------------------------------------------------------------------------- #
# Audit events are append-only
# --------------------------------------------------------------------------- #


@pytest.fixture
def audit_writes(db):
    """Every SQL statement that changes or removes audit events, while the fixture is active."""
    caught: list[str] = []

    def listen(conn, cursor, statement, *args):
        normalised = " ".join(statement.split()).lower()
        if normalised.startswith(("update audit_events", "delete from audit_events")):
            caught.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    yield caught
    event.remove(db.engine, "before_cursor_execute", listen)


def test_sharing_journeys_never_update_or_delete_audit_events(db, cast, login, app, audit_writes):
    owner = login(cast.users["owner"])
    a = cast.a.id
    owner.get(f"/patients/{a}/plan")
    body = _body(owner.post(f"/patients/{a}/sharing/invite", data=_invite_form()))
    token = TOKEN_IN_PAGE.search(body).group(1)
    grant = db.session.scalars(
        select(AccessGrant).where(AccessGrant.invited_email == "daughter@example.org")
    ).one()
    owner.post(f"/patients/{a}/sharing/{grant.id}/resend")
    owner.post(f"/patients/{a}/consent", data={"share": "no"})
    owner.post(f"/patients/{a}/consent", data={"share": "yes"})
    owner.get(f"/patients/{a}/activity")

    newcomer = app.test_client()
    token = TOKEN_IN_PAGE.search(
        _body(owner.post(f"/patients/{a}/sharing/{grant.id}/resend"))
    ).group(1)
    newcomer.post(
        f"/invitations/{token}/create-account",
        data={"display_name": "Dee", "password": STRONG, "confirm": STRONG},
    )
    newcomer.get(f"/patients/{a}/plan")
    owner.post(f"/patients/{a}/sharing/{grant.id}", data={"scope": "crisis"})
    newcomer.post(f"/shared-with-me/{grant.id}/give-up")
    view_grant = _grant_of(db, cast.users["carer_view"])
    owner.post(f"/patients/{a}/sharing/{view_grant.id}/stop")

    assert db.session.query(AuditEvent).count() >= 10
    assert audit_writes == []


def test_changing_an_audit_event_is_refused(db, cast):
    from portal import audit

    audit.record("plan.view", cast.a.id, actor_id=cast.users["owner"].id)
    db.session.commit()
    saved = db.session.scalars(select(AuditEvent)).one()
    saved.action = "nothing.happened"
    with pytest.raises(AuditTampering):
        db.session.flush()
    db.session.rollback()

    saved = db.session.scalars(select(AuditEvent)).one()
    db.session.delete(saved)
    with pytest.raises(AuditTampering):
        db.session.flush()
    db.session.rollback()

    from sqlalchemy import delete, update

    with pytest.raises(AuditTampering):
        db.session.execute(update(AuditEvent).values(detail="x"))
    db.session.rollback()
    with pytest.raises(AuditTampering):
        db.session.execute(delete(AuditEvent))
    db.session.rollback()
    saved = db.session.scalars(select(AuditEvent)).one()
    assert saved.action == "plan.view"
    assert not inspect(saved).modified
