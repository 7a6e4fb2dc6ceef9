"""A professional's contact details for patients, and a named contact card with no blank rows."""

import pytest
from sqlalchemy import select

from portal.models import AuditEvent

URL = "/account/contact-details"


def test_a_professional_sets_their_contact_details_and_patients_see_them(db, cast, login):
    nurse = cast.users["professional"]
    client = login(nurse)
    assert client.get(URL).status_code == 200
    response = client.post(
        URL,
        data={
            "phone": " 0113 496 0000 ",
            "availability": "Tuesdays and Thursdays",
            "team_contact": "Practice nurses, 0113 496 0001",
        },
    )
    assert response.status_code == 302
    db.session.refresh(nurse)
    assert nurse.phone == "0113 496 0000" and nurse.team_contact.startswith("Practice nurses")
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "account.contact_details_changed")
    )
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    card = body.split('id="named-contact"', 1)[1].split("</dl>", 1)[0]
    assert 'href="tel:+441134960000"' in card
    assert "Tuesdays and Thursdays" in card
    assert "When they are away" in card and "Practice nurses, 0113 496 0001" in card
    team = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/care-team")
    assert "Practice nurses, 0113 496 0001" in team.get_data(as_text=True)


def test_the_named_contact_card_has_no_blank_rows(db, cast, login):
    nurse = cast.users["professional"]
    nurse.phone = nurse.availability = nurse.team_contact = nurse.job_title = None
    db.session.commit()
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    card = body.split('id="named-contact"', 1)[1].split("</dl>", 1)[0]
    assert '<dd class="nhsuk-summary-list__value"></dd>' not in card
    assert "Phone" not in card and "When you can reach them" not in card and "Role" not in card
    assert "Nurse Named" in card


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"phone": "call me maybe"}, "phone number"),
        ({"phone": "0" * 60}, "Phone number must be"),
        ({"availability": "x" * 201}, "When patients can reach you must be 200 characters"),
        ({"team_contact": "x" * 201}, "Who to contact must be 200 characters"),
    ],
)
def test_contact_details_that_cannot_be_are_refused(db, cast, login, data, message):
    response = login(cast.users["professional"]).post(URL, data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_clearing_a_detail_removes_it(db, cast, login):
    nurse = cast.users["professional"]
    nurse.phone = "0113 496 0000"
    db.session.commit()
    login(nurse).post(URL, data={"phone": "", "availability": "", "team_contact": ""})
    db.session.refresh(nurse)
    assert nurse.phone is None


@pytest.mark.parametrize("who", ["owner", "carer_view", "commissioner", "admin"])
def test_only_professionals_have_contact_details_for_patients(db, cast, request_as, who):
    assert request_as(cast.users[who], "GET", URL).status_code == 404
    assert (
        request_as(cast.users[who], "POST", URL, data={"phone": "0113 496 0000"}).status_code == 404
    )


def test_the_account_page_shows_them_to_the_professional(db, cast, login):
    nurse = cast.users["professional"]
    body = login(nurse).get("/account/").get_data(as_text=True)
    assert "Contact details for patients" in body and "None given" in body
    body = login(cast.users["owner"]).get("/account/").get_data(as_text=True)
    assert "Contact details for patients" not in body
