"""NHS login against a real OpenID Connect provider on loopback, set up like NHS login."""

import logging
from datetime import date

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, IdentityProvider, Role, SignInIdentity
from tests.factories import make_patient, make_plan, make_user
from tests.oidc_support import AFTER_SIGN_OUT, CLIENT_ID, provider, query  # noqa: F401

BORN = date(1961, 4, 23)


@pytest.fixture
def nhs_login(app, provider, monkeypatch):  # noqa: F811
    for name, value in provider.settings().items():
        monkeypatch.setitem(app.config, name, value)
    return provider


def unlinked_patient(**kw):
    patient = make_patient(date_of_birth=BORN, **kw)
    patient.user_id = None
    make_plan(patient)
    return patient


def person(nhs_login, patient, sub="nhs-sub-1", level="P9", **claims):
    details = {
        "nhs_number": patient.nhs_number,
        "birthdate": patient.date_of_birth.isoformat(),
        "identity_proofing_level": level,
        "vot": f"{level}.Cp.Cd",
        "email": "pat.from.nhs.login@example.org",
        "email_verified": True,
    }
    nhs_login.add_person(sub, **{**details, **claims})
    return sub


def callback_for(client, nhs_login, sub, start="/sign-in/nhs-login", method="get"):
    """Start at the portal, sign in at the provider as ``sub``: the portal callback address."""
    response = getattr(client, method)(start)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(nhs_login.issuer)
    return nhs_login.sign_in_as(response.headers["Location"], sub)


def sign_in_with_nhs_login(client, nhs_login, sub):
    return client.get(callback_for(client, nhs_login, sub))


def actions(db):
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def identities(db):
    return db.session.scalars(select(SignInIdentity)).all()


def test_without_a_provider_there_is_no_button(client, app):
    assert not app.config.get("NHS_LOGIN_CLIENT_ID")
    response = client.get("/sign-in")
    assert "NHS login" not in response.get_data(as_text=True)
    assert "form-action 'self';" in response.headers["Content-Security-Policy"]
    assert client.get("/sign-in/nhs-login").status_code == 404
    assert client.get("/sign-in/nhs-login/callback?state=x&code=y").status_code == 404


def test_a_verified_patient_is_linked_to_their_record_and_sees_their_plan(
    client, db, nhs_login, caplog
):
    sign_in_page = client.get("/sign-in")
    assert "Continue with NHS login" in sign_in_page.get_data(as_text=True)
    # Linking and signing out are forms answered by a redirect to the provider.
    policy = sign_in_page.headers["Content-Security-Policy"]
    assert f"form-action 'self' {nhs_login.issuer};" in policy
    patient = unlinked_patient()
    sub = person(nhs_login, patient)
    caplog.set_level(logging.DEBUG)

    response = sign_in_with_nhs_login(client, nhs_login, sub)

    assert response.status_code == 302
    plan_page = client.get(response.headers["Location"], follow_redirects=True)
    assert plan_page.status_code == 200
    assert patient.full_name in plan_page.get_data(as_text=True)
    assert patient.user is not None and patient.user.role == Role.PATIENT
    assert patient.nhs_number_status == "verified"  # NHS login traced it at P9
    assert [(i.user_id, i.provider, i.subject) for i in identities(db)] == [
        (patient.user_id, IdentityProvider.NHS_LOGIN, sub)
    ]
    assert {"auth.account_created", "auth.nhs_login_linked", "auth.sign_in"} <= set(actions(db))
    assert "eyJ" not in caplog.text  # no token (a JWT starts so) reached the log

    # Next time the same NHS login opens the same account.
    client.post("/sign-out")
    sign_in_with_nhs_login(client, nhs_login, sub)
    assert client.get("/account/").status_code == 200
    assert len(identities(db)) == 1


def test_sign_out_ends_the_providers_session_too(client, db, nhs_login):
    patient = unlinked_patient()
    sign_in_with_nhs_login(client, nhs_login, person(nhs_login, patient))

    response = client.post("/sign-out")

    assert response.headers["Location"].startswith(nhs_login.issuer)
    assert query(response.headers["Location"]) == {
        "client_id": CLIENT_ID,
        "post_logout_redirect_uri": AFTER_SIGN_OUT,
    }
    assert client.get("/account/").status_code == 302  # the portal session is over


def refused(response, words: str):
    assert response.status_code == 403
    assert words in response.get_data(as_text=True)


