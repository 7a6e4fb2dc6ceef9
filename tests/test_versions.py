"""Agreed versions of the plan: snapshots, their immutability, differences, history pages."""

import json
from datetime import date

import pytest
from babel.dates import format_date as babel_date
from sqlalchemy import select

from portal.models import AuditEvent, CarePlan, Goal, PlanVersion
from portal.versions.services import (
    VersionImmutable,
    create_version,
    diff,
    snapshot,
)
from tests.test_meetings import ALL, READERS, agree_everything


def _by_section(changes):
    return {(c.section, c.key): c for c in changes}


# --- snapshots -------------------------------------------------------------------------------


def test_snapshot_holds_the_agreed_plan_and_is_plain_json(db, cast):
    plan = cast.plan_a
    plan.patient_feedback = "Listened to"
    plan.last_review_date = date(2026, 1, 5)
    plan.goals[0].target_date = date(2026, 6, 1)
    agree_everything(db, plan, cast.users["professional"])
    snap = json.loads(json.dumps(snapshot(plan)))  # survives a round trip unchanged
    assert snap == snapshot(plan)
    assert snap["needs"] == {"health": {"text": "My breathing", "language": None}}
    goal_ids = [str(g.id) for g in plan.goals]
    assert sorted(snap["goals"]) == sorted(goal_ids)
    assert snap["goals"][goal_ids[0]]["target_date"] == "2026-06-01"
    assert snap["goals"][goal_ids[0]]["status"] == "agreed"
    assert snap["wishes"]["place_of_care"]["text"] == "At home"
    step = next(iter(snap["crisis_steps"].values()))
    assert (step["level"], step["signs"], step["actions"]) == ("red", "Lips blue", "Ring 999")
    assert snap["usual_state"]["mobility"] == "Walks with a stick"
    assert next(iter(snap["contacts"].values()))["phone"] == "07700 900123"
    assert snap["named_contact"]["name"] == "Nurse Named"
    assert snap["review"]["last_review_date"] == "2026-01-05"
    assert snap["review"]["review_interval_months"] == 12
    assert snap["patient_feedback"] == "Listened to"


def test_pending_items_keep_their_agreed_text_or_stay_out(db, cast):
    plan = cast.plan_a
    first = agree_everything(db, plan, cast.users["professional"])
    plan.needs[0].text, plan.needs[0].pending_review = "Worse", True
    plan.goals[1].status, plan.goals[1].pending_review = "withdrawn", False
    plan.usual_state.mobility, plan.usual_state.pending_review = "Frame", True
    new_goal = Goal(plan_id=plan.id, title="Brand new", status="proposed", pending_review=True)
    db.session.add(new_goal)
    db.session.commit()
    db.session.refresh(plan)
    snap = snapshot(plan, first.snapshot)
    assert snap["needs"]["health"]["text"] == "My breathing"  # still the agreed text
    assert str(new_goal.id) not in snap["goals"]  # never agreed
    assert str(plan.goals[1].id) not in snap["goals"]  # withdrawn: off the plan
    assert snap["usual_state"]["mobility"] == "Walks with a stick"
    # without a previous version, pending items are simply not agreed yet
    bare = snapshot(plan)
    assert "health" not in bare["needs"] and bare["usual_state"] is None


def test_version_numbers_count_up_per_plan(db, cast):
    nurse = cast.users["professional"]
    numbers = [create_version(cast.plan_a, nurse).number for _ in range(3)]
    db.session.flush()
    other = create_version(cast.plan_b, nurse)
    db.session.commit()
    assert numbers[-1] == 3 and cast.plan_a.agreed_version == 3
    assert other.number == 1


def test_versions_are_write_once(db, cast):
    version = agree_everything(db, cast.plan_a, cast.users["professional"])
    version.number = 7
    with pytest.raises(VersionImmutable):
        db.session.flush()
    db.session.rollback()
    version = db.session.get(PlanVersion, version.id)
    version.snapshot = {"tampered": True}
    with pytest.raises(VersionImmutable):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(PlanVersion, version.id))
    with pytest.raises(VersionImmutable):
        db.session.flush()
    db.session.rollback()
    stored = db.session.get(PlanVersion, version.id)
    assert stored.number == 1 and "tampered" not in stored.snapshot


