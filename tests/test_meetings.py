"""The professional's side of the review: proposals agreed, amended or declined at the meeting,
results shared beforehand, the named contact, booking the meeting and its calendar file."""

import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from portal import jobs
from portal.meetings import services
from portal.meetings.ics import escape_text, fold
from portal.models import (
    AuditEvent,
    CarePlan,
    Contact,
    CrisisStep,
    Goal,
    NeedsSection,
    PlanVersion,
    Preparation,
    ReviewMeeting,
    Role,
    SharedResult,
    UsualState,
    Wish,
)
from portal.versions.services import create_version
from tests.factories import CAST_KEYS, make_org, make_patient, make_plan, make_user
from tests.support import as_date_boxes

ALL = CAST_KEYS
AGREERS = {"professional"}
READERS = {"owner", "carer_view", "carer_contribute", "professional"}
PROPOSERS = {"owner", "carer_contribute"}

HIDDEN = re.compile(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


def agree_everything(db, plan: CarePlan, user) -> PlanVersion:
    """The plan as it stands, agreed: every item out of review and a version written."""
    for kind in ("needs", "goals", "wishes", "crisis_steps", "contacts"):
        for item in getattr(plan, kind):
            item.pending_review = False
    if plan.usual_state:
        plan.usual_state.pending_review = False
    db.session.flush()
    version = create_version(plan, user)
    db.session.commit()
    return version


@pytest.fixture
def agreed(db, cast):
    """Patient A's plan agreed once as version 1, then changed by the patient and a carer."""
    plan = cast.plan_a
    nurse = cast.users["professional"]
    version = agree_everything(db, plan, nurse)
    owner, carer = cast.users["owner"], cast.users["carer_contribute"]
    needs = plan.needs[0]
    needs.text, needs.pending_review, needs.updated_by_id = "My breathing is worse", True, owner.id
    needs.language = "cy"
    wish = plan.wishes[0]
    wish.text, wish.pending_review, wish.updated_by_id = "In the hospice", True, carer.id
    first_goal, second_goal = plan.goals
    first_goal.title, first_goal.pending_review = "Goal 1, walking further", True
    first_goal.updated_by_id = owner.id
    second_goal.status, second_goal.pending_review = "withdrawn", True
    new_goal = Goal(
        plan_id=plan.id,
        title="Swim once a week",
        why_it_matters="I used to love it",
        status="proposed",
        proposed_by_id=owner.id,
        updated_by_id=owner.id,
    )
    new_step = CrisisStep(plan_id=plan.id, level="amber", signs="Coughing", actions="Ring GP")
    new_contact = Contact(plan_id=plan.id, kind="carer", name="Jo", phone="07700 900456")
    plan.usual_state.mobility, plan.usual_state.pending_review = "Uses a frame", True
    db.session.add_all([new_goal, new_step, new_contact])
    db.session.add(
        Preparation(
            plan_id=plan.id,
            questions="Can I stop the water tablet?",
            how_i_feel="Tired",
            language="en",
        )
    )
    db.session.commit()
    return {
        "version": version,
        "needs": needs,
        "wish": wish,
        "changed_goal": first_goal,
        "withdrawn_goal": second_goal,
        "new_goal": new_goal,
        "new_step": new_step,
        "new_contact": new_contact,
        "usual": plan.usual_state,
    }


def meeting_payload(client, patient_id: int, decisions: dict[str, str] | None = None, **extra):
    """Open the record form as the professional would, then fill it in.

    ``decisions`` maps a proposal key (``goals_12``) to agree / amend / decline; proposals not
    named are agreed.
    """
    html = client.get(f"/patients/{patient_id}/review/record").get_data(as_text=True)
    data = hidden_fields(html)
    decisions = decisions or {}
    for name in list(data):
        if name.startswith("p_") and name.endswith("_version"):
            key = name[2 : -len("_version")]
            data[f"p_{key}_decision"] = decisions.get(key, "agree")
    data.update(
        held_on=date.today().isoformat(),
        attendees="Alice Able, Nurse Named",
        patient_feedback="I feel listened to",
        notes="Talked about breathing",
    )
    data.update(extra)
    return data


def key(kind: str, item) -> str:
    return f"{kind}_{item.id}"


# --- review page ---------------------------------------------------------------------------


def test_review_page_shows_agreed_and_proposed_text_side_by_side(agreed, cast, login):
    body = (
        login(cast.users["professional"])
        .get(f"/patients/{cast.a.id}/review")
        .get_data(as_text=True)
    )
    assert "Last agreed" in body and "Version 1 on" in body
    # a changed needs section: the agreed text beside the proposal, in its own language
    assert "My breathing" in body and 'lang="cy">My breathing is worse' in body
    assert "At home" in body and "In the hospice" in body
    assert "Goal 1, walking further" in body
    owner = cast.users["owner"].display_name
    assert "Swim once a week" in body and f"Added by {owner} – not yet agreed" in body
    assert "Changed by Carer contribute – not yet agreed" in body  # the wish
    assert f"{owner} asked to stop this goal – not yet agreed" in body
    assert "Coughing" in body and "Jo" in body and "Uses a frame" in body
    assert "Proposed by Carer contribute" in body
    assert "7 proposals are waiting" in body or "8 proposals are waiting" in body
    assert "Can I stop the water tablet?" in body  # the patient's preparation


def test_review_page_query_count_does_not_grow_with_proposals(db, login, count_queries):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    counts = []
    for goals in (1, 30):
        patient = make_patient(org)
        plan = make_plan(patient, goals=goals, named_contact=nurse)
        for goal in plan.goals:
            goal.pending_review = True
            goal.updated_by_id = patient.user_id
        db.session.commit()
        client = login(nurse)
        with count_queries() as counter:
            assert client.get(f"/patients/{patient.id}/review").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_review_page_is_audited(agreed, db, cast, login):
    login(cast.users["professional"]).get(f"/patients/{cast.a.id}/review")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review.view")).one()
    assert event.patient_id == cast.a.id and event.actor_id == cast.users["professional"].id


# --- recording the meeting ---------------------------------------------------------------


def test_agree_amend_decline_cycle(agreed, db, cast, login):
    client = login(cast.users["professional"])
    decisions = {
        key("needs", agreed["needs"]): "agree",
        key("wishes", agreed["wish"]): "decline",
        key("goals", agreed["changed_goal"]): "amend",
        key("goals", agreed["withdrawn_goal"]): "agree",
        key("goals", agreed["new_goal"]): "agree",
        key("crisis_steps", agreed["new_step"]): "decline",
        key("contacts", agreed["new_contact"]): "amend",
        key("usual_state", agreed["usual"]): "decline",
    }
    data = meeting_payload(client, cast.a.id, decisions)
    data[f"p_{key('goals', agreed['changed_goal'])}_title"] = "Walk to the park"
    data[f"p_{key('contacts', agreed['new_contact'])}_name"] = "Jo Able"
    step_id = agreed["new_step"].id
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 302

    db.session.expire_all()
    needs = db.session.get(NeedsSection, agreed["needs"].id)
    assert (needs.text, needs.pending_review) == ("My breathing is worse", False)
    wish = db.session.get(Wish, agreed["wish"].id)
    assert (wish.text, wish.pending_review) == ("At home", False)  # agreed text restored
    goal = db.session.get(Goal, agreed["changed_goal"].id)
    assert (goal.title, goal.pending_review, goal.status) == ("Walk to the park", False, "agreed")
    assert goal.agreed_by_id == cast.users["professional"].id
    withdrawn = db.session.get(Goal, agreed["withdrawn_goal"].id)
    assert (withdrawn.status, withdrawn.pending_review) == ("withdrawn", False)
    new_goal = db.session.get(Goal, agreed["new_goal"].id)
    assert (new_goal.status, new_goal.pending_review) == ("agreed", False)
    assert new_goal.agreed_at is not None
    assert db.session.get(CrisisStep, step_id) is None  # never agreed: removed
    contact = db.session.get(Contact, agreed["new_contact"].id)
    assert (contact.name, contact.pending_review) == ("Jo Able", False)
    usual = db.session.get(UsualState, agreed["usual"].id)
    assert (usual.mobility, usual.pending_review) == ("Walks with a stick", False)

    plan = db.session.get(CarePlan, cast.plan_a.id)
    assert plan.agreed_version == 2
    version = db.session.scalars(select(PlanVersion).where(PlanVersion.number == 2)).one()
    snap = version.snapshot
    assert snap["needs"]["health"]["text"] == "My breathing is worse"
    assert snap["wishes"]["place_of_care"]["text"] == "At home"
    titles = {g["title"]: g["status"] for g in snap["goals"].values()}
    assert titles == {"Walk to the park": "agreed", "Swim once a week": "agreed"}
    assert [s["signs"] for s in snap["crisis_steps"].values()] == ["Lips blue"]
    assert sorted(c["name"] for c in snap["contacts"].values()) == ["Jo Able", "Sam"]
    assert snap["usual_state"]["mobility"] == "Walks with a stick"
    assert snap["patient_feedback"] == "I feel listened to"
    assert snap["named_contact"]["name"] == "Nurse Named"

    meeting = db.session.scalars(select(ReviewMeeting)).one()
    assert meeting.status == "held" and meeting.plan_version_id == version.id
    assert meeting.patient_feedback == plan.patient_feedback == "I feel listened to"
    assert meeting.attendees == "Alice Able, Nurse Named"
    assert plan.last_review_date == date.today()
    assert plan.contingency_reviewed_on is None  # nobody said the crisis plan was gone through
    assert plan.next_review_date == services.add_months(date.today(), 12)
    preparation = db.session.scalars(select(Preparation)).one()
    assert preparation.meeting_id == meeting.id

    actions = set(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.patient_id == cast.a.id)
        ).all()
    )
    assert {
        "meeting.record",
        "plan_version.create",
        "preparation.attach",
        "needs_section.agree",
        "wish.decline",
        "goal.amend",
        "goal.agree",
        "crisis_step.decline",
        "contact.amend",
        "usual_state.decline",
    } <= actions


