"""Patients and contributing carers write wishes and whole-person sections in their own words."""

import re

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Domain, NeedsSection, Wish, WishKind
from tests.editing_helpers import (
    EVERYONE,
    IN_CLINIC,
    WRITERS,
    check_matrix_response,
    hidden_value,
    second_client,
)


def _section(db, cast, domain="health"):
    return db.session.scalar(
        select(NeedsSection).where(
            NeedsSection.plan_id == cast.plan_a.id, NeedsSection.domain == domain
        )
    )


def _wish(db, cast, kind="place_of_care"):
    return db.session.scalar(select(Wish).where(Wish.plan_id == cast.plan_a.id, Wish.kind == kind))


def _actions(db, cast):
    return [
        e.action
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.patient_id == cast.a.id).order_by(AuditEvent.id)
        )
    ]


def test_every_section_and_wish_has_an_edit_page_linked_from_the_plan(cast, login):
    client = login(cast.users["owner"])
    plan = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    urls = [f"/patients/{cast.a.id}/about-me/{domain}" for domain in Domain]
    urls += [f"/patients/{cast.a.id}/wishes/{kind}" for kind in WishKind]
    for url in urls:
        assert f'href="{url}"' in plan
        body = client.get(url).get_data(as_text=True)
        assert "In your own words" in body


def test_patient_writes_a_new_section_as_a_proposal(db, cast, login):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/about-me/family"
    page = client.get(url).get_data(as_text=True)
    assert "My family" in page
    assert "The people close to you" in page  # the hint for this section
    assert hidden_value(page, "version") == ""
    response = client.post(url, data={"text": "My daughter visits on Sundays.", "version": ""})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{cast.a.id}/plan#whole-person")
    section = _section(db, cast, "family")
    assert section.text == "My daughter visits on Sundays."
    assert section.pending_review
    assert section.updated_by_id == cast.a.user_id
    assert section.language == "en"
    assert _actions(db, cast) == ["needs.create"]

    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "My daughter visits on Sundays." in body
    assert "Your suggestion – not yet agreed" in body
    # Said once, under the heading the address leads to, not out of sight at the top.
    assert body.count("Your words have been saved") == 1
    heading = body.index('<h2 id="whole-person">')
    assert heading < body.index("Your words have been saved") < body.index("<dl", heading)


def test_carer_changes_an_agreed_wish_as_a_proposal(db, cast, login):
    wish = _wish(db, cast)
    wish.pending_review = False
    db.session.commit()
    carer = cast.users["carer_contribute"]
    client = login(carer)
    url = f"/patients/{cast.a.id}/wishes/place_of_care"
    page = client.get(url).get_data(as_text=True)
    assert "At home" in page
    client.post(url, data={"text": "At home, or at my daughter's", "version": str(wish.version)})
    db.session.refresh(wish)
    assert wish.text == "At home, or at my daughter's"
    assert wish.pending_review
    assert wish.updated_by_id == carer.id
    assert _actions(db, cast) == ["wish.view", "wish.edit"]
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "Changed by Carer contribute – not yet agreed" in body


def test_saving_the_same_text_changes_nothing(db, cast, login):
    wish = _wish(db, cast)
    wish.pending_review = False
    db.session.commit()
    version = wish.version
    login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/wishes/place_of_care",
        data={"text": "At home", "version": str(version)},
    )
    db.session.refresh(wish)
    assert not wish.pending_review and wish.version == version


def test_text_in_another_language_keeps_its_language(app, db, cast, login, monkeypatch):
    monkeypatch.setitem(app.config, "LOCALES", ["en", "ur"])
    owner = cast.users["owner"]
    owner.preferred_locale = "ur"
    db.session.commit()
    client = login(owner)
    client.post(
        f"/patients/{cast.a.id}/about-me/cultural",
        data={"text": "میں رمضان میں روزہ رکھتا ہوں", "version": ""},
    )
    section = _section(db, cast, "cultural")
    assert section.language == "ur"
    owner.preferred_locale = "en"
    db.session.commit()
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert 'lang="ur">میں رمضان میں روزہ رکھتا ہوں' in body


# Two people editing the same text


@pytest.mark.parametrize(
    "url", ["/patients/{a}/about-me/health", "/patients/{a}/wishes/place_of_care"]
)
def test_later_save_sees_both_texts(app, db, cast, url):
    url = url.format(a=cast.a.id)
    patient = second_client(app, cast.users["owner"])
    carer = second_client(app, cast.users["carer_contribute"])
    patient_version = hidden_value(patient.get(url).get_data(as_text=True), "version")
    carer_version = hidden_value(carer.get(url).get_data(as_text=True), "version")
    assert (
        carer.post(url, data={"text": "Carer's words", "version": carer_version}).status_code == 302
    )
    clash = patient.post(url, data={"text": "Patient's words", "version": patient_version})
    assert clash.status_code == 409
    body = clash.get_data(as_text=True)
    assert "Someone else changed this while you were editing" in body
    assert "Carer&#39;s words" in body
    assert re.search(r">\s*Patient&#39;s words</textarea>", body)  # still in the form
    new_version = hidden_value(body, "version")
    assert new_version == str(int(patient_version) + 1)
    assert (
        patient.post(url, data={"text": "Patient's words", "version": new_version}).status_code
        == 302
    )


