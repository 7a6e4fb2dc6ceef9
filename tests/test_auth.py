from portal.models import AuditEvent
from tests.factories import PASSWORD, make_patient, make_plan


def _sign_in(client, email, password, next_url=None):
    url = "/sign-in" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password})


def test_patient_signs_in_and_lands_on_their_plan(client, db):
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    response = _sign_in(client, patient.user.email, PASSWORD)
    assert response.status_code == 302
    response = client.get(response.headers["Location"], follow_redirects=True)
    assert "My care plan" in response.get_data(as_text=True)
    assert response.request.path == f"/patients/{patient.id}/plan"


def test_email_is_matched_without_regard_to_case(client, db):
    patient = make_patient()
    db.session.commit()
    response = _sign_in(client, patient.user.email.upper(), PASSWORD)
    assert response.status_code == 302


def test_wrong_password_is_refused_with_a_clear_message(client, db):
    patient = make_patient()
    db.session.commit()
    response = _sign_in(client, patient.user.email, "not-the-password")
    assert response.status_code == 200
    assert "Enter a correct email address and password" in response.get_data(as_text=True)
    assert client.get("/", follow_redirects=False).status_code == 302  # still signed out
    assert db.session.query(AuditEvent).filter_by(action="auth.sign_in_failed").count() == 1


def test_unknown_email_gets_the_same_message(client, db):
    response = _sign_in(client, "nobody@example.org", PASSWORD)
    assert "Enter a correct email address and password" in response.get_data(as_text=True)


def test_empty_form_explains_what_is_missing(client, db):
    body = client.post("/sign-in", data={}).get_data(as_text=True)
    assert "Enter your email address" in body
    assert "Enter your password" in body


def test_sign_out_ends_the_session(client, db):
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    _sign_in(client, patient.user.email, PASSWORD)
    assert client.get(f"/patients/{patient.id}/plan").status_code == 200
    response = client.post("/sign-out")
    assert response.status_code == 302
    response = client.get(f"/patients/{patient.id}/plan")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_sign_out_is_post_only(client, db):
    patient = make_patient()
    db.session.commit()
    _sign_in(client, patient.user.email, PASSWORD)
    assert client.get("/sign-out").status_code == 405


def test_anonymous_visit_returns_to_the_page_after_sign_in(client, db):
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    target = f"/patients/{patient.id}/plan"
    response = client.get(target)
    assert response.status_code == 302
    assert "/sign-in?next=" in response.headers["Location"]
    response = _sign_in(client, patient.user.email, PASSWORD, next_url=target)
    assert response.headers["Location"] == target


def test_external_next_is_ignored(client, db):
    patient = make_patient()
    db.session.commit()
    for evil in ("https://evil.example", "//evil.example", "/\\evil.example", "javascript:x"):
        with client.session_transaction() as s:
            s.clear()
        response = _sign_in(client, patient.user.email, PASSWORD, next_url=evil)
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]
