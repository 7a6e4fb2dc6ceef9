"""The plan page's kept body (``portal.plans.page_cache``): never older than the plan.

Hazard H21: a kept body showing a plan that has changed since. Each test views the plan once
(so its body is kept), changes what the page shows by the route the portal itself uses, and
views it again.
"""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from portal.extensions import db
from portal.models import (
    AccessGrant,
    AuditEvent,
    CrisisStep,
    Goal,
    NeedsSection,
    PlanVersion,
    ReviewMeeting,
    Role,
    SharedResult,
    UsualState,
    Wish,
)
from portal.plans import page_cache
from portal.plans import views as plan_views
from portal.register.importer import set_conditions
from tests.factories import make_conversation, make_org, make_patient, make_plan, make_user


@pytest.fixture
def seen(db, login):
    """A patient whose plan page has been viewed once by them (so its body is kept)."""
    org = make_org("Riverside Surgery")
    nurse = make_user(Role.PROFESSIONAL, org, display_name="Nurse Nadia", phone="01632 960001")
    patient = make_patient(org, given_name="Maryam", family_name="Begum")
    plan = make_plan(patient, goals=1, named_contact=nurse)
    db.session.commit()
    client = login(patient.user)
    url = f"/patients/{patient.id}/plan"
    assert client.get(url).status_code == 200

    class Seen:
        pass

    seen = Seen()
    seen.patient, seen.plan, seen.nurse, seen.org, seen.client, seen.url = (
        patient, plan, nurse, org, client, url
    )
    seen.page = lambda: client.get(url).get_data(as_text=True)
    return seen


def _goal(plan) -> Goal:
    return db.session.scalars(select(Goal).where(Goal.plan_id == plan.id)).first()


def _change_goal(s):
    _goal(s.plan).title = "Walk to the mosque"
    return "Walk to the mosque"


def _add_goal(s):
    db.session.add(Goal(plan_id=s.plan.id, title="Sleep through", status="agreed"))
    return "Sleep through"


def _remove_goal(s):
    db.session.delete(_goal(s.plan))
    return "No goals yet."


def _change_need(s):
    db.session.scalars(select(NeedsSection).where(NeedsSection.plan_id == s.plan.id)).one().text = (
        "Stairs are hard now"
    )
    return "Stairs are hard now"


def _change_wish(s):
    db.session.scalars(select(Wish).where(Wish.plan_id == s.plan.id)).one().text = "In hospital"
    return "In hospital"


def _change_red_step(s):
    db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == s.plan.id)).one().signs = (
        "Cannot finish a sentence"
    )
    return "Cannot finish a sentence"






def _contact_phone(s):
    s.nurse.phone = "01632 960999"
    return "960999"


def _contact_organisation(s):
    s.org.name = "Riverside Health Centre"
    return "Riverside Health Centre"


def _new_contact(s):
    other = make_user(Role.PROFESSIONAL, s.org, display_name="Nurse Olu")
    s.plan.named_contact_id = other.id
    return "Nurse Olu"


def _book_meeting(s):
    db.session.add(
        ReviewMeeting(
            plan_id=s.plan.id,
            status="scheduled",
            scheduled_for=datetime.now(UTC) + timedelta(days=9),
            location="Room 4",
        )
    )
    return "Room 4"


def _move_meeting(s):
    _book_meeting(s)
    db.session.commit()
    assert "Room 4" in s.page()
    db.session.scalars(select(ReviewMeeting).where(ReviewMeeting.plan_id == s.plan.id)).one() \
        .location = "Room 7"
    return "Room 7"


def _agree_version(s):
    db.session.add(
        PlanVersion(plan_id=s.plan.id, number=1, agreed_at=datetime.now(UTC), snapshot={})
    )
    return "Last agreed: version 1"


def _share_result(s):
    db.session.add(SharedResult(plan_id=s.plan.id, name="HbA1c", value="48"))
    return "1 result shared for the review"




def _start_conversation(s):
    conversation = make_conversation(s.patient)
    conversation.about_kind, conversation.about_id = "goal", _goal(s.plan).id
    return "1 conversation"