def test_two_first_texts_for_the_same_section_do_not_overwrite(app, db, cast):
    url = f"/patients/{cast.a.id}/about-me/home"
    patient = second_client(app, cast.users["owner"])
    carer = second_client(app, cast.users["carer_contribute"])
    assert hidden_value(patient.get(url).get_data(as_text=True), "version") == ""
    assert hidden_value(carer.get(url).get_data(as_text=True), "version") == ""
    assert carer.post(url, data={"text": "Stairs are hard", "version": ""}).status_code == 302
    clash = patient.post(url, data={"text": "I use a stairlift", "version": ""})
    assert clash.status_code == 409
    assert "Stairs are hard" in clash.get_data(as_text=True)
    assert _section(db, cast, "home").text == "Stairs are hard"


@pytest.mark.real_commits  # the other save must survive this request's rollback
def test_a_race_on_the_first_text_is_a_conflict(app, db, cast, login, monkeypatch):
    """The other save lands between this request's read and its insert."""
    from portal.needs import services

    real_item_for = services.item_for
    calls = []

    def item_for_after_other_save(part, plan_id, code):
        item = real_item_for(part, plan_id, code)
        if not calls:
            calls.append(1)
            with app.app_context():
                from portal.extensions import db as other_db

                other_db.session.add(NeedsSection(plan_id=plan_id, domain=code, text="Saved first"))
                other_db.session.commit()
        return item

    monkeypatch.setattr(services, "item_for", item_for_after_other_save)
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/about-me/home", data={"text": "Saved second", "version": ""}
    )
    assert response.status_code == 409
    assert "Saved first" in response.get_data(as_text=True)
    assert _section(db, cast, "home").text == "Saved first"


# Bad input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write something before saving"),
        ("  \r\n  ", "Write something before saving"),
        ("x" * 2001, "This must be 2000 characters or fewer"),
    ],
)
@pytest.mark.parametrize(
    "url", ["/patients/{a}/about-me/social", "/patients/{a}/wishes/end_of_life"]
)
def test_bad_input_is_explained(db, cast, login, url, text, message):
    response = login(cast.users["owner"]).post(
        url.format(a=cast.a.id), data={"text": text, "version": ""}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "There is a problem" in body and message in body
    if text.strip():
        assert text in body
    assert _section(db, cast, "social") is None
    assert _wish(db, cast, "end_of_life") is None


def test_hostile_html_is_shown_as_text(db, cast, login):
    client = login(cast.users["owner"])
    hostile = "<script>alert(1)</script><b onclick=x>bold</b>"
    client.post(f"/patients/{cast.a.id}/wishes/things_to_avoid", data={"text": hostile})
    assert _wish(db, cast, "things_to_avoid").text == hostile
    for url in (f"/patients/{cast.a.id}/plan", f"/patients/{cast.a.id}/wishes/things_to_avoid"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in body and "<b onclick" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("url", ["/patients/{a}/about-me/hobbies", "/patients/{a}/wishes/pets"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_section_is_404(cast, login, url, method):
    client = login(cast.users["owner"])
    response = client.open(url.format(a=cast.a.id), method=method, data={"text": "x"})
    assert response.status_code == 404


def test_another_patients_section_cannot_be_reached(db, cast, login):
    """Sections are found by the patient in the URL, so there is no id to forge."""
    client = login(cast.users["owner"])
    url = f"/patients/{cast.b.id}/about-me/health"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"text": "Not mine"}).status_code == 404
    b_section = db.session.scalar(
        select(NeedsSection).where(NeedsSection.plan_id == cast.plan_b.id)
    )
    assert b_section.text == "My breathing"


# Endpoint x role matrix

# One route with a saved text (health) and one with nothing written yet (end of life).
ROUTES = [
    (
        "/patients/{a}/about-me/health",
        "whole-person",
        {"text": "New words", "version": "1", **IN_CLINIC},
    ),
    ("/patients/{a}/wishes/end_of_life", "wishes", {"text": "New words", **IN_CLINIC}),
]


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("route", "anchor", "data"), ROUTES)
def test_needs_and_wishes_routes_access(cast, request_as, who, method, route, anchor, data):
    response = request_as(cast.users[who], method, route.format(a=cast.a.id), data=data)
    check_matrix_response(
        response, who, method, f"/patients/{cast.a.id}/plan#{anchor}", allowed=WRITERS
    )
