"""Patient accounts from an activation code: the letter, the email, and "Create your account"."""

import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal.activation import services
from portal.auth.services import authenticate
from portal.extensions import db as _db
from portal.models import ActivationCode, AuditEvent, Patient, RegisterEntry, Role
from portal.models.base import utcnow
from tests.factories import make_org, make_user
from tests.support import other_app, use_outbox
from tests.test_pdf import pdffonts, pdftotext

NEW_PASSWORD = "copper kettle harbour lantern"
CODE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")


@pytest.fixture
def practice(db):
    org = make_org()
    admin = make_user(Role.PRACTICE_ADMIN, org)
    person = Patient(
        organisation_id=org.id,
        nhs_number="9434765919",
        given_name="Layla",
        family_name="Haddad",
        date_of_birth=date(1961, 5, 4),
        sex="female",
        preferred_language="ar",
        care_team_consent=True,
    )
    db.session.add(person)
    db.session.flush()
    db.session.add(
        RegisterEntry(patient_id=person.id, registered_on=date(2001, 1, 1), email="l@example.org")
    )
    db.session.commit()
    return org, admin, person


def issue(person, admin) -> str:
    code = services.issue(person, "letter", admin)
    _db.session.commit()
    return code


def step_one(client, code, nhs="9434765919", born=date(1961, 5, 4)):
    data = {
        "code": code,
        "nhs_number": nhs,
        "date_of_birth-day": born.day,
        "date_of_birth-month": born.month,
        "date_of_birth-year": born.year,
    }
    return client.post("/create-account", data=data)


def step_two(client, email="layla@example.org"):
    data = {"email": email, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    return client.post("/create-account/details", data=data)


NO_MATCH = "These details do not match an activation code that can be used."


def test_the_code_alphabet_has_no_look_alikes():
    code = services.new_code()
    assert len(code) == 12 and set(code) <= set(services.ALPHABET)
    assert not set("0O1IL2Z5S8B") & set(services.ALPHABET)
    assert services.normalise(" acde-3479 fhjk ") == "ACDE3479FHJK"


def test_the_right_code_creates_the_account_once(client, practice):
    _org, admin, person = practice
    code = issue(person, admin)
    stored = _db.session.scalars(select(ActivationCode)).one()
    assert code not in stored.code_hash and len(stored.code_hash) == 64  # only a keyed hash
    response = step_one(client, services.printed(code).lower())
    assert response.status_code == 302 and response.location.endswith("/create-account/details")
    response = step_two(client)
    assert response.status_code == 302 and "/sign-in" in response.location
    _db.session.refresh(person)
    user, _ = authenticate("layla@example.org", NEW_PASSWORD)
    assert user is not None and person.user_id == user.id and user.role == Role.PATIENT
    assert user.preferred_locale == "en"
    actions = _db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == person.id)
    ).all()
    assert {"activation.issued", "activation.used"} <= set(actions)
    # used: the same code again answers like any wrong code
    assert NO_MATCH in step_one(client, code).get_data(as_text=True)


@pytest.mark.parametrize(
    "wrong",
    [
        {"born": date(1961, 5, 5)},
        {"nhs": "9434765870"},
        {"code": "ACDE3479FHJK"},
    ],
    ids=["wrong date of birth", "wrong NHS number", "wrong code"],
)
def test_wrong_details_answer_the_same_way(client, practice, wrong):
    _org, admin, person = practice
    code = issue(person, admin)
    response = step_one(client, wrong.pop("code", code), **wrong)
    assert response.status_code == 200
    assert NO_MATCH in response.get_data(as_text=True)
    assert client.get("/create-account/details").status_code == 302  # no way round step one


def test_an_expired_code_does_not_work(client, practice):
    _org, admin, person = practice
    code = issue(person, admin)
    stored = _db.session.scalars(select(ActivationCode)).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    assert NO_MATCH in step_one(client, code).get_data(as_text=True)


def test_reissuing_revokes_the_earlier_code(client, practice):
    _org, admin, person = practice
    first = issue(person, admin)
    second = issue(person, admin)
    assert NO_MATCH in step_one(client, first).get_data(as_text=True)
    assert step_one(client, second).status_code == 302


def test_an_email_already_in_use_is_refused(client, practice):
    _org, admin, person = practice
    make_user(email="taken@example.org")
    _db.session.commit()
    step_one(client, issue(person, admin))
    page = step_two(client, email="taken@example.org").get_data(as_text=True)
    assert "already has an account" in page
    assert _db.session.get(Patient, person.id).user_id is None


