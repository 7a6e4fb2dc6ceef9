"""A carer's invitation email in the language the patient chose for them, English below."""

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.i18n import LOCALE_COOKIE
from portal.models import AccessGrant

DIVIDER = "-" * 40


def _invite(client, patient_id: int, **extra):
    data = {
        "email": "daughter@example.org",
        "relationship": "Daughter",
        "scope": "crisis",
        "end_date-day": "",
        "end_date-month": "",
        "end_date-year": "",
        **extra,
    }
    return client.post(f"/patients/{patient_id}/sharing/invite", data=data)


def _grant(db) -> AccessGrant:
    return db.session.scalars(
        select(AccessGrant).where(AccessGrant.invited_email == "daughter@example.org")
    ).one()


@pytest.fixture
def sent(app):
    """The invitation emails written to the outbox during the test."""
    outbox = Path(app.config["OUTBOX_DIR"])
    before = set(outbox.glob("*.eml"))

    def _messages():
        return [
            message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in sorted(set(outbox.glob("*.eml")) - before)
        ]

    return _messages


def test_invitation_in_the_carers_language_with_english_below(db, cast, login, sent):
    client = login(cast.users["owner"])  # the patient reads the portal in English
    assert _invite(client, cast.a.id, invitation_language="ur").status_code == 200
    grant = _grant(db)
    assert grant.invitation_language == "ur"

    (message,) = sent()
    text = message.get_content()
    urdu, english = text.split(DIVIDER)
    assert "ہے" in message["Subject"] and "Alice Able" in message["Subject"]
    assert "Alice Able has invited you" not in urdu
    assert "ایمرجنسی" in urdu or "طبیعت" in urdu  # what they will see, in Urdu
    assert "Alice Able has invited you to see their NHS personalised care plan" in english
    assert "You will see what to do if they become unwell" in english
    assert "?lang=ur" in urdu and "?lang=en" in english


def test_invitation_in_english_is_written_once(db, cast, login, sent):
    client = login(cast.users["owner"])
    _invite(client, cast.a.id, invitation_language="en")
    (message,) = sent()
    text = message.get_content()
    assert DIVIDER not in text
    assert text.count("Alice Able has invited you") == 1
    assert message["Subject"] == "Alice Able has shared their care plan with you"


def test_the_form_offers_every_language_and_starts_with_the_patients(db, cast, login):
    client = login(cast.users["owner"])
    client.set_cookie(LOCALE_COOKIE, "pl")
    body = client.get(f"/patients/{cast.a.id}/sharing/invite").get_data(as_text=True)
    assert 'name="invitation_language"' in body
    assert '<option selected value="pl">Polski</option>' in body
    assert '<option value="so">Soomaali</option>' in body


@pytest.mark.parametrize("forged", ["xx", "", "<script>", "ur\u202e", "e" * 500])
def test_an_unknown_language_falls_back_to_the_patients_own(db, cast, login, sent, forged):
    client = login(cast.users["owner"])
    client.set_cookie(LOCALE_COOKIE, "cy")
    response = _invite(client, cast.a.id, invitation_language=forged)
    assert response.status_code == 200
    assert _grant(db).invitation_language == "cy"


def test_sending_again_keeps_the_chosen_language(db, cast, login, sent):
    client = login(cast.users["owner"])
    _invite(client, cast.a.id, invitation_language="bn")
    grant = _grant(db)
    client.post(f"/patients/{cast.a.id}/sharing/{grant.id}/resend")
    messages = sent()
    assert len(messages) == 2
    assert all("?lang=bn" in m.get_content() for m in messages)


def test_the_link_opens_the_invitation_in_its_language_and_keeps_it(db, cast, login, sent, app):
    client = login(cast.users["owner"])
    _invite(client, cast.a.id, invitation_language="ar")
    text = sent()[0].get_content()
    link = next(w for w in text.split() if "/invitations/" in w and "lang=ar" in w)
    path = link.split("localhost", 1)[1]
    carer = app.test_client()
    page = carer.get(path)
    assert '<html lang="ar" dir="rtl">' in page.get_data(as_text=True)
    assert f"{LOCALE_COOKIE}=ar" in page.headers.get("Set-Cookie", "")
    # The next page (creating an account) stays in Arabic.
    token = path.split("/invitations/")[1].split("?")[0]
    signup = carer.get(f"/invitations/{token}/create-account").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in signup