def _record_counted(client, patient_id: int, count_queries, decisions=None) -> list[str]:
    """Record a meeting as the professional would; the statements of the save alone (the
    form opened first and the page it leads to are pages of their own)."""
    data = as_date_boxes(meeting_payload(client, patient_id, decisions))
    with count_queries() as counter:
        response = client.post(f"/patients/{patient_id}/review/record", data=data)
    assert response.status_code == 302
    return counter.statements


def test_recording_a_meeting_sends_a_fixed_few_statements(
    agreed, db, cast, login, count_queries, monkeypatch
):
    """Every kind of decision at once (a new step declined is deleted). Sixteen reads: who is
    signed in, the patient, the plan in six queries, the latest version once, the
    conversations offered, a booked meeting, the preparation, and the patient told in four;
    no collection read again after the decisions. Then one write a changed row (SQLite sends
    each audit event on its own, PostgreSQL a flush's in one), the meeting inserted with the
    version it agreed rather than updated afterwards, and the plan updated once."""
    monkeypatch.setattr(jobs, "run_due", lambda: 0)  # with a broker: not in the request
    decisions = {key("crisis_steps", agreed["new_step"]): "decline"}
    statements = _record_counted(login(cast.users["professional"]), cast.a.id, count_queries,
                                 decisions)
    shown = "\n".join(statements)
    reads = [s for s in statements if s.lstrip().startswith("SELECT")]
    assert len(reads) <= 16, shown
    assert sum("FROM plan_versions" in s for s in statements) == 1, shown
    assert not any(s.lstrip().startswith("UPDATE review_meetings") for s in statements), shown
    assert sum(s.lstrip().startswith("UPDATE care_plans") for s in statements) == 1, shown
    version = db.session.scalars(select(PlanVersion).where(PlanVersion.number == 2)).one()
    assert [s["signs"] for s in version.snapshot["crisis_steps"].values()] == ["Lips blue"]
    assert db.session.scalars(select(ReviewMeeting)).one().plan_version_id == version.id