def test_attempts_are_throttled_per_code(app, practice):
    _org, admin, person = practice
    code = issue(person, admin)
    with other_app(app, {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"}) as lim:
        for n in range(5):
            client = lim.test_client()
            address = {"REMOTE_ADDR": f"192.0.2.{n}"}
            data = {
                "code": code,
                "nhs_number": "9434765919",
                "date_of_birth-day": "1",
                "date_of_birth-month": "1",
                "date_of_birth-year": "1990",
            }
            assert (
                client.post("/create-account", data=data, environ_base=address).status_code == 200
            )
        # the right details, from yet another address, wait too: the code is being guessed at
        right = lim.test_client()
        response = step_one(right, code)
        assert response.status_code == 429
    assert _db.session.get(Patient, person.id).user_id is None


def test_attempts_are_throttled_per_address(app, practice):
    """Guessing many codes from one address is stopped, even each code tried only once; the
    patient's own code, typed right from that address, waits too."""
    _org, admin, person = practice
    code = issue(person, admin)
    limits = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "ACTIVATION_LIMITS_ADDRESS": "3 per hour",
    }
    with other_app(app, limits) as lim:
        client = lim.test_client()
        for guess in ("ACDE3479FHJK", "ACDE3479FHJM", "ACDE3479FHJN"):
            assert NO_MATCH in step_one(client, guess).get_data(as_text=True)
        assert step_one(client, code).status_code == 429
        # another address is not held up by the first one's guesses
        other = lim.test_client()
        response = other.post(
            "/create-account",
            data={
                "code": code,
                "nhs_number": "9434765919",
                "date_of_birth-day": "4",
                "date_of_birth-month": "5",
                "date_of_birth-year": "1961",
            },
            environ_base={"REMOTE_ADDR": "192.0.2.200"},
        )
        assert response.status_code == 302
    assert _db.session.get(Patient, person.id).user_id is None


def test_the_sign_in_page_links_to_create_your_account(client, db):
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'href="/create-account"' in page


def test_the_letter_is_in_the_patients_language_with_english_beside(app, login, practice):
    _org, admin, person = practice
    response = login(admin).post(f"/register/patients/{person.id}/letter")
    assert response.mimetype == "application/pdf"
    text = pdftotext(response.data)
    code = CODE.search("".join(text.split())).group(0)
    with app.test_request_context(), force_locale("ar"):
        arabic_title = gettext("Your care plan: create your account")
    assert "create your account" in text  # the English
    # pdftotext gives right-to-left runs in their own order: look for each word
    assert all(word.strip(":") in text for word in arabic_title.split())
    assert arabic_title != "Your care plan: create your account"
    fonts = {row["name"] for row in pdffonts(response.data)}
    assert "Noto-Naskh-Arabic" in fonts and "Noto-Sans" in {f.split(",")[0] for f in fonts}
    # the code printed works
    client = app.test_client()
    assert step_one(client, code).status_code == 302


def test_the_code_can_be_emailed_to_the_address_on_the_register(
    app, login, practice, monkeypatch, tmp_path
):
    _org, admin, person = practice
    outbox = use_outbox(app, monkeypatch, tmp_path)
    response = login(admin).post(
        f"/register/patients/{person.id}/activation-email", follow_redirects=True
    )
    assert "The activation email has been sent." in response.get_data(as_text=True)
    (message,) = outbox.to("l@example.org")
    body = message.get_body(preferencelist=("plain",)).get_content()
    code = CODE.search(body).group(0)
    assert "Your activation code" in body  # English beside the Arabic
    assert step_one(app.test_client(), code).status_code == 302


def test_a_letter_refused_by_the_pdf_limits_issues_no_code(app, login, practice, monkeypatch):
    _org, admin, person = practice
    monkeypatch.setitem(app.config, "PDF_MAX_PAGES", 0)
    response = login(admin).post(f"/register/patients/{person.id}/letter")
    assert response.status_code == 503
    assert "too long to make into a PDF" in response.get_data(as_text=True)
    assert _db.session.scalars(select(ActivationCode)).all() == []


def test_no_letter_for_a_patient_who_has_an_account(login, practice):
    _org, admin, person = practice
    person.user_id = make_user(Role.PATIENT).id
    _db.session.commit()
    response = login(admin).post(f"/register/patients/{person.id}/letter")
    assert response.status_code == 302
    assert _db.session.scalars(select(ActivationCode)).all() == []


def test_the_nightly_job_deletes_codes_long_expired_and_unused_only(app, practice):
    """Unused codes (revoked ones too) go 30 days after they expired; a used code and the
    audit trail's record of every code stay."""
    from portal import jobs

    _org, admin, person = practice
    for _ in range(4):
        issue(person, admin)  # each revokes the one before
    codes = _db.session.scalars(select(ActivationCode).order_by(ActivationCode.id)).all()
    long_ago = utcnow() - services.KEEP_EXPIRED - timedelta(days=1)
    codes[0].expires_at = long_ago  # revoked, long expired: goes
    codes[1].expires_at = utcnow() - services.KEEP_EXPIRED + timedelta(days=1)  # kept a while
    codes[2].expires_at, codes[2].used_at = long_ago, long_ago  # used: the account's record
    codes[3].expires_at = long_ago  # never used, long expired: goes
    _db.session.commit()
    kept = [codes[1].id, codes[2].id]
    issued_before = _db.session.scalars(
        select(AuditEvent.id).where(AuditEvent.action == "activation.issued")
    ).all()

    assert jobs.JOBS["activation.clean_up"] is services.clean_up
    assert services.clean_up() == 2
    assert _db.session.scalars(select(ActivationCode.id).order_by(ActivationCode.id)).all() == kept
    assert services.clean_up() == 0
    assert (
        _db.session.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "activation.issued")
        ).all()
        == issued_before
    )
    assert len(issued_before) == 4
    schedule = jobs.SCHEDULE["activation-codes"]
    assert schedule["task"] == "activation.clean_up"
    assert schedule["schedule"].hour == {3} and schedule["schedule"].minute == {30}


def test_a_code_removed_by_the_job_answers_like_any_wrong_code(client, practice):
    _org, admin, person = practice
    code = issue(person, admin)
    stored = _db.session.scalars(select(ActivationCode)).one()
    stored.expires_at = utcnow() - services.KEEP_EXPIRED - timedelta(days=1)
    _db.session.commit()
    assert services.clean_up() == 1
    response = step_one(client, code)
    assert response.status_code == 200
    assert NO_MATCH in response.get_data(as_text=True)
