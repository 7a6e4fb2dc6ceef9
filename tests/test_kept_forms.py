"""No lost work: what a person typed when their session ended is kept for them alone, for a
day, and offered back on the same page after they sign in again."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.drafts import services
from portal.models import KeptForm, Preparation, Role
from portal.models.base import utcnow
from tests.factories import PASSWORD, make_user

LONG_ANSWER = "I get breathless on the stairs now, and I want to ask about the inhaler. " * 20


OFFER = 'class="nhsuk-warning-callout portal-kept"'


def _sign_in_again(client, user, url="/sign-in"):
    response = client.post(url, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def _late_save(client, url, clock):
    clock.advance(31 * 60)  # past the patient's 30 idle minutes
    return client.post(
        url,
        data={
            "questions": LONG_ANSWER,
            "what_changed": "",
            "how_i_feel": "Tired",
            "password": "never-kept",
            "csrf_token": "never-kept",
        },
    )


def test_a_save_after_the_idle_sign_out_keeps_what_was_typed(db, cast, login, clock):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/preparation"
    response = _late_save(client, url, clock)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    kept = db.session.scalars(select(KeptForm)).one()
    assert kept.user_id == cast.users["owner"].id and kept.path == url
    assert kept.fields["questions"] == [LONG_ANSWER]
    assert "password" not in kept.fields and "csrf_token" not in kept.fields
    assert not db.session.scalars(select(Preparation)).all()  # nothing saved while signed out
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "What you had typed was kept" in body

    sign_in = response.headers["Location"]
    next_page = _sign_in_again(client, cast.users["owner"], sign_in).headers["Location"]
    assert next_page.endswith(url)
    body = client.get(url).get_data(as_text=True)
    assert "What you typed before you were signed out" in body
    assert LONG_ANSWER.strip()[:60] in body  # shown to copy from, without JavaScript
    assert "Put what I typed back into the form" in body
    assert 'data-kept-fields="{&#34;' in body  # the fields for the page's script, escaped


def test_what_was_kept_is_offered_only_on_its_own_page(db, cast, login, clock):
    client = login(cast.users["owner"])
    _late_save(client, f"/patients/{cast.a.id}/preparation", clock)
    _sign_in_again(client, cast.users["owner"])
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert OFFER not in body


def test_nobody_else_is_offered_what_was_kept(db, cast, login, clock):
    client = login(cast.users["owner"])
    _late_save(client, f"/patients/{cast.a.id}/preparation", clock)
    kept = db.session.scalars(select(KeptForm)).one()
    carer = cast.users["carer_contribute"]
    _sign_in_again(client, carer)
    body = client.get(f"/patients/{cast.a.id}/preparation").get_data(as_text=True)
    assert LONG_ANSWER[:60] not in body
    assert client.post(f"/kept/{kept.id}/discard").status_code == 404
    assert db.session.get(KeptForm, kept.id) is not None


def test_discarding_removes_it(db, cast, login, clock):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/preparation"
    _late_save(client, url, clock)
    _sign_in_again(client, cast.users["owner"])
    kept_id = db.session.scalars(select(KeptForm.id)).one()
    response = client.post(f"/kept/{kept_id}/discard")
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert db.session.scalars(select(KeptForm)).all() == []
    assert OFFER not in client.get(url).get_data(as_text=True)
    assert client.post(f"/kept/{kept_id}/discard").status_code == 404


def test_taking_it_back_from_the_page_removes_it_quietly(db, cast, login, clock):
    client = login(cast.users["owner"])
    _late_save(client, f"/patients/{cast.a.id}/preparation", clock)
    _sign_in_again(client, cast.users["owner"])
    kept = db.session.scalars(select(KeptForm)).one()
    response = client.post(f"/kept/{kept.id}/discard", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 204


def test_what_was_kept_expires_after_a_day(db, cast, login, clock):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/preparation"
    _late_save(client, url, clock)
    kept = db.session.scalars(select(KeptForm)).one()
    kept.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    _sign_in_again(client, cast.users["owner"])
    assert OFFER not in client.get(url).get_data(as_text=True)


def test_the_nightly_clean_up_deletes_every_accounts_expired_forms_only(db, cast):
    now = utcnow()
    for user, expires in ((cast.users["owner"], now - timedelta(minutes=1)),
                          (cast.users["carer_view"], now - timedelta(days=30)),
                          (cast.users["professional"], now + timedelta(hours=2))):
        db.session.add(KeptForm(user_id=user.id, path="/account", fields={}, expires_at=expires))
    db.session.commit()
    assert services.clean_up() == 2
    assert [k.user_id for k in db.session.scalars(select(KeptForm))] == [
        cast.users["professional"].id
    ]


def test_a_second_late_save_of_the_same_page_replaces_the_first(db, cast, login, clock):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/preparation"
    _late_save(client, url, clock)
    _sign_in_again(client, cast.users["owner"])
    _late_save(client, url, clock)
    assert len(db.session.scalars(select(KeptForm)).all()) == 1


def test_an_empty_form_is_not_kept(db, cast, login, clock):
    client = login(cast.users["owner"])
    clock.advance(31 * 60)
    client.post(f"/patients/{cast.a.id}/preparation", data={"questions": "  ", "version": ""})
    assert db.session.scalars(select(KeptForm)).all() == []


def test_asking_how_long_is_left_does_not_extend_the_session(db, cast, login, clock):
    client = login(cast.users["professional"])  # 15 minutes for staff
    clock.advance(10 * 60)
    seconds = client.get("/session/remaining").get_json()["seconds"]
    assert 4 * 60 <= seconds <= 5 * 60
    clock.advance(6 * 60)
    response = client.get("/session/remaining")
    assert response.status_code == 302  # signed out: the question did not count as use


def test_staying_signed_in_extends_the_session(db, cast, login, clock):
    client = login(cast.users["professional"])
    clock.advance(14 * 60)
    assert client.post("/session/stay").status_code == 204
    clock.advance(14 * 60)
    assert client.get("/session/remaining").get_json()["seconds"] >= 60


def test_when_the_warning_runs_out_the_page_is_kept_and_the_session_ends(db, cast, login):
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/review/record"
    response = client.post(
        "/session/keep", data={"_path": url, "notes": "She said the new inhaler helps"}
    )
    assert response.status_code == 204
    kept = db.session.scalars(select(KeptForm)).one()
    assert kept.path == url and kept.fields == {"notes": ["She said the new inhaler helps"]}
    assert client.get(url).status_code == 302  # signed out


@pytest.mark.parametrize("path", ["https://evil.example/x", "//evil.example", "", "\\\\x", None])
def test_only_pages_of_the_portal_are_kept(db, cast, path):
    from werkzeug.datastructures import MultiDict

    user = make_user(Role.PATIENT)
    assert services.keep(user.id, path, MultiDict({"notes": "text"})) is None


def test_the_timeout_warning_is_on_every_signed_in_page_with_the_right_times(
    db, cast, login, client
):
    staff = login(cast.users["professional"]).get("/worklist").get_data(as_text=True)
    assert 'id="portal-timeout"' in staff and 'data-idle="900"' in staff
    assert 'data-warn="120"' in staff and "Stay signed in" in staff
    patient = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(True)
    assert 'data-idle="1800"' in patient
    with client.session_transaction() as session:
        session.clear()
    assert 'id="portal-timeout"' not in client.get("/sign-in").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/session/stay", "/session/keep", "/kept/1/discard"])
def test_anonymous_requests_are_sent_to_sign_in(client, db, url):
    response = client.post(url)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