def test_recording_a_meeting_reads_no_more_for_a_bigger_plan(
    db, cast, login, count_queries, monkeypatch
):
    """The load test's meeting, with nothing proposed since the last: the same statements
    whatever the size of the plan, and few of them."""
    monkeypatch.setattr(jobs, "run_due", lambda: 0)
    client = login(cast.users["professional"])
    _record_counted(client, cast.a.id, count_queries)  # the plan's first proposals agreed
    counts = []
    for _ in range(2):
        counts.append(len(_record_counted(client, cast.a.id, count_queries)))
        db.session.add_all(
            Goal(plan_id=cast.plan_a.id, title=f"Goal {n}", status="agreed", pending_review=False)
            for n in range(30)
        )
        db.session.commit()
    assert counts[0] == counts[1]
    assert counts[1] <= 22  # 37 before the save was cut down (the plan read twice and more)


def test_declined_new_goal_is_withdrawn_and_stays_off_the_plan(agreed, db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, {key("goals", agreed["new_goal"]): "decline"})
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    goal = db.session.get(Goal, agreed["new_goal"].id)
    assert (goal.status, goal.pending_review) == ("withdrawn", False)
    plan_page = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "Swim once a week" not in plan_page


def test_declined_withdrawal_keeps_the_goal_as_agreed(agreed, db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, {key("goals", agreed["withdrawn_goal"]): "decline"})
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    goal = db.session.get(Goal, agreed["withdrawn_goal"].id)
    assert (goal.status, goal.pending_review, goal.title) == ("agreed", False, "Goal 2")


def test_declining_a_change_restores_the_agreed_language(agreed, db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, {key("needs", agreed["needs"]): "decline"})
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    needs = db.session.get(NeedsSection, agreed["needs"].id)
    assert (needs.text, needs.language) == ("My breathing", None)


def test_amending_keeps_the_patients_language(agreed, db, cast, login):
    client = login(cast.users["professional"])
    needs_key = key("needs", agreed["needs"])
    data = meeting_payload(client, cast.a.id, {needs_key: "amend"})
    data[f"p_{needs_key}_text"] = "Mae fy anadlu yn waeth yn y gaeaf"
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    needs = db.session.get(NeedsSection, agreed["needs"].id)
    assert (needs.text, needs.language, needs.pending_review) == (
        "Mae fy anadlu yn waeth yn y gaeaf",
        "cy",
        False,
    )
    assert needs.updated_by_id == cast.users["professional"].id


def test_first_meeting_without_any_version_writes_version_1(db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    version = db.session.scalars(select(PlanVersion)).one()
    assert version.number == 1 and version.agreed_by_id == cast.users["professional"].id
    assert version.snapshot["needs"]["health"]["text"] == "My breathing"
    assert db.session.get(CarePlan, cast.plan_a.id).agreed_version == 1


def test_meeting_uses_the_booked_meeting(db, cast, login):
    booked = ReviewMeeting(
        plan_id=cast.plan_a.id,
        status="scheduled",
        scheduled_for=datetime.now().astimezone() - timedelta(hours=1),
        location="Room 3",
    )
    db.session.add(booked)
    db.session.commit()
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    meeting = db.session.scalars(select(ReviewMeeting)).one()
    assert meeting.id == booked.id and meeting.status == "held"
    assert meeting.location == "Room 3"


@pytest.mark.parametrize(
    ("complex_needs", "interval", "months"),
    [(False, "", 12), (True, "", 6), (True, "3", 3), (False, "9", 9)],
)
def test_next_review_date_rules(db, cast, login, complex_needs, interval, months):
    client = login(cast.users["professional"])
    extra = {"review_interval": interval, "held_on": "2026-08-31"}
    if complex_needs:
        extra["complex_needs"] = "y"
    plan = db.session.get(CarePlan, cast.plan_a.id)
    plan.last_review_date = None
    db.session.commit()
    data = meeting_payload(client, cast.a.id, **extra)
    if date(2026, 8, 31) > date.today():
        data["held_on"] = "2025-08-31"
    held = date.fromisoformat(data["held_on"])
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    plan = db.session.get(CarePlan, cast.plan_a.id)
    assert plan.complex_needs is complex_needs
    assert plan.review_interval_months == months
    assert plan.next_review_date == services.add_months(held, months)


def test_add_months_keeps_to_the_end_of_shorter_months():
    assert services.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert services.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert services.add_months(date(2026, 1, 15), 12) == date(2027, 1, 15)
    assert services.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("held_on", "", "Enter the date the meeting was held"),
        ("held_on", "   ", "Enter the date the meeting was held"),
        ("held_on", "2026-02-31", "Date the meeting was held must be a real date"),
        ("held_on", "31/02/2026", "Date the meeting was held must include a month and year"),
        ("held_on", (date.today() + timedelta(days=1)).isoformat(), "today or in the past"),
        ("held_on", "1999-12-31", "after 1 January 2000"),
        ("attendees", "", "Enter who attended the meeting"),
        ("attendees", "x" * 1001, "Who attended must be 1000 characters or fewer"),
        ("patient_feedback", "  ", "feedback on the plan, in their own words"),
        ("patient_feedback", "x" * 2001, "Feedback must be 2000 characters or fewer"),
        ("notes", "x" * 4001, "Notes must be 4000 characters or fewer"),
        ("review_interval", "7", "Choose when the next review is due"),
    ],
)
def test_bad_meeting_input_is_explained_and_nothing_saved(
    agreed, db, cast, login, field, value, message
):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, notes="My notes <b>kept</b>")
    data[field] = value
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in body and message in body
    if field != "notes":
        assert "My notes &lt;b&gt;kept&lt;/b&gt;" in body  # what was typed is still there
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1
    assert db.session.get(NeedsSection, agreed["needs"].id).pending_review is True


def test_meeting_cannot_predate_the_last_review(agreed, db, cast, login):
    plan = db.session.get(CarePlan, cast.plan_a.id)
    plan.last_review_date = date.today() - timedelta(days=10)
    db.session.commit()
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    data["held_on"] = (date.today() - timedelta(days=11)).isoformat()
    body = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).get_data(
        as_text=True
    )
    assert "cannot be before the last review" in body