# --- differences ------------------------------------------------------------------------------


def test_diff_lists_added_removed_and_changed_items_with_before_and_after(db, cast):
    plan = cast.plan_a
    old = agree_everything(db, plan, cast.users["professional"]).snapshot
    new = json.loads(json.dumps(old))
    goal_ids = sorted(new["goals"], key=int)
    new["goals"][goal_ids[0]]["title"] = "Goal 1, further"
    new["goals"][goal_ids[0]]["status"] = "achieved"
    del new["goals"][goal_ids[1]]
    new["goals"]["999"] = {"title": "Swim", "status": "agreed", "language": "pl"}
    new["wishes"]["things_to_avoid"] = {"text": "Hospital", "language": None}
    new["patient_feedback"] = "Much better"
    changes = diff(old, new)
    found = _by_section(changes)

    changed = found[("goals", goal_ids[0])]
    assert changed.change == "changed"
    assert [(f.field, f.before, f.after) for f in changed.fields] == [
        ("title", "Goal 1", "Goal 1, further"),
        ("status", "agreed", "achieved"),
    ]
    removed = found[("goals", goal_ids[1])]
    assert removed.change == "removed" and removed.after is None
    assert ("title", "Goal 2", None) in [(f.field, f.before, f.after) for f in removed.fields]
    added = found[("goals", "999")]
    assert added.change == "added" and added.language == "pl"
    assert found[("wishes", "things_to_avoid")].change == "added"
    feedback = found[("patient_feedback", "")]
    assert (feedback.fields[0].before, feedback.fields[0].after) == (None, "Much better")
    assert feedback.change == "added"  # no feedback before
    # sections in plan order
    sections = [c.section for c in changes]
    assert sections.index("goals") < sections.index("wishes") < sections.index("patient_feedback")


def test_diff_of_identical_snapshots_is_empty(db, cast):
    snap = agree_everything(db, cast.plan_a, cast.users["professional"]).snapshot
    assert diff(snap, json.loads(json.dumps(snap))) == []


def test_diff_from_nothing_adds_everything(db, cast):
    snap = agree_everything(db, cast.plan_a, cast.users["professional"]).snapshot
    changes = diff(None, snap)
    assert {c.change for c in changes} == {"added"}
    assert {"needs", "goals", "usual_state", "named_contact"} <= {c.section for c in changes}


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def two_versions(db, cast):
    """Version 1, then a meeting that changed a goal, the feedback and the review date."""
    nurse = cast.users["professional"]
    plan = cast.plan_a
    agree_everything(db, plan, nurse)
    plan.goals[0].title = "Walk to the <b>park</b>"
    plan.patient_feedback = "Better this year"
    plan.next_review_date = date(2027, 3, 1)
    db.session.flush()
    create_version(plan, nurse)
    db.session.commit()
    return plan


def test_history_lists_every_version_newest_first(two_versions, cast, login):
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/versions").get_data(as_text=True)
    assert "Agreed versions of my plan" in body
    assert body.index("Version 2") < body.index("Version 1")
    assert f'href="/patients/{cast.a.id}/versions/1"' in body
    assert "Nurse Named" in body
    assert "Show what changed" in body


def test_history_without_versions(db, cast, login):
    body = (
        login(cast.users["carer_view"])
        .get(f"/patients/{cast.a.id}/versions")
        .get_data(as_text=True)
    )
    assert "has not been agreed at a review meeting yet" in body


def test_one_version_is_shown_as_agreed(two_versions, db, cast, login):
    response = login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/versions/2")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Version 2 of the plan" in body
    assert "Walk to the &lt;b&gt;park&lt;/b&gt;" in body and "<b>park</b>" not in body
    assert "My breathing" in body and "Lips blue" in body and "Better this year" in body
    assert f"/patients/{cast.a.id}/versions/compare?from=1&amp;to=2" in body
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "version.view")).one()
    assert (event.detail, event.actor_id) == ("version 2", cast.users["carer_view"].id)


