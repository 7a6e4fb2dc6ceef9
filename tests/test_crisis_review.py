"""A crisis plan is reviewed only when a professional says so, with the date and their name."""

from datetime import date, timedelta

from sqlalchemy import select

from portal.models import AuditEvent, CarePlan
from tests.support import as_date_boxes
from tests.test_meetings import meeting_payload

LONG_AGO = date(2025, 1, 6)


def _record(client, patient_id: int, **extra):
    data = meeting_payload(client, patient_id, **extra)
    return client.post(f"/patients/{patient_id}/review/record", data=as_date_boxes(data))


def test_recording_a_meeting_leaves_the_crisis_review_date_alone(db, cast, login):
    cast.plan_a.contingency_reviewed_on = LONG_AGO
    db.session.commit()
    client = login(cast.users["professional"])
    assert _record(client, cast.a.id).status_code == 302
    db.session.expire_all()
    plan = db.session.get(CarePlan, cast.plan_a.id)
    assert plan.last_review_date == date.today()
    assert (plan.contingency_reviewed_on, plan.contingency_reviewed_by_id) == (LONG_AGO, None)
    page = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert "6 January 2025" in page


def test_the_meeting_form_asks_whether_the_crisis_plan_was_reviewed(db, cast, login):
    client = login(cast.users["professional"])
    page = client.get(f"/patients/{cast.a.id}/review/record").get_data(as_text=True)
    assert 'name="crisis_reviewed"' in page
    assert "We went through the crisis plan together and it is up to date" in page


def test_saying_so_records_the_meeting_date_and_the_professionals_name(db, cast, login):
    held = date.today() - timedelta(days=2)
    client = login(cast.users["professional"])
    response = _record(client, cast.a.id, held_on=held.isoformat(), crisis_reviewed="y")
    assert response.status_code == 302
    db.session.expire_all()
    plan = db.session.get(CarePlan, cast.plan_a.id)
    assert plan.contingency_reviewed_on == held
    assert plan.contingency_reviewed_by_id == cast.users["professional"].id
    audited = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == cast.a.id)
    ).all()
    assert "contingency.review" in audited
    page = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert "Last reviewed by Nurse Named on" in page