def test_every_proposal_needs_a_decision(agreed, db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    del data[f"p_{key('goals', agreed['new_goal'])}_decision"]
    data[f"p_{key('needs', agreed['needs'])}_decision"] = "approve-all"
    body = client.post(
        f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)
    ).get_data(as_text=True)
    # Each entry names its proposal and links to the first option of its own question.
    new_goal = f"p_{key('goals', agreed['new_goal'])}_decision"
    assert "Choose whether to agree, amend or decline the proposal: Swim once a week" in body
    assert "Choose whether to agree, amend or decline the proposal: My health" in body
    assert f'<a href="#{new_goal}">' in body and f'id="{new_goal}" name="{new_goal}"' in body
    assert f'href="#{new_goal}-0"' not in body
    assert db.session.get(Goal, agreed["new_goal"].id).status == "proposed"


def test_amend_checks_the_amended_text(agreed, db, cast, login):
    client = login(cast.users["professional"])
    goal_key = key("goals", agreed["changed_goal"])
    data = meeting_payload(client, cast.a.id, {goal_key: "amend"})
    data[f"p_{goal_key}_title"] = ""
    data[f"p_{goal_key}_steps"] = "s" * 2001
    data[f"p_{goal_key}_target_date"] = "2026-13-01"
    body = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).get_data(
        as_text=True
    )
    assert "Enter what the goal is" in body
    assert "Steps and who helps must be 2000 characters or fewer" in body
    assert "Target date must be a real date" in body
    assert db.session.get(Goal, agreed["changed_goal"].id).pending_review is True


def test_amend_fields_are_ignored_unless_amending(agreed, db, cast, login):
    client = login(cast.users["professional"])
    goal_key = key("goals", agreed["changed_goal"])
    data = meeting_payload(client, cast.a.id, {goal_key: "agree"})
    data[f"p_{goal_key}_title"] = ""
    data[f"p_{goal_key}_target_date"] = "nonsense"
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    assert db.session.get(Goal, agreed["changed_goal"].id).title == "Goal 1, walking further"


def test_hostile_text_is_shown_as_text_on_the_review_pages(agreed, db, cast, login):
    needs = db.session.get(NeedsSection, agreed["needs"].id)
    needs.text = "<script>alert(1)</script>"
    db.session.commit()
    client = login(cast.users["professional"])
    for url in (f"/patients/{cast.a.id}/review", f"/patients/{cast.a.id}/review/record"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_forged_ids_of_another_patients_goal_change_nothing(agreed, db, cast, login):
    other_goal = cast.plan_b.goals[0]
    other_goal.pending_review = True
    db.session.commit()
    before = other_goal.version
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    data[f"p_goals_{other_goal.id}_decision"] = "amend"
    data[f"p_goals_{other_goal.id}_version"] = str(before)
    data[f"p_goals_{other_goal.id}_title"] = "Hijacked"
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 409
    assert "not waiting for review in this plan" in response.get_data(as_text=True)
    db.session.expire_all()
    other = db.session.get(Goal, other_goal.id)
    assert (other.title, other.pending_review, other.version) == ("Goal 1", True, before)
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1
    assert db.session.get(Goal, agreed["new_goal"].id).status == "proposed"


# --- how agreed goals went -------------------------------------------------------------------


@pytest.fixture
def goals_agreed(db, cast):
    """Patient A's plan agreed as version 1 with its two goals, nothing waiting for review."""
    agree_everything(db, cast.plan_a, cast.users["professional"])
    return cast.plan_a.goals


def _outcome(goal) -> str:
    return f"o_goal_{goal.id}_outcome"


def test_agreed_goals_are_closed_as_achieved_or_not_at_the_meeting(goals_agreed, db, cast, login):
    walk, swim = goals_agreed
    client = login(cast.users["professional"])
    form_page = client.get(f"/patients/{cast.a.id}/review/record").get_data(as_text=True)
    assert "Agreed goals" in form_page and "How did this goal go?" in form_page
    assert f'name="{_outcome(walk)}"' in form_page and f'name="{_outcome(swim)}"' in form_page
    data = meeting_payload(client, cast.a.id, **{_outcome(walk): "achieved"})
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(Goal, walk.id).status == "achieved"
    assert db.session.get(Goal, swim.id).status == "agreed"  # carried on: the default
    version = db.session.scalars(select(PlanVersion).order_by(PlanVersion.number.desc())).first()
    assert version.number == 2
    statuses = {v["title"]: v["status"] for v in version.snapshot["goals"].values()}
    assert statuses == {"Goal 1": "achieved", "Goal 2": "agreed"}
    closed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "goal.achieved"))
    assert [e.detail for e in closed] == [f"goal {walk.id}"]
    # closed goals are not asked about again at the next meeting
    next_form = client.get(f"/patients/{cast.a.id}/review/record").get_data(as_text=True)
    assert _outcome(walk) not in next_form and _outcome(swim) in next_form
    owner = login(cast.users["owner"])
    plan_page = owner.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert '<strong class="nhsuk-tag nhsuk-tag--blue portal-tag">Achieved</strong>' in plan_page
    activity = owner.get(f"/patients/{cast.a.id}/activity").get_data(as_text=True)
    assert "Recorded a goal as achieved" in activity


