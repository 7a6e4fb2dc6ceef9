"""A professional records consent given in person or on paper, the format the patient wants
and a paper copy handed over: for patients who never go online."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, CarePlan, ConsentRecord, Patient
from tests.support import as_date_boxes

URL = "/patients/{a}/plan/arrangements"


def _actions(db, patient_id):
    return db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == patient_id)
    ).all()


def test_consent_given_in_person_is_recorded_with_who_when_and_how(db, cast, login):
    nurse = cast.users["professional"]
    cast.a.care_team_consent = None
    db.session.commit()
    url = URL.format(a=cast.a.id)
    client = login(nurse)
    assert client.get(url).status_code == 200
    response = client.post(
        url, data={"decision": "share", "method": "in_person", "preferred_format": "paper"}
    )
    assert response.status_code == 302
    record = db.session.scalars(select(ConsentRecord)).one()
    assert record.share_with_care_team is True and record.method == "in_person"
    assert record.recorded_by_id == nurse.id and record.created_at is not None
    assert db.session.get(Patient, cast.a.id).care_team_consent is True
    assert db.session.get(CarePlan, cast.plan_a.id).preferred_format == "paper"
    assert {"consent.given", "plan.preferred_format"} <= set(_actions(db, cast.a.id))


def test_an_objection_on_paper_closes_the_plan_to_the_practice(db, cast, login):
    client = login(cast.users["professional"])
    url = URL.format(a=cast.a.id)
    response = client.post(
        url, data={"decision": "object", "method": "paper", "preferred_format": "electronic"}
    )
    assert response.headers["Location"].endswith("/worklist")
    assert db.session.get(Patient, cast.a.id).care_team_consent is False
    assert db.session.scalars(select(ConsentRecord.method)).one() == "paper"
    assert client.get(f"/patients/{cast.a.id}/plan").status_code == 404
    assert client.get(url).status_code == 404


def test_a_paper_copy_handed_over_is_recorded(db, cast, login):
    client = login(cast.users["professional"])
    day = date.today() - timedelta(days=1)
    client.post(
        URL.format(a=cast.a.id),
        data=as_date_boxes({"preferred_format": "paper", "paper_copy_given_on": day.isoformat()}),
    )
    assert db.session.get(CarePlan, cast.plan_a.id).paper_copy_given_on == day
    assert "plan.paper_copy" in _actions(db, cast.a.id)
    assert not db.session.scalars(select(ConsentRecord)).all()  # "no change" to consent


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"decision": "share", "preferred_format": "paper"}, "Choose how the patient told you"),
        ({"decision": "share", "method": "online", "preferred_format": "paper"}, "Choose how"),
        ({"preferred_format": "fax"}, "Choose how they would like their plan"),
        ({"preferred_format": "paper", "paper_copy_given_on": "2026-02-30"}, "must be a real date"),
        (
            {"preferred_format": "paper", "paper_copy_given_on": "2999-01-01"},
            "today or in the past",
        ),
        (
            {"decision": "maybe", "method": "paper", "preferred_format": "paper"},
            "There is a problem",
        ),
    ],
)
def test_what_cannot_be_is_refused_and_nothing_saved(db, cast, login, data, message):
    response = login(cast.users["professional"]).post(
        URL.format(a=cast.a.id), data=as_date_boxes(data)
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert not db.session.scalars(select(ConsentRecord)).all()
    assert db.session.get(CarePlan, cast.plan_a.id).preferred_format == "electronic"


def test_the_plan_page_links_to_it_for_the_professional_only(db, cast, login):
    link = f'href="/patients/{cast.a.id}/plan/arrangements"'
    assert link in login(cast.users["professional"]).get(f"/patients/{cast.a.id}/plan").text
    assert link not in login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").text


def test_the_patients_consent_history_shows_the_professional_who_recorded_it(db, cast, login):
    cast.a.care_team_consent = None
    db.session.commit()
    login(cast.users["professional"]).post(
        URL.format(a=cast.a.id),
        data={"decision": "share", "method": "paper", "preferred_format": "electronic"},
    )
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/consent").text
    assert "Nurse Named" in body and "Share with my care team" in body