def test_compare_shows_what_changed_side_by_side(two_versions, db, cast, login):
    client = login(cast.users["owner"])
    body = client.get(f"/patients/{cast.a.id}/versions/compare?from=2&to=1").get_data(as_text=True)
    assert "What changed from version 1 to version 2" in body  # older first, whatever the order
    assert "Goal 1" in body and "Walk to the &lt;b&gt;park&lt;/b&gt;" in body
    assert "Better this year" in body
    # the next review date, as a date in the reader's language
    assert babel_date(date(2027, 3, 1), "long", locale="en_GB") in body
    assert "Lips blue" not in body  # unchanged parts are not listed
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "versions.compare")
    ).one()
    assert event.detail == "versions 1 and 2"
    assert "What changed from version 1 to version 2" in client.get(
        f"/patients/{cast.a.id}/versions/compare"
    ).get_data(as_text=True)  # the last two by default


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("from=1&to=1", 200, "Choose two different versions"),
        ("from=1", 200, "Choose the two versions to compare"),
        ("from=abc&to=2", 200, "Choose the two versions to compare"),
        ("from=1&to=9", 404, None),
        ("from=1&to=99999999999999999999", 200, "Choose the two versions to compare"),
    ],
)
def test_compare_bad_choices(two_versions, cast, login, query, status, message):
    response = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/versions/compare?{query}")
    assert response.status_code == status
    if message:
        assert message in response.get_data(as_text=True)


def test_unknown_version_is_404(two_versions, cast, login):
    client = login(cast.users["owner"])
    assert client.get(f"/patients/{cast.a.id}/versions/3").status_code == 404
    # another patient's version numbers are not reachable through this patient
    other = create_version(cast.plan_b, cast.users["professional"])
    assert other.number == 1
    assert client.get(f"/patients/{cast.b.id}/versions/1").status_code == 404


def test_versions_page_after_a_recorded_meeting_shows_the_meeting(db, cast, login):
    from tests.support import as_date_boxes
    from tests.test_meetings import meeting_payload

    client = login(cast.users["professional"])
    data = as_date_boxes(meeting_payload(client, cast.a.id))
    assert client.post(f"/patients/{cast.a.id}/review/record", data=data).status_code == 302
    assert db.session.get(CarePlan, cast.plan_a.id).agreed_version == 1
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/versions").get_data(as_text=True)
    assert "Held on" in body
    body = (
        login(cast.users["owner"]).get(f"/patients/{cast.a.id}/versions/1").get_data(as_text=True)
    )
    assert "Alice Able, Nurse Named" in body and "Talked about breathing" in body


def test_history_query_count_does_not_grow_with_versions(db, cast, login, count_queries):
    nurse = cast.users["professional"]
    create_version(cast.plan_a, nurse)
    db.session.commit()
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/versions"
    with count_queries() as few:
        client.get(url)
    for _ in range(10):
        create_version(cast.plan_a, nurse)
        db.session.flush()
    db.session.commit()
    with count_queries() as many:
        client.get(url)
    assert few.count == many.count


# --- who may see them ----------------------------------------------------------------------------

ROUTES = [
    "/patients/{a}/versions",
    "/patients/{a}/versions/1",
    "/patients/{a}/versions/compare?from=1&to=2",
]


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("route", ROUTES)
def test_version_routes(two_versions, cast, request_as, route, who):
    response = request_as(cast.users[who], "GET", route.format(a=cast.a.id))
    if who == "anonymous":
        assert response.status_code == 302
        assert "/sign-in" in response.headers["Location"]
    else:
        assert response.status_code == (200 if who in READERS else 404)


@pytest.mark.parametrize("route", ROUTES)
def test_version_routes_need_consent_for_professionals(db, cast, request_as, route):
    create_version(cast.no_consent.plan, cast.users["professional"])
    db.session.commit()
    url = route.format(a=cast.no_consent.id)
    assert request_as(cast.users["professional"], "GET", url).status_code == 404