def test_professional_writes_a_new_goal_with_the_patient_and_agrees_it(
    goals_agreed, db, cast, login
):
    client = login(cast.users["professional"])
    review = client.get(f"/patients/{cast.a.id}/review").get_data(as_text=True)
    assert f'href="/patients/{cast.a.id}/goals/new"' in review
    form_page = client.get(f"/patients/{cast.a.id}/goals/new").get_data(as_text=True)
    assert "Agreed with the patient now" in form_page and "My proposal" in form_page
    response = client.post(
        f"/patients/{cast.a.id}/goals/new",
        data={
            "title": "Join the singing group",
            "why_it_matters": "To see people",
            "recorded_as": "proposal",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{cast.a.id}/plan#goals")
    plan_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved as your proposal." in plan_page
    goal = db.session.scalars(select(Goal).where(Goal.title == "Join the singing group")).one()
    assert (goal.status, goal.pending_review) == ("proposed", True)
    assert goal.proposed_by_id == cast.users["professional"].id
    data = meeting_payload(client, cast.a.id)
    assert f"p_goals_{goal.id}_decision" in data  # asked about with the other proposals
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    db.session.expire_all()
    goal = db.session.get(Goal, goal.id)
    assert (goal.status, goal.pending_review) == ("agreed", False)
    version = db.session.scalars(select(PlanVersion).order_by(PlanVersion.number.desc())).first()
    assert "Join the singing group" in {v["title"] for v in version.snapshot["goals"].values()}


def test_a_goal_not_achieved_is_closed_too(goals_agreed, db, cast, login):
    walk, _swim = goals_agreed
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, **{_outcome(walk): "not_achieved"})
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    assert db.session.get(Goal, walk.id).status == "not_achieved"


@pytest.mark.parametrize("value", ["finished", "", "<b>achieved</b>", "agreed", "withdrawn"])
def test_a_made_up_outcome_is_explained_and_nothing_saved(goals_agreed, db, cast, login, value):
    walk, _swim = goals_agreed
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, **{_outcome(walk): value})
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 200
    assert "Choose how this goal went" in response.get_data(as_text=True)
    assert db.session.get(Goal, walk.id).status == "agreed"
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1


def test_an_outcome_for_another_patients_goal_changes_nothing(goals_agreed, db, cast, login):
    other_goal = cast.plan_b.goals[0]
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, **{_outcome(other_goal): "achieved"})
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 409
    )
    assert db.session.get(Goal, other_goal.id).status == "agreed"
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1


def test_a_goal_changed_after_the_form_opened_is_not_closed(goals_agreed, db, cast, login):
    """The patient proposed a change while the meeting form was open: nothing is saved."""
    walk, _swim = goals_agreed
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, **{_outcome(walk): "achieved"})
    walk.title, walk.pending_review = "Walk to the park and back", True
    db.session.commit()
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 409
    assert "Nothing has been saved yet" in response.get_data(as_text=True)
    goal = db.session.get(Goal, walk.id)
    assert (goal.status, goal.title) == ("agreed", "Walk to the park and back")


def test_record_form_for_another_patient_is_404_even_for_a_professional(agreed, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    url = f"/patients/{cast.no_consent.id}/review/record"
    assert client.post(url, data=as_date_boxes(data)).status_code == 404


# --- two people at once --------------------------------------------------------------------


def test_second_professional_recording_at_once_is_told_and_loses_nothing(agreed, db, cast, app):
    from tests.conftest import sign_in

    second_nurse = make_user(Role.PROFESSIONAL, cast.org, display_name="Second Nurse")
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    sign_in(first, cast.users["professional"])
    sign_in(second, second_nurse)
    first_data = as_date_boxes(meeting_payload(first, cast.a.id))
    second_data = as_date_boxes(
        meeting_payload(second, cast.a.id, notes="Second nurse's careful notes")
    )
    assert first.post(f"/patients/{cast.a.id}/review/record", data=first_data).status_code == 302

    response = second.post(f"/patients/{cast.a.id}/review/record", data=second_data)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else recorded a review meeting" in body
    assert "Second nurse&#39;s careful notes" in body  # kept in the form
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 2
    assert db.session.scalar(select(func.count(ReviewMeeting.id))) == 1

    # saving again, knowingly, records a second meeting on top of the first
    again = hidden_fields(body)  # the form as shown again: the proposals are all decided now
    assert again["agreed_version"] == "2"
    assert not any(name.startswith("p_") for name in again)
    resend = {k: v for k, v in second_data.items() if not k.startswith("p_")} | again
    assert second.post(f"/patients/{cast.a.id}/review/record", data=resend).status_code == 302
    assert db.session.get(CarePlan, cast.plan_a.id).agreed_version == 3


def test_proposal_changed_after_the_form_opened_asks_again(agreed, db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, notes="Keep these notes")
    needs = db.session.get(NeedsSection, agreed["needs"].id)
    needs.text = "Changed again by the patient while the nurse was typing"
    db.session.commit()
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Some proposals changed while you were filling in this form" in body
    assert "Changed again by the patient" in body
    assert "Keep these notes" in body
    assert "This proposal changed while you were filling in the form" in body
    db.session.expire_all()
    assert db.session.get(NeedsSection, agreed["needs"].id).pending_review is True
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1


@pytest.mark.real_commits  # the other save comes through a second connection
def test_a_save_slipping_in_between_check_and_write_is_refused(
    agreed, db, cast, login, monkeypatch
):
    """Someone else's write lands after the version checks: the plan's version column stops it."""
    from sqlalchemy import text

    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id, notes="Notes typed during the race")
    original = services.apply_decision
    raced = []

    def concurrent_save_then_decide(*args, **kwargs):
        if not raced:
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(
                    text("UPDATE care_plans SET version = version + 1 WHERE id = :id"),
                    {"id": cast.plan_a.id},
                )
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "apply_decision", concurrent_save_then_decide)
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert raced and response.status_code == 409
    assert "Notes typed during the race" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(PlanVersion.id))) == 1
    assert db.session.scalar(select(func.count(ReviewMeeting.id))) == 0
    assert db.session.get(NeedsSection, agreed["needs"].id).pending_review is True
    assert db.session.get(Goal, agreed["new_goal"].id).status == "proposed"


def test_new_proposal_after_the_form_opened_asks_again(agreed, db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    db.session.add(Goal(plan_id=cast.plan_a.id, title="A late idea", status="proposed"))
    db.session.commit()
    response = client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))
    assert response.status_code == 409
    assert "A late idea" in response.get_data(as_text=True)


def test_form_without_versions_is_treated_as_stale(agreed, db, cast, login):
    client = login(cast.users["professional"])
    data = meeting_payload(client, cast.a.id)
    del data["agreed_version"]
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 409
    )


# --- booking the meeting and the calendar file ----------------------------------------------


