"""Recording a meeting: a later booking is kept, and the next review as an interval or a date."""

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from portal.meetings import services
from portal.models import AuditEvent, CarePlan, ReviewMeeting
from tests.support import as_date_boxes
from tests.test_meetings import meeting_payload


def _book(db, plan_id: int, day: date, at: time = time(10, 0)) -> ReviewMeeting:
    booked = ReviewMeeting(
        plan_id=plan_id,
        status="scheduled",
        scheduled_for=services.to_utc(day, at),
        location="Room 3",
    )
    db.session.add(booked)
    db.session.commit()
    return booked


def test_a_future_booking_survives_recording_an_earlier_meeting(db, cast, login, app):
    with app.test_request_context():
        future = _book(db, cast.plan_a.id, date.today() + timedelta(days=30))
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    meetings = db.session.scalars(select(ReviewMeeting).order_by(ReviewMeeting.id)).all()
    assert len(meetings) == 2
    kept, held = meetings
    assert kept.id == future.id and kept.status == "scheduled" and kept.location == "Room 3"
    assert held.status == "held" and held.held_on == date.today()
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "Room 3" in body  # still shown as the next meeting


def test_a_booking_for_the_day_held_is_the_meeting_recorded(db, cast, login, app):
    with app.test_request_context():
        today = _book(db, cast.plan_a.id, date.today(), time(0, 1))
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    meeting = db.session.scalars(select(ReviewMeeting)).one()
    assert meeting.id == today.id and meeting.status == "held"


def test_the_next_review_can_be_set_as_a_date(db, cast, login):
    client = login(cast.users["professional"])
    chosen = date.today() + timedelta(days=100)
    data = meeting_payload(client, cast.a.id, next_review_on=chosen.isoformat())
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    assert db.session.get(CarePlan, cast.plan_a.id).next_review_date == chosen
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "meeting.record"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"next_review_on": "today"}, "The next review must be after the meeting"),
        ({"next_review_on": "later"}, "The next review must be within 2 years of the meeting"),
        ({"next_review_on": "2027-02-30"}, "next review (optional) must be a real date"),
        (
            {"next_review_on": "soon", "review_interval": "6"},
            "Choose when the next review is due, or give its date, not both",
        ),
    ],
)
def test_a_next_review_date_that_cannot_be_is_refused_with_a_reason(
    db, cast, login, extra, message
):
    words = {
        "today": date.today().isoformat(),
        "later": (date.today() + timedelta(days=800)).isoformat(),
        "soon": (date.today() + timedelta(days=60)).isoformat(),
    }
    extra = {k: words.get(v, v) for k, v in extra.items()}
    client = login(cast.users["professional"])
    before = db.session.get(CarePlan, cast.plan_a.id).next_review_date
    data = meeting_payload(client, cast.a.id, **extra)
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body and 'href="#next_review_on-' in body
    assert db.session.get(CarePlan, cast.plan_a.id).next_review_date == before
    assert not db.session.scalars(select(ReviewMeeting)).all()


def test_booking_held_reads_the_day_in_uk_time(db, cast, app):
    with app.test_request_context():
        # 00:30 on 1 July in London is 23:30 on 30 June in UTC.
        late = ReviewMeeting(
            plan_id=cast.plan_a.id,
            status="scheduled",
            scheduled_for=services.to_utc(date(2026, 7, 1), time(0, 30)),
        )
        db.session.add(late)
        db.session.flush()
        assert services.booking_held(cast.plan_a.id, date(2026, 6, 30)) is None
        assert services.booking_held(cast.plan_a.id, date(2026, 7, 1)).id == late.id


def test_how_the_meeting_was_held_and_an_interpreter_are_recorded(db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, held_by="phone", interpreter_used="y")
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    meeting = db.session.scalars(select(ReviewMeeting)).one()
    assert meeting.held_by == "phone" and meeting.interpreter_used is True


def test_a_forged_way_of_holding_the_meeting_is_refused(db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, held_by="carrier pigeon")
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 200
    assert "Choose how the meeting was held" in response.text
    assert not db.session.scalars(select(ReviewMeeting)).all()


def test_did_not_attend_closes_the_booking_and_leaves_the_plan_due(db, cast, login, app):
    with app.test_request_context():
        booked = _book(db, cast.plan_a.id, date.today())
    before = db.session.get(CarePlan, cast.plan_a.id).next_review_date
    client = login(cast.users["professional"])
    body = client.get(f"/patients/{cast.a.id}/plan").text
    assert f'action="/patients/{cast.a.id}/meetings/did-not-attend"' in body
    response = client.post(f"/patients/{cast.a.id}/meetings/did-not-attend")
    assert response.status_code == 302
    meeting = db.session.get(ReviewMeeting, booked.id)
    assert meeting.status == "did_not_attend" and meeting.held_on == date.today()
    assert db.session.get(CarePlan, cast.plan_a.id).next_review_date == before
    assert "meeting.did_not_attend" in db.session.scalars(select(AuditEvent.action)).all()
    assert "did-not-attend" not in client.get(f"/patients/{cast.a.id}/plan").text
    client.post(f"/patients/{cast.a.id}/meetings/did-not-attend")  # nothing booked now
    assert db.session.get(ReviewMeeting, booked.id).status == "did_not_attend"


def test_the_patient_cannot_record_their_own_did_not_attend(db, cast, login, app):
    with app.test_request_context():
        booked = _book(db, cast.plan_a.id, date.today())
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").text
    assert "did-not-attend" not in body
    assert (
        login(cast.users["owner"])
        .post(f"/patients/{cast.a.id}/meetings/did-not-attend")
        .status_code
        == 404
    )
    assert db.session.get(ReviewMeeting, booked.id).status == "scheduled"
