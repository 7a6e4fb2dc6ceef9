"""Who has looked at my plan: the patient's audit trail in plain words."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from portal.models import AuditEvent, Role
from tests.factories import make_user


def _event(db, patient, action, actor=None, at=None, detail=""):
    db.session.add(
        AuditEvent(
            patient_id=patient.id,
            actor_id=actor.id if actor else None,
            action=action,
            detail=detail,
            occurred_at=at or datetime.now(UTC),
        )
    )


def _rows(body: str) -> list[str]:
    table = body.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return table.split('<tr class="nhsuk-table__row">')[1:]


def test_activity_lists_who_did_what_and_when_newest_first(db, cast, login):
    start = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    nurse = cast.users["professional"]
    nurse.job_title = "Practice nurse"
    _event(db, cast.a, "plan.view", cast.users["carer_view"], start)
    _event(db, cast.a, "pdf.plan", nurse, start + timedelta(hours=1))
    _event(db, cast.a, "goal.edit", cast.users["owner"], start + timedelta(hours=2))
    _event(db, cast.a, "crisis.view", cast.users["carer_crisis"], start + timedelta(hours=3))
    _event(db, cast.a, "mystery.thing", None, start + timedelta(hours=4))
    _event(db, cast.a, "letters.view", nurse, start + timedelta(hours=5))
    _event(db, cast.b, "plan.view", cast.users["other_patient"], start)  # someone else's
    db.session.commit()

    response = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/activity")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    rows = _rows(body)
    assert len(rows) == 6
    expected = [
        ("Nurse Named", "Looked at part of the plan"),  # unknown view code: generic phrase
        ("The portal", "Did something else with the plan"),
        ("Carer crisis", "Looked at the crisis plan"),
        ("You", "Changed a goal"),
        ("Nurse Named", "Downloaded the care plan"),
        ("Carer view", "Looked at the care plan"),
    ]
    for row, (who, what) in zip(rows, expected, strict=True):
        assert who in row and what in row
    assert "Practice nurse" in rows[0]
    assert "Carer" in rows[5]
    assert "mystery.thing" not in body and "plan.view" not in body
    # Local time (Europe/London, summer time) in the reader's locale.
    shown = format_datetime(start, "medium", tzinfo=ZoneInfo("Europe/London"), locale="en_GB")
    assert "13:00:00" in shown
    assert shown in rows[5]
    assert "6 entries" in body


def test_viewing_the_plan_shows_up_for_the_patient(db, cast, login, app):
    from tests.conftest import sign_in

    carer = app.test_client()
    sign_in(carer, cast.users["carer_view"])
    carer.get(f"/patients/{cast.a.id}/plan")
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/activity").get_data(as_text=True)
    row = _rows(body)[0]
    assert "Carer view" in row and "Looked at the care plan" in row


def test_reading_the_activity_page_is_not_itself_recorded(db, cast, login):
    client = login(cast.users["owner"])
    for _ in range(2):
        assert client.get(f"/patients/{cast.a.id}/activity").status_code == 200
    assert db.session.query(AuditEvent).count() == 0
    body = client.get(f"/patients/{cast.a.id}/activity").get_data(as_text=True)
    assert "Nobody has looked at your plan yet." in body


def test_activity_is_paginated_25_a_page(db, cast, login):
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    for i in range(60):  # a day apart: repeats on one day would make one row
        _event(db, cast.a, "plan.view", cast.users["carer_view"], start + timedelta(days=i))
    db.session.commit()
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/activity"

    def page(query=""):
        return client.get(url + query).get_data(as_text=True)

    first = page()
    assert len(_rows(first)) == 25
    assert "page 1 of 3" in first
    assert 'class="nhsuk-pagination nhsuk-pagination--numbered"' in first
    assert f'href="{url}?page=2"' in first and 'rel="next"' in first
    assert 'rel="prev"' not in first
    assert re.search(r'aria-label="Page 1" aria-current="page"', first)
    newest = format_datetime(
        start + timedelta(days=59), "medium", tzinfo=ZoneInfo("Europe/London"), locale="en_GB"
    )
    assert newest in _rows(first)[0]

    second = page("?page=2")
    assert len(_rows(second)) == 25 and "page 2 of 3" in second
    assert 'rel="prev"' in second and 'rel="next"' in second
    assert not set(_rows(first)) & set(_rows(second))

    last = page("?page=3")
    assert len(_rows(last)) == 10 and 'rel="next"' not in last
    oldest = format_datetime(start, "medium", tzinfo=ZoneInfo("Europe/London"), locale="en_GB")
    assert oldest in _rows(last)[-1]

    assert "page 3 of 3" in page("?page=99")  # past the end: the last page
    assert "page 1 of 3" in page("?page=abc")  # nonsense: the first page
    assert "page 1 of 3" in page("?page=-4")


def test_many_pages_show_first_last_and_neighbours():
    from portal.pagination import page_numbers

    assert page_numbers(1, 1) == [1]
    assert page_numbers(1, 3) == [1, 2, 3]
    assert page_numbers(5, 10) == [1, None, 4, 5, 6, None, 10]
    assert page_numbers(10, 10) == [1, None, 9, 10]


def test_activity_query_count_does_not_grow_with_events_or_people(db, cast, login, count_queries):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/activity"
    for i in range(3):
        _event(db, cast.a, "plan.view", cast.users["carer_view"], detail=str(i))
    db.session.commit()
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for i in range(40):
        _event(db, cast.a, "crisis.view", make_user(Role.CARER, display_name=f"Visitor {i}"))
    db.session.commit()
    with count_queries() as many:
        body = client.get(url).get_data(as_text=True)
    assert "Visitor 39" in body
    assert many.count == few.count
    assert many.count <= 6, many.statements


def test_actor_names_are_shown_as_text(db, cast, login):
    visitor = make_user(Role.CARER, display_name="<img src=x onerror=alert(1)>")
    _event(db, cast.a, "plan.view", visitor)
    db.session.commit()
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/activity").get_data(as_text=True)
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_plan_page_links_the_owner_to_sharing_and_activity(db, cast, login):
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert f'href="/patients/{cast.a.id}/sharing"' in body
    assert f'href="/patients/{cast.a.id}/activity"' in body
    carer_view = login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/plan")
    body = carer_view.get_data(as_text=True)
    assert "/sharing" not in body and "/activity" not in body


def test_repeated_views_make_one_row_and_other_people_can_be_shown_alone(db, cast, login):
    owner, son = cast.users["owner"], cast.users["carer_view"]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for minute in range(9):
        _event(db, cast.a, "plan.view", owner, start + timedelta(minutes=minute))
    _event(db, cast.a, "plan.view", son, start + timedelta(minutes=20))
    _event(db, cast.a, "plan.view", owner, start + timedelta(days=1))  # the next day: its own row
    db.session.commit()
    client = login(owner)
    url = f"/patients/{cast.a.id}/activity"
    rows = _rows(client.get(url).get_data(as_text=True))
    assert len(rows) == 3
    assert "You" in rows[0] and "times that day" not in rows[0]
    assert "Carer view" in rows[1]
    assert "You" in rows[2] and '9 times that day, first at <bdi dir="ltr">09:00</bdi>' in rows[2]

    body = client.get(url + "?others=1").get_data(as_text=True)
    assert "Showing only other people." in body
    rows = _rows(body)
    assert len(rows) == 1 and "Carer view" in rows[0]
    assert f'href="{url}"' in body  # back to everyone


def test_only_other_people_keeps_to_the_filter_across_pages(db, cast, login):
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    for i in range(30):
        _event(db, cast.a, "plan.view", cast.users["carer_view"], start + timedelta(days=i))
    db.session.commit()
    url = f"/patients/{cast.a.id}/activity"
    body = login(cast.users["owner"]).get(url + "?others=1").get_data(as_text=True)
    assert "?others=1&amp;page=2" in body or "?page=2&amp;others=1" in body
    empty = login(cast.users["other_patient"])
    assert empty.get(f"/patients/{cast.b.id}/activity?others=1").status_code == 200