def _future(days: int = 20) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_book_and_move_the_meeting(db, cast, login):
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/meetings/schedule"
    data = {"day": _future(), "at": "10:30", "location": "Riverside, room 3"}
    assert client.post(url, data=as_date_boxes(data)).status_code == 302
    meeting = db.session.scalars(select(ReviewMeeting)).one()
    assert meeting.status == "scheduled" and meeting.location == "Riverside, room 3"
    assert services.to_local(meeting.scheduled_for).time() == time(10, 30)
    data.update(at="14:00", location="Video call")
    assert client.post(url, data=as_date_boxes(data)).status_code == 302
    db.session.expire_all()
    moved = db.session.scalars(select(ReviewMeeting)).one()
    assert moved.id == meeting.id and moved.location == "Video call"
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["meeting.schedule", "meeting.reschedule"]
    body = client.get(url).get_data(as_text=True)
    assert 'value="14:00"' in body  # the form opens on the booked time


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"day": "", "at": "10:00", "location": "Room"}, "Enter the date of the meeting"),
        ({"day": "2027-02-30", "at": "10:00", "location": "Room"}, "must be a real date"),
        ({"day": "2020-01-01", "at": "10:00", "location": "Room"}, "today or in the future"),
        ({"day": "2099-01-01", "at": "10:00", "location": "Room"}, "within the next 2 years"),
        ({"day": _future(), "at": "25:61", "location": "Room"}, "for example 14:30"),
        ({"day": _future(), "at": "", "location": "Room"}, "Enter the time of the meeting"),
        ({"day": _future(), "at": "10:00", "location": ""}, "Enter where the meeting will be"),
        ({"day": _future(), "at": "10:00", "location": "x" * 201}, "200 characters or fewer"),
    ],
)
def test_booking_bad_input(db, cast, login, data, message):
    client = login(cast.users["professional"])
    response = client.post(f"/patients/{cast.a.id}/meetings/schedule", data=as_date_boxes(data))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ReviewMeeting.id))) == 0


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (
            "meetings/schedule",
            {"day": "   ", "at": "10:00", "location": "Riverside <b>room 3</b>"},
            "Enter the date of the meeting",
        ),
        (
            "meetings/schedule",
            {"day": _future(), "at": "   ", "location": "Riverside <b>room 3</b>"},
            "Enter the time of the meeting",
        ),
        (
            "results/new",
            {"name": "HbA1c", "value": "48", "taken_on": "   ", "explanation": "Fine <b>kept</b>"},
            "Enter the date the test was taken",
        ),
    ],
)
def test_a_date_or_time_of_only_spaces_is_asked_for_again(db, cast, login, path, data, message):
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/{path}", data=as_date_boxes(data)
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "There is a problem" in body and message in body
    assert "&lt;b&gt;" in body  # what was typed elsewhere is still there
    assert db.session.scalar(select(func.count(ReviewMeeting.id))) == 0
    assert db.session.scalar(select(func.count(SharedResult.id))) == 0


def test_an_amended_target_date_of_only_spaces_means_no_date(agreed, db, cast, login):
    agreed["changed_goal"].target_date = date.today() + timedelta(days=90)
    db.session.commit()
    client = login(cast.users["professional"])
    goal_key = key("goals", agreed["changed_goal"])
    data = meeting_payload(client, cast.a.id, {goal_key: "amend"})
    data[f"p_{goal_key}_target_date"] = "   "
    assert (
        client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    goal = db.session.get(Goal, agreed["changed_goal"].id)
    assert goal.pending_review is False and goal.target_date is None


@pytest.fixture
def booked(db, cast):
    meeting = ReviewMeeting(
        plan_id=cast.plan_a.id,
        status="scheduled",
        scheduled_for=services_to_utc(date(2030, 6, 14), time(9, 30)),
        location="Riverside Medical Practice, room 3; ask at reception",
    )
    db.session.add(meeting)
    db.session.commit()
    return meeting


def services_to_utc(day, at):
    from zoneinfo import ZoneInfo

    return datetime.combine(day, at, tzinfo=ZoneInfo("Europe/London"))


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_calendar_file_is_valid_icalendar(booked, db, cast, login):
    response = login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/meetings/next.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    text = raw.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    props = dict(line.split(":", 1) for line in lines if ":" in line)
    assert props["VERSION"] == "2.0" and props["PRODID"]
    assert props["UID"] == f"review-meeting-{booked.id}@careplan.nhs.invalid"
    assert re.fullmatch(r"\d{8}T\d{6}Z", props["DTSTAMP"])
    assert props["DTSTART"] == "20300614T083000Z"  # 09:30 British Summer Time
    assert props["DTEND"] == "20300614T090000Z"
    assert props["SUMMARY;LANGUAGE=en-GB"] == "Care plan review meeting"
    location = props["LOCATION;LANGUAGE=en-GB"]
    assert location == "Riverside Medical Practice\\, room 3\\; ask at reception"
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "meeting.calendar_download")
    ).one()
    assert audit.actor_id == cast.users["carer_view"].id and audit.patient_id == cast.a.id


def test_calendar_file_is_in_the_readers_language(booked, db, cast, login, app):
    app.config["LOCALES"] = [*app.config["LOCALES"], "cy"]
    try:
        owner = cast.users["owner"]
        owner.preferred_locale = "cy"
        db.session.commit()
        text = login(owner).get(f"/patients/{cast.a.id}/meetings/next.ics").get_data(as_text=True)
    finally:
        app.config["LOCALES"].remove("cy")
    assert "SUMMARY;LANGUAGE=cy:" in text


def test_no_booked_meeting_no_calendar_file(db, cast, login):
    client = login(cast.users["owner"])
    assert client.get(f"/patients/{cast.a.id}/meetings/next.ics").status_code == 404


def test_ics_escaping_and_folding():
    assert escape_text("a,b;c\\d\ne\r\nf\x07") == "a\\,b\\;c\\\\d\\ne\\nf"
    folded = fold("DESCRIPTION:" + "ß" * 80)
    pieces = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in pieces)
    assert all(p.startswith(" ") for p in pieces[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces)) == "DESCRIPTION:" + "ß" * 80