def test_a_wrong_state_is_refused(client, db, nhs_login):
    sub = person(nhs_login, unlinked_patient())
    url = callback_for(client, nhs_login, sub)
    state = query(url)["state"]

    refused(client.get(url.replace(state, "forged-state")), "did not work")

    assert identities(db) == []
    assert client.get("/account/").status_code == 302
    assert ("auth.nhs_login_refused") in actions(db)


def test_an_answer_cannot_be_used_twice(client, db, nhs_login):
    url = callback_for(client, nhs_login, person(nhs_login, unlinked_patient()))
    assert client.get(url).status_code == 302
    client.post("/sign-out")

    refused(client.get(url), "did not work")


@pytest.mark.parametrize("attack", ["replay", "wrong_audience", "expired", "unsigned", "wrong_key"])
def test_an_id_token_that_fails_a_check_is_refused(client, db, nhs_login, attack):
    patient = unlinked_patient()
    sub = person(nhs_login, patient)
    if attack == "replay":  # the same person's token from an earlier sign-in, with its nonce
        client.get(callback_for(client, nhs_login, sub))
        client.post("/sign-out")
        linked = len(identities(db))
    else:
        linked = 0
    nhs_login.tamper(attack)

    refused(sign_in_with_nhs_login(client, nhs_login, sub), "did not work")

    assert len(identities(db)) == linked
    assert client.get("/account/").status_code == 302


def test_an_nhs_number_matching_no_record_is_refused(client, db, nhs_login):
    patient = unlinked_patient()
    sub = person(nhs_login, patient, birthdate="1990-01-01")  # the number matches, the date not

    refused(sign_in_with_nhs_login(client, nhs_login, sub), "do not match a care plan")

    assert identities(db) == [] and patient.user_id is None


def test_a_record_with_someone_elses_account_is_not_taken_over(client, db, nhs_login):
    patient = make_patient(date_of_birth=BORN)  # already has its own account
    owner = patient.user_id

    refused(
        sign_in_with_nhs_login(client, nhs_login, person(nhs_login, patient)),
        "already has an account",
    )

    assert identities(db) == [] and patient.user_id == owner


def test_a_lower_identity_level_sees_only_what_it_allows(client, db, nhs_login):
    patient = unlinked_patient()

    response = sign_in_with_nhs_login(client, nhs_login, person(nhs_login, patient, level="P5"))

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "has not yet fully checked who you are" in page
    assert patient.full_name not in page
    assert client.get(f"/patients/{patient.id}/plan").status_code == 302  # to sign-in
    assert identities(db) == [] and patient.user_id is None


def test_an_account_links_nhs_login_from_the_account_page(client, db, nhs_login, login):
    patient = make_patient(date_of_birth=BORN)
    login(patient.user)
    assert ">Link<" in client.get("/account/").get_data(as_text=True)

    url = callback_for(
        client, nhs_login, person(nhs_login, patient), "/account/link/nhs-login", "post"
    )
    response = client.get(url)

    assert response.headers["Location"].endswith("/account/")
    assert "Linked</dd>" in client.get("/account/").get_data(as_text=True)
    assert [i.user_id for i in identities(db)] == [patient.user_id]
    assert "auth.nhs_login_linked" in actions(db)


def test_a_patient_cannot_link_someone_elses_nhs_login(client, db, nhs_login, login):
    patient = make_patient(date_of_birth=BORN)
    other = unlinked_patient()
    login(patient.user)

    url = callback_for(
        client, nhs_login, person(nhs_login, other), "/account/link/nhs-login", "post"
    )

    refused(client.get(url), "cannot be linked")
    assert identities(db) == []


def test_a_carer_links_their_nhs_login_and_signs_in_with_it(client, db, nhs_login, login):
    carer = make_user(Role.CARER)
    login(carer)
    sub = person(nhs_login, unlinked_patient(), sub="carer-sub", nhs_number="9990001117")
    client.get(callback_for(client, nhs_login, sub, "/account/link/nhs-login", "post"))
    client.post("/sign-out")

    sign_in_with_nhs_login(client, nhs_login, sub)

    assert client.get("/account/").get_data(as_text=True).count(carer.display_name) >= 1


def test_an_unreachable_provider_is_a_plain_refusal(client, db, app, monkeypatch):
    for name, value in {
        "NHS_LOGIN_METADATA_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
        "NHS_LOGIN_CLIENT_ID": CLIENT_ID,
        "NHS_LOGIN_PRIVATE_KEY": "not used",
    }.items():
        monkeypatch.setitem(app.config, name, value)

    refused(client.get("/sign-in/nhs-login"), "did not work")
    refused(client.get("/sign-in/nhs-login/callback?state=x&code=y"), "did not work")
