"""Out of hours: 999 and NHS 111 first; a step rings a chosen contact, or NHS 111 when closed."""

from datetime import datetime, time

import pytest
from sqlalchemy import select

from portal.contingency import services
from portal.models import Contact, CrisisStep


def _page(client, patient) -> str:
    return client.get(f"/patients/{patient.id}/crisis").get_data(as_text=True)


@pytest.fixture
def practice(db, cast):
    """Patient A's agreed practice, open weekdays 08:00 to 18:30, rung by her agreed red step."""
    contact = Contact(
        plan_id=cast.plan_a.id,
        kind="practice",
        name="Riverside Practice",
        phone="0113 496 0000",
        opens_at=time(8, 0),
        closes_at=time(18, 30),
        weekdays_only=True,
        pending_review=False,
    )
    db.session.add(contact)
    db.session.flush()
    step = db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == cast.plan_a.id)).one()
    step.call_contact_id = contact.id
    step.pending_review = False
    db.session.commit()
    return contact


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 12, 7, 10, 0), True),  # Monday morning
        (datetime(2026, 12, 7, 18, 30), False),  # closing time
        (datetime(2026, 12, 8, 2, 0), False),  # 2 a.m.
        (datetime(2026, 12, 12, 10, 0), False),  # Saturday
    ],
)
def test_opening_hours(practice, moment, is_open):
    assert practice.is_open(moment) is is_open


def test_999_and_111_come_before_every_personal_contact(cast, practice, login):
    page = _page(login(cast.users["carer_crisis"]), cast.a)
    call_list = page[page.index('id="who-to-call"') :]
    assert call_list.index('href="tel:999"') < call_list.index('href="tel:111"')
    assert call_list.index('href="tel:111"') < call_list.index('href="tel:+441134960000"')


def test_a_step_rings_its_chosen_contact_while_open(cast, practice, login, monkeypatch):
    monkeypatch.setattr(services, "practice_now", lambda: datetime(2026, 12, 7, 10, 0))
    page = _page(login(cast.users["carer_crisis"]), cast.a)
    step = page[page.index("portal-crisis-step") : page.index('id="who-to-call"')]
    assert 'href="tel:+441134960000"' in step and "Call Riverside Practice" in step
    assert "Open Monday to Friday" in step and "is closed now" not in step


def test_at_2am_the_step_says_the_contact_is_closed_and_offers_111(
    cast, practice, login, monkeypatch
):
    monkeypatch.setattr(services, "practice_now", lambda: datetime(2026, 12, 8, 2, 0))
    page = _page(login(cast.users["carer_crisis"]), cast.a)
    step = page[page.index("portal-crisis-step") : page.index('id="who-to-call"')]
    assert "Riverside Practice is closed now." in step
    assert 'href="tel:111"' in step and 'href="tel:+441134960000"' not in step


def test_the_step_form_offers_only_this_plans_contacts(db, cast, practice, login):
    client = login(cast.users["owner"])
    other = Contact(plan_id=cast.plan_b.id, kind="other", name="Not hers", phone="111")
    db.session.add(other)
    db.session.commit()
    form = client.get(f"/patients/{cast.a.id}/contingency/steps/new").get_data(as_text=True)
    assert f'value="contact-{practice.id}"' in form and f'value="contact-{other.id}"' not in form
    step = {"level": "amber", "signs": "Cough", "actions": "Ring", "call": f"contact-{other.id}"}
    forged = client.post(f"/patients/{cast.a.id}/contingency/steps/new", data=step)
    assert forged.status_code == 200 and "Choose who to call from the list" in forged.text
    step["call"] = "111"
    assert client.post(f"/patients/{cast.a.id}/contingency/steps/new", data=step).status_code == 302
    saved = db.session.scalars(select(CrisisStep).where(CrisisStep.signs == "Cough")).one()
    assert (saved.call_service, saved.call_contact_id) == ("111", None)


@pytest.mark.parametrize(
    ("opens", "closes", "message"),
    [
        ("08:00", "", "Enter both the opening and the closing time, or neither"),
        ("18:00", "08:00", "The closing time must be later than the opening time"),
        ("8 o'clock", "18:00", "Enter a time like 08:00 or 18:30"),
    ],
)
def test_contact_hours_are_checked(cast, login, opens, closes, message):
    data = {"kind": "practice", "name": "Surgery", "phone": "0113 496 0000"}
    data |= {"opens_at": opens, "closes_at": closes}
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/contacts/new", data=data
    )
    assert response.status_code == 200 and message in response.text


def test_contact_hours_are_saved(db, cast, login):
    data = {"kind": "practice", "name": "Surgery", "phone": "0113 496 0000"}
    data |= {"opens_at": "08:00", "closes_at": "18:30", "weekdays_only": "y"}
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/contacts/new", data=data
    )
    assert response.status_code == 302
    saved = db.session.scalars(select(Contact).where(Contact.name == "Surgery")).one()
    assert (saved.opens_at, saved.closes_at, saved.weekdays_only) == (time(8), time(18, 30), True)


def test_the_crisis_sheet_prints_the_hours_and_what_to_do_when_closed(app, cast, practice):
    from flask_babel import force_locale

    from portal.contingency.services import load_contingency
    from portal.pdf import services as pdf

    with app.test_request_context(), force_locale("en_GB"):
        html = pdf.crisis_html(load_contingency(cast.a.id))
    contacts = html[html.index("pdf-contacts") :]
    assert contacts.index("999") < contacts.index("NHS 111") < contacts.index("Riverside Practice")
    step = html[html.index("sheet-step") : html.index("pdf-contacts")]
    assert '<strong>Riverside Practice</strong> <span class="pdf-nowrap"><bdi dir="ltr">' in step
    assert "Open Monday to Friday, " in step and "When they are closed, call NHS 111." in step


def test_the_editing_overview_says_who_each_step_rings(cast, practice, login):
    page = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/contingency").text
    assert 'Riverside Practice <bdi dir="ltr">0113 496 0000</bdi>' in page
    assert "apart from the agreed plan, as not yet checked by the care team" in page