def test_plan_page_shows_the_booked_meeting_and_last_agreed_version(booked, db, cast, login):
    agree_everything(db, cast.plan_a, cast.users["professional"])
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "Last agreed: version 1 on" in body
    assert f'href="/patients/{cast.a.id}/versions"' in body
    assert "Review meeting booked" in body
    assert f'href="/patients/{cast.a.id}/meetings/next.ics"' in body
    assert f'href="/patients/{cast.a.id}/results"' in body
    assert f'href="/patients/{cast.a.id}/review"' not in body  # for the professional only
    body = (
        login(cast.users["professional"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    )
    assert f'href="/patients/{cast.a.id}/review"' in body


# --- results ---------------------------------------------------------------------------------


def test_share_a_result_and_the_patient_reads_it(db, cast, login):
    client = login(cast.users["professional"])
    data = {
        "name": "Blood pressure",
        "value": "128/76 mmHg",
        "taken_on": (date.today() - timedelta(days=3)).isoformat(),
        "explanation": "This is <b>good</b>: below 140/90.",
    }
    assert (
        client.post(f"/patients/{cast.a.id}/results/new", data=as_date_boxes(data)).status_code
        == 302
    )
    result = db.session.scalars(select(SharedResult)).one()
    assert result.shared_by_id == cast.users["professional"].id
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/results").get_data(as_text=True)
    assert "My results" in body and "Blood pressure" in body and "128/76 mmHg" in body
    assert "This is &lt;b&gt;good&lt;/b&gt;" in body
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "result.share" in actions and actions[-1] == "results.view"
    review = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/review")
    assert "Blood pressure" in review.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter the name of the test"),
        ("name", "x" * 201, "The name must be 200 characters or fewer"),
        ("value", "", "Enter the result"),
        ("value", "x" * 101, "The result must be 100 characters or fewer"),
        ("taken_on", "", "Enter the date the test was taken"),
        ("taken_on", "2026-02-30", "must be a real date"),
        ("taken_on", "3000-01-01", "today or in the past"),
        ("explanation", "", "Explain what the result means"),
        ("explanation", "x" * 2001, "2000 characters or fewer"),
    ],
)
def test_sharing_a_result_bad_input(db, cast, login, field, value, message):
    data = {"name": "HbA1c", "value": "48", "taken_on": "2025-01-02", "explanation": "Fine"}
    data[field] = value
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/results/new", data=as_date_boxes(data)
    )
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SharedResult.id))) == 0


def test_remove_a_result_of_another_plan_is_404(db, cast, login):
    mine = SharedResult(plan_id=cast.plan_a.id, name="Weight", value="68 kg")
    theirs = SharedResult(plan_id=cast.plan_b.id, name="Weight", value="90 kg")
    db.session.add_all([mine, theirs])
    db.session.commit()
    mine_id, theirs_id = mine.id, theirs.id
    client = login(cast.users["professional"])
    assert client.post(f"/patients/{cast.a.id}/results/{theirs_id}/remove").status_code == 404
    assert db.session.get(SharedResult, theirs_id) is not None
    assert client.post(f"/patients/{cast.a.id}/results/{mine_id}/remove").status_code == 302
    assert db.session.get(SharedResult, mine_id) is None
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "result.remove"))
        .one()
        .detail
        == f"result {mine_id}"
    )


# --- named contact ---------------------------------------------------------------------------


def test_patient_asks_for_a_different_named_contact(db, cast, login):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/named-contact/request"
    version = str(cast.plan_a.version)
    response = client.post(
        url, data={"reason": "I would like a nurse who speaks Welsh", "version": version}
    )
    assert response.status_code == 302
    plan = db.session.get(CarePlan, cast.plan_a.id)
    assert plan.named_contact_request == "I would like a nurse who speaks Welsh"
    assert plan.named_contact_requested_at is not None
    plan_page = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "A different named contact was asked for on" in plan_page
    review = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/review")
    body = review.get_data(as_text=True)
    assert "The patient asked for a different named contact" in body
    assert "I would like a nurse who speaks Welsh" in body
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "named_contact.request"))
        .one()
        .actor_id
        == cast.users["owner"].id
    )


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Tell us why you would like a different named contact"),
        ("x" * 501, "500 characters or fewer"),
    ],
)
def test_named_contact_request_bad_input(db, cast, login, reason, message):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/named-contact/request", data={"reason": reason}
    )
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert db.session.get(CarePlan, cast.plan_a.id).named_contact_request is None


def test_professional_changes_the_named_contact_and_answers_the_request(db, cast, login):
    colleague = make_user(Role.PROFESSIONAL, cast.org, display_name="Dr Colleague")
    plan = db.session.get(CarePlan, cast.plan_a.id)
    plan.named_contact_request = "Someone else please"
    db.session.commit()
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/named-contact"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"contact": colleague.id, **form})
    assert response.status_code == 302
    plan = db.session.get(CarePlan, cast.plan_a.id)
    assert plan.named_contact_id == colleague.id
    assert plan.named_contact_request is None and plan.named_contact_requested_at is None
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "named_contact.change"))
        .one()
        .detail
        == f"user {colleague.id}"
    )


def test_named_contact_must_be_of_the_patients_organisation(db, cast, login):
    outsider = cast.users["professional_other_org"]
    carer = cast.users["carer_view"]
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/named-contact"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    for forged in (outsider.id, carer.id, "abc", 99999):
        response = client.post(url, data={"contact": forged, **form})
        assert response.status_code == 200
        assert "Choose a professional from the list" in response.get_data(as_text=True)
    assert (
        db.session.get(CarePlan, cast.plan_a.id).named_contact_id == cast.users["professional"].id
    )


def test_named_contact_change_on_a_changed_plan_is_refused_and_kept(db, cast, login):
    colleague = make_user(Role.PROFESSIONAL, cast.org, display_name="Dr Colleague")
    db.session.commit()
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/named-contact"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    plan = db.session.get(CarePlan, cast.plan_a.id)
    plan.named_contact_request = "changed meanwhile"
    db.session.commit()
    response = client.post(url, data={"contact": colleague.id, **form})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "The plan changed while you were choosing" in body
    assert f'<option selected value="{colleague.id}">' in body
    assert db.session.get(CarePlan, cast.plan_a.id).named_contact_id != colleague.id


