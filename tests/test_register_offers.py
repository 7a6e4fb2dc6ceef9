"""The offer of a care plan, recorded for each person on the register, and corrections."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, CarePlan, PlanOffer, Role
from tests.factories import make_org, make_patient, make_user


@pytest.fixture
def setting(db):
    org = make_org()
    admin = make_user(Role.PRACTICE_ADMIN, org)
    nurse = make_user(Role.PROFESSIONAL, org)
    person = make_patient(org, user=None)
    db.session.commit()
    return org, admin, nurse, person


def _day(field: str, day: date) -> dict:
    return {f"{field}-day": day.day, f"{field}-month": day.month, f"{field}-year": day.year}


def offer(client, person, method="letter", day=None):
    data = {"method": method, **_day("offered_on", day or date.today())}
    return client.post(f"/register/patients/{person.id}/offer", data=data, follow_redirects=True)


def answer(client, person, outcome, reason="", day=None):
    data = {"outcome": outcome, "reason": reason, **_day("outcome_on", day or date.today())}
    return client.post(f"/register/patients/{person.id}/answer", data=data, follow_redirects=True)


def page(client, person) -> str:
    return client.get(f"/register/patients/{person.id}").get_data(as_text=True)


def actions(db, person) -> list[str]:
    return db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == person.id).order_by(AuditEvent.id)
    ).all()


def test_not_yet_offered_then_offered_then_accepted_starts_a_plan(db, login, setting):
    _org, admin, nurse, person = setting
    client = login(admin)
    assert "Not yet offered" in page(client, person)
    assert "has been recorded" in offer(client, person, "phone").get_data(as_text=True)
    assert "Offered, waiting for an answer" in page(client, person)
    saved = db.session.scalars(select(PlanOffer)).one()
    assert (saved.method, saved.offered_by_id, saved.outcome) == ("phone", admin.id, None)
    # a second offer while one waits is refused
    assert "already waiting" in offer(client, person).get_data(as_text=True)

    answer(client, person, "accepted")
    assert "Accepted" in page(client, person)
    assert db.session.scalars(select(CarePlan).where(CarePlan.patient_id == person.id)).one()
    # the professional never meets "Page not found" on the accepted patient
    assert login(nurse).get(f"/patients/{person.id}/plan").status_code == 200
    assert {"offer.recorded", "offer.outcome", "plan.create"} <= set(actions(db, person))


def test_declined_with_a_reason_is_offered_again_a_year_later(db, login, setting):
    _org, admin, _nurse, person = setting
    client = login(admin)
    offered = date.today() - timedelta(days=30)
    offer(client, person, "face_to_face", day=offered)
    answer(client, person, "declined", reason="<b>Not now</b>", day=offered)
    text = page(client, person)
    assert "Declined" in text and "&lt;b&gt;Not now&lt;/b&gt;" in text
    again = offered + timedelta(days=365)
    from flask_babel import format_date

    with client.application.test_request_context():
        assert f"Offer again from {format_date(again, 'long')}" in text
    assert db.session.scalars(select(CarePlan)).all() == []
    offer(client, person, "letter")
    assert len(db.session.scalars(select(PlanOffer)).all()) == 2


def test_no_response_is_recorded_and_no_answer_without_an_offer(db, login, setting):
    _org, admin, _nurse, person = setting
    client = login(admin)
    assert "no offer waiting" in answer(client, person, "accepted").get_data(as_text=True)
    offer(client, person)
    answer(client, person, "no_response")
    assert "No response" in page(client, person)


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("offer", {"method": "pigeon"}, "Select how the care plan was offered"),
        (
            "offer",
            {
                "method": "letter",
                "offered_on-year": "2999",
                "offered_on-month": "1",
                "offered_on-day": "1",
            },
            "The date must be today or in the past",
        ),
        ("answer", {"outcome": "maybe"}, "Select the patient"),
    ],
)
def test_bad_offers_are_refused_with_a_message(db, login, setting, url, data, message):
    _org, admin, _nurse, person = setting
    client = login(admin)
    if url == "answer":
        offer(client, person)
    response = client.post(f"/register/patients/{person.id}/{url}", data=data)
    assert message in response.get_data(as_text=True).replace("&#39;", "'")


def test_staff_correct_details_and_the_patient_sees_it(db, login, setting):
    org, _admin, nurse, _person = setting
    owner = make_user(Role.PATIENT)
    person = make_patient(org, user=owner)
    db.session.commit()
    client = login(nurse)
    assert client.get(f"/register/patients/{person.id}/details").status_code == 200
    data = {
        **_day("initial_assessment_date", date(2026, 1, 5)),
        "conditions": ["52448006"],
        "preferred_language": "cy",
        "interpreter_needed": "y",
        "communication_needs": "Large print",
        "ethnicity_category": "white_irish",
    }
    response = client.post(
        f"/register/patients/{person.id}/details", data=data, follow_redirects=True
    )
    assert "The details have been corrected." in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.initial_assessment_date == date(2026, 1, 5)
    assert [c.code for c in person.conditions] == ["52448006"]
    assert (person.preferred_language, person.interpreter_needed) == ("cy", True)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "register.details_corrected")
    ).one()
    assert event.actor_id == nurse.id and "conditions" in event.detail
    assert "Large print" not in event.detail  # names of fields, never their content
    activity = login(owner).get(f"/patients/{person.id}/activity").get_data(as_text=True)
    assert "Corrected your details" in activity


def test_a_correction_with_a_foreign_language_choice_is_refused(db, login, setting):
    _org, admin, _nurse, person = setting
    data = {"conditions": ["73211009"], "preferred_language": "xx", "ethnicity_category": "other"}
    response = login(admin).post(f"/register/patients/{person.id}/details", data=data)
    assert "Select a language from the list" in response.get_data(as_text=True)


def test_the_plan_of_a_patient_who_left_the_register_can_be_read_but_not_changed(db, cast, login):
    from datetime import date

    from sqlalchemy import func, select

    from portal.models import Goal, RegisterEntry

    def goal_count():
        return db.session.scalar(select(func.count()).select_from(Goal))

    db.session.add(
        RegisterEntry(patient_id=cast.a.id, registered_on=date(2020, 1, 1), left_on=date.today())
    )
    db.session.commit()
    goals = goal_count()
    for who in ("owner", "professional"):
        client = login(cast.users[who])
        assert client.get(f"/patients/{cast.a.id}/plan").status_code == 200
        answer = client.post(
            f"/patients/{cast.a.id}/goals/new",
            data={"title": "Walk", "why_it_matters": "x", "version": "0"},
        )
        assert answer.status_code == 423
        assert "left the practice" in answer.get_data(as_text=True)
        # Nor is any section written or a goal changed, with the patient or not.
        goal = db.session.scalars(select(Goal).where(Goal.plan_id == cast.plan_a.id)).first()
        for url, data in (
            (f"/patients/{cast.a.id}/goals/{goal.id}/edit", {"title": "Run", "version": "1"}),
            (f"/patients/{cast.a.id}/about-me/family", {"text": "Left", "version": ""}),
            (f"/patients/{cast.a.id}/contingency/steps/new", {"signs": "Left"}),
        ):
            extra = {"recorded_as": "agreed", "read_back": "confirm", "patient_agrees": "y"}
            assert client.post(url, data={**data, **extra}).status_code == 423, url
    assert goal_count() == goals


# Links and forms that change a plan (the pages they open answer 423 to a leaver's plan).
EDITS = re.compile(
    r'(?:href|action)="[^"]*/patients/\d+/(?:goals/new|goals/\d+/(?:edit|withdraw|keep)|'
    r"about-me/|wishes/|contingency|care-team/(?:new|\d+)|preparation|crisis-changes|"
    r'meetings/(?:review|schedule|did-not-attend))[^"]*"'
)
PLAN_PAGES = ("plan", "crisis", "crisis/easy-read", "care-team")


def _edits(client, patient_id):
    found = {}
    for page in PLAN_PAGES:
        response = client.get(f"/patients/{patient_id}/{page}")
        assert response.status_code == 200, page
        found[page] = (EDITS.findall(response.get_data(as_text=True)), response)
    return found


def test_a_leavers_plan_pages_offer_no_way_to_change_it_and_say_why(db, cast, login):
    from datetime import date

    from portal.models import RegisterEntry

    for who in ("owner", "professional"):  # on the register: the plan page offers changes
        found = _edits(login(cast.users[who]), cast.a.id)
        assert found["plan"][0], who
        assert "can no longer be changed" not in found["plan"][1].get_data(as_text=True)
    db.session.add(
        RegisterEntry(patient_id=cast.a.id, registered_on=date(2020, 1, 1), left_on=date.today())
    )
    db.session.commit()
    notices = {
        "owner": "because you are no longer registered with the practice",
        "professional": "can no longer be changed: the patient has left the practice",
    }
    for who, notice in notices.items():
        client = login(cast.users[who])
        for page, (edits, response) in _edits(client, cast.a.id).items():
            assert edits == [], (who, page)
            assert notice in response.get_data(as_text=True), (who, page)
        # the pages behind those links refuse, writing a section included
        assert client.get(f"/patients/{cast.a.id}/about-me/health").status_code == 423
        assert client.get(f"/patients/{cast.a.id}/goals/new").status_code == 423
        assert client.get(f"/patients/{cast.a.id}/contingency").status_code == 423