CHANGES = [
    _change_goal, _add_goal, _remove_goal, _change_need, _change_wish, _change_red_step,
    _contact_phone, _contact_organisation, _new_contact, _book_meeting,
    _move_meeting, _agree_version, _share_result, _start_conversation,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_a_change_shows_on_the_next_view(seen, change):
    before = seen.page()
    expected = change(seen)
    db.session.commit()
    after = seen.page()
    assert after != before
    assert expected in after


def test_conditions_replaced_by_the_register_import_show_at_once(seen):
    set_conditions(seen.patient.id, ["195967001"])  # asthma
    db.session.commit()
    assert "Asthma" in seen.page()
    set_conditions(seen.patient.id, ["13645005"])  # the set replaced, as the import does
    db.session.commit()
    after = seen.page()
    assert "Chronic obstructive pulmonary disease" in after and "Asthma" not in after


def test_a_proposed_change_to_the_usual_state_is_counted_at_once(seen):
    usual = db.session.scalars(select(UsualState).where(UsualState.plan_id == seen.plan.id)).one()
    usual.pending_review = False
    db.session.commit()
    waiting = re.compile(r"You have (\d+) changes? for your review")
    before = int(waiting.search(seen.page()).group(1))
    usual.mobility, usual.pending_review = "Uses a frame", True
    db.session.commit()
    assert int(waiting.search(seen.page()).group(1)) == before + 1


def test_every_table_the_page_reads_is_in_the_fingerprint(db, cast, login, monkeypatch):
    """What the body is built from must be what the fingerprint watches: a new query on the
    page fails here until the fingerprint covers its table."""
    read: set[str] = set()

    def tables(conn, cursor, statement, *args):
        read.update(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', statement))

    build = plan_views._body

    def watched(*args, **kwargs):
        event.listen(db.engine, "before_cursor_execute", tables)
        try:
            return build(*args, **kwargs)
        finally:
            event.remove(db.engine, "before_cursor_execute", tables)

    monkeypatch.setattr(plan_views, "_body", watched)
    for who in ("owner", "carer_view", "carer_contribute", "professional"):
        assert login(cast.users[who]).get(f"/patients/{cast.a.id}/plan").status_code == 200
    assert read, "no statement was watched"
    assert read <= page_cache.COVERED, read - page_cache.COVERED


def test_a_kept_body_is_still_checked_and_audited_on_every_view(db, cast, login, count_queries):
    carer = cast.users["carer_view"]
    client = login(carer)
    url = f"/patients/{cast.a.id}/plan"
    assert client.get(url).status_code == 200
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert not any("goals.title" in s for s in counter.statements)  # the body was kept
    views = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "plan.view", AuditEvent.actor_id == carer.id)
    ).all()
    assert len(views) == 2
    grant = db.session.scalars(
        select(AccessGrant).where(AccessGrant.grantee_id == carer.id)
    ).one()
    grant.revoked_at = datetime.now(UTC)
    db.session.commit()
    assert client.get(url).status_code == 404


def test_the_patients_own_details_show_at_once(seen, login):
    nurse = login(seen.nurse)
    assert "Care plan for Maryam Begum" in nurse.get(seen.url).get_data(as_text=True)
    seen.patient.given_name = "Maria"
    seen.patient.communication_needs = "Hears better on the left"
    db.session.commit()
    page = nurse.get(seen.url).get_data(as_text=True)
    assert "Care plan for Maria Begum" in page and "Hears better on the left" in page


def test_each_reader_gets_their_own_body(db, cast, login):
    url = f"/patients/{cast.a.id}/plan"
    owner = login(cast.users["owner"]).get(url).get_data(as_text=True)
    nurse = login(cast.users["professional"]).get(url).get_data(as_text=True)
    assert "My care plan" in owner and "My care plan" not in nurse.split("<main", 1)[1]
    assert "Care plan for Alice Able" in nurse


def test_the_language_and_the_day_are_part_of_the_key(seen, monkeypatch):
    english = seen.page()
    seen.patient.user.preferred_locale = "cy"
    db.session.commit()
    welsh = seen.page()
    assert 'lang="cy"' in welsh and welsh.count("Goal 1") == english.count("Goal 1")
    assert welsh.split("<main", 1)[1] != english.split("<main", 1)[1]
    cache = seen.client.application.extensions["plan_page_cache"]
    misses = cache.misses
    seen.page()
    assert cache.misses == misses  # the same reader, language and day: kept
    tomorrow = date.today() + timedelta(days=1)
    monkeypatch.setattr(page_cache, "local_today", lambda: tomorrow)
    seen.page()
    assert cache.misses == misses + 1


def test_messages_after_a_save_are_shown_once_and_not_kept(seen):
    with seen.client.session_transaction() as session:
        session["_flashes"] = [("goals", "Your goal was saved.")]
    assert "Your goal was saved." in seen.page()
    assert "Your goal was saved." not in seen.page()


def test_a_kept_body_carries_the_reading_sessions_form_token(db, login, app):
    org = make_org()
    patient = make_patient(org)
    plan = make_plan(patient, goals=1)
    goal = _goal(plan)
    goal.status, goal.pending_review = "withdrawn", True  # offers "Keep this goal" (a form)
    db.session.commit()
    url = f"/patients/{patient.id}/plan"
    first = login(patient.user).get(url).get_data(as_text=True)
    second_client = app.test_client()
    from tests.conftest import sign_in

    sign_in(second_client, patient.user)
    second = second_client.get(url).get_data(as_text=True)
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    assert "Keep this goal" in second
    with second_client.session_transaction() as session:
        raw = session["csrf_token"]
    tokens = set(token.findall(second))
    assert len(tokens) == 1 and tokens != set(token.findall(first))
    assert raw  # the second session's own token, not the first's
    kept = second_client.post(
        f"/patients/{patient.id}/goals/{goal.id}/keep",
        data={"csrf_token": tokens.pop(), "version": goal.version},
    )
    assert kept.status_code in (302, 303)


def test_size_zero_builds_every_page_afresh(db, cast, login, app, count_queries, monkeypatch):
    monkeypatch.setitem(app.config, "PLAN_PAGE_CACHE_SIZE", 0)
    monkeypatch.delitem(app.extensions, "plan_page_cache", raising=False)
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/plan"
    client.get(url)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert any("goals.title" in s for s in counter.statements)