# --- who may do what -----------------------------------------------------------------------


def _expected(who: str, allowed: set[str], ok: int = 200) -> int:
    if who == "anonymous":
        return 302
    return ok if who in allowed else 404


GET_ROUTES = [
    ("/patients/{a}/review", AGREERS),
    ("/patients/{a}/review/record", AGREERS),
    ("/patients/{a}/meetings/schedule", AGREERS),
    ("/patients/{a}/results/new", AGREERS),
    ("/patients/{a}/named-contact", AGREERS),
    ("/patients/{a}/results", READERS),
    ("/patients/{a}/meetings/next.ics", READERS),
    ("/patients/{a}/named-contact/request", PROPOSERS),
]


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize(("route", "allowed"), GET_ROUTES)
def test_get_routes(booked, cast, request_as, route, allowed, who):
    response = request_as(cast.users[who], "GET", route.format(a=cast.a.id))
    assert response.status_code == _expected(who, allowed)
    if who == "anonymous":
        assert "/sign-in" in response.headers["Location"]


def _post_payload(db, cast, route: str) -> dict:
    if route.endswith("/review/record"):
        data = {
            "agreed_version": "0",
            "held_on": date.today().isoformat(),
            "attendees": "Alice",
            "patient_feedback": "Good",
        }
        plan = db.session.get(CarePlan, cast.plan_a.id)
        for kind in ("needs", "goals", "wishes", "crisis_steps", "contacts"):
            for item in getattr(plan, kind):
                if item.pending_review:
                    data[f"p_{kind}_{item.id}_version"] = str(item.version)
                    data[f"p_{kind}_{item.id}_decision"] = "agree"
        usual = plan.usual_state
        data[f"p_usual_state_{usual.id}_version"] = str(usual.version)
        data[f"p_usual_state_{usual.id}_decision"] = "agree"
        return data
    if route.endswith("/schedule"):
        return {"day": _future(), "at": "10:00", "location": "Room 1"}
    if route.endswith("/results/new"):
        return {"name": "Weight", "value": "68 kg", "taken_on": "2025-01-01", "explanation": "Ok"}
    if route.endswith("/named-contact"):
        plan = db.session.get(CarePlan, cast.plan_a.id)
        return {"contact": cast.users["professional"].id, "plan_version": str(plan.version)}
    if route.endswith("/request"):
        plan = db.session.get(CarePlan, cast.plan_a.id)
        return {"reason": "Please", "version": str(plan.version)}
    return {}


POST_ROUTES = [
    ("/patients/{a}/review/record", AGREERS),
    ("/patients/{a}/meetings/schedule", AGREERS),
    ("/patients/{a}/results/new", AGREERS),
    ("/patients/{a}/results/{result}/remove", AGREERS),
    ("/patients/{a}/named-contact", AGREERS),
    ("/patients/{a}/named-contact/request", PROPOSERS),
]


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize(("route", "allowed"), POST_ROUTES)
def test_post_routes(db, cast, request_as, route, allowed, who):
    result = SharedResult(plan_id=cast.plan_a.id, name="Weight", value="68 kg")
    db.session.add(result)
    db.session.commit()
    url = route.format(a=cast.a.id, result=result.id)
    data = as_date_boxes(_post_payload(db, cast, route))
    events_before = db.session.scalar(select(func.count(AuditEvent.id)))
    response = request_as(cast.users[who], "POST", url, data=as_date_boxes(data))
    assert response.status_code == _expected(who, allowed, ok=302)
    changed = db.session.scalar(select(func.count(AuditEvent.id))) != events_before
    assert changed is (who in allowed)  # refused requests leave no trace of a change


@pytest.mark.parametrize("route", [route for route, _allowed in POST_ROUTES])
def test_every_form_needs_its_csrf_token(app, db, cast, request_as, route):
    result = SharedResult(plan_id=cast.plan_a.id, name="Weight", value="68 kg")
    db.session.add(result)
    db.session.commit()
    who = "owner" if route.endswith("/request") else "professional"
    data = as_date_boxes(_post_payload(db, cast, route))
    events_before = db.session.scalar(select(func.count(AuditEvent.id)))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        url = route.format(a=cast.a.id, result=result.id)
        response = request_as(cast.users[who], "POST", url, data=as_date_boxes(data))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events_before


@pytest.mark.parametrize(("route", "_allowed"), GET_ROUTES)
def test_professional_without_patient_consent_gets_404(booked, cast, request_as, route, _allowed):
    url = route.format(a=cast.no_consent.id)
    assert request_as(cast.users["professional"], "GET", url).status_code == 404


def test_professional_sees_no_other_organisations_patient(db, cast, login):
    other_org_patient = make_patient(cast.other_org)
    make_plan(other_org_patient)
    db.session.commit()
    client = login(cast.users["professional"])
    assert client.get(f"/patients/{other_org_patient.id}/review").status_code == 404
    assert client.get("/patients/999999/review").status_code == 404


# --- demo ------------------------------------------------------------------------------------


def test_demo_has_an_agreed_version_and_a_booked_meeting(db):
    from portal.demo import load_demo_data
    from portal.models import Patient

    assert load_demo_data() is True
    assert load_demo_data() is False
    margaret = db.session.scalars(select(Patient).where(Patient.given_name == "Margaret")).one()
    plan = margaret.plan
    versions = db.session.scalars(select(PlanVersion).where(PlanVersion.plan_id == plan.id)).all()
    assert [v.number for v in versions] == [1] and plan.agreed_version == 1
    snap = versions[0].snapshot
    assert len(snap["needs"]) == 9
    assert "Get back to the Thursday lunch club" not in {g["title"] for g in snap["goals"].values()}
    meeting = db.session.scalars(
        select(ReviewMeeting).where(
            ReviewMeeting.plan_id == plan.id, ReviewMeeting.status == "scheduled"
        )
    ).one()
    assert meeting.scheduled_for.date() == plan.next_review_date
    assert (
        db.session.scalar(
            select(func.count(SharedResult.id)).where(SharedResult.plan_id == plan.id)
        )
        >= 2
    )
