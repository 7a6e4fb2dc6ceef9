"""A professional decides on crisis changes as soon as they are seen, without a meeting.

A carer's unsafe instruction ("if oxygen under 88%, ring 111 first") must not wait for the
next review: from the worklist or the crisis page, the change is accepted, amended or declined,
and what is accepted is agreed as a new version of the plan.
"""

from datetime import date

from sqlalchemy import func, select

from portal.contingency.held_apart import hold_apart
from portal.models import (
    AuditEvent,
    CarePlan,
    CrisisStep,
    NeedsSection,
    Notification,
    NotificationKind,
    ReviewMeeting,
)
from tests.test_held_apart import DUBIOUS, _agreed_plan, _carer_adds_a_step
from tests.test_meetings import hidden_fields

SAFER = "Ring 999 if oxygen is under 88%"


def _url(cast) -> str:
    return f"/patients/{cast.a.id}/crisis/changes"


def _decisions(client, cast, choice: str = "agree", **extra) -> dict:
    """Open the form as the professional would and choose ``choice`` for every change."""
    data = hidden_fields(client.get(_url(cast)).get_data(as_text=True))
    for name in list(data):
        if name.startswith("p_") and name.endswith("_version"):
            data[name.removesuffix("_version") + "_decision"] = choice
    return data | extra


def _waiting(db, cast, login):
    """Patient A's plan agreed, then the carer's dubious step; the nurse signed in."""
    _agreed_plan(db, cast)
    _carer_adds_a_step(cast, login)
    return login(cast.users["professional"])


def _plan(db, cast) -> CarePlan:
    db.session.expire_all()
    return db.session.get(CarePlan, cast.plan_a.id)


def _audited(db, cast) -> set[str]:
    query = select(AuditEvent.action).where(AuditEvent.patient_id == cast.a.id)
    return set(db.session.scalars(query))


def _dubious_step_id(db) -> int:
    return db.session.scalars(select(CrisisStep.id).where(CrisisStep.actions == DUBIOUS)).one()


def test_accepting_from_the_worklist_agrees_a_new_version_without_a_meeting(db, cast, login):
    nurse = _waiting(db, cast, login)
    worklist = nurse.get("/worklist?filter=crisis").get_data(as_text=True)
    assert "Alice Able" in worklist and f'href="{_url(cast)}"' in worklist

    page = nurse.get(_url(cast)).get_data(as_text=True)
    assert DUBIOUS in page and "Check the crisis plan changes" in page
    assert "My breathing" not in page  # other proposals wait for the meeting

    response = nurse.post(_url(cast), data=_decisions(nurse, cast))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{cast.a.id}/crisis")

    plan = _plan(db, cast)
    held = hold_apart(plan)
    assert held.changes == [] and DUBIOUS in [s.actions for s in held.steps]
    assert plan.agreed_version == 2
    assert db.session.scalar(select(func.count()).select_from(ReviewMeeting)) == 0
    assert plan.last_review_date is None and plan.contingency_reviewed_on is None
    needs = select(NeedsSection.pending_review).where(NeedsSection.plan_id == plan.id)
    assert db.session.scalars(needs).all() == [True]  # still waits for the meeting
    assert {"crisis_step.agree", "contingency.changes_review"} <= _audited(db, cast)
    told = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.PLAN_AGREED)
    ).all()
    assert [(n.user_id, n.params.get("crisis")) for n in told] == [(cast.a.user_id, True)]
    crisis = nurse.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert "not-yet-checked" not in crisis
    assert f'href="{_url(cast)}"' not in nurse.get("/worklist").get_data(as_text=True)


def test_amending_puts_the_professionals_words_in_the_agreed_plan(db, cast, login):
    nurse = _waiting(db, cast, login)
    step_id = _dubious_step_id(db)
    data = _decisions(nurse, cast)
    data[f"p_crisis_steps_{step_id}_decision"] = "amend"
    data[f"p_crisis_steps_{step_id}_actions"] = SAFER
    assert nurse.post(_url(cast), data=data).status_code == 302
    held = hold_apart(_plan(db, cast))
    assert SAFER in [s.actions for s in held.steps] and held.changes == []
    assert "crisis_step.amend" in _audited(db, cast)


def test_declining_takes_the_new_step_off_the_crisis_page(db, cast, login):
    nurse = _waiting(db, cast, login)
    step_id = _dubious_step_id(db)
    assert nurse.post(_url(cast), data=_decisions(nurse, cast, "decline")).status_code == 302
    assert db.session.get(CrisisStep, step_id) is None
    plan = _plan(db, cast)
    assert hold_apart(plan).changes == [] and plan.agreed_version == 2
    assert "crisis_step.decline" in _audited(db, cast)
    page = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert DUBIOUS not in page


def test_saying_the_whole_crisis_plan_was_checked_records_today_and_the_name(db, cast, login):
    nurse = _waiting(db, cast, login)
    data = _decisions(nurse, cast, crisis_reviewed="y")
    assert nurse.post(_url(cast), data=data).status_code == 302
    plan = _plan(db, cast)
    assert plan.contingency_reviewed_on == date.today()
    assert plan.contingency_reviewed_by_id == cast.users["professional"].id
    assert "contingency.review" in _audited(db, cast)


def test_a_change_made_while_the_form_was_open_is_refused_and_nothing_saved(db, cast, login):
    nurse = _waiting(db, cast, login)
    data = _decisions(nurse, cast)
    _carer_adds_a_step(cast, login)  # a second step, after the form was opened
    nurse = login(cast.users["professional"])
    response = nurse.post(_url(cast), data=data)
    assert response.status_code == 409
    assert "Some changes were made while you were filling in this form" in response.get_data(
        as_text=True
    )
    plan = _plan(db, cast)
    assert plan.agreed_version == 1 and len(hold_apart(plan).changes) == 2


def test_a_missing_decision_asks_for_one_and_saves_nothing(db, cast, login):
    nurse = _waiting(db, cast, login)
    data = {k: v for k, v in _decisions(nurse, cast).items() if not k.endswith("_decision")}
    response = nurse.post(_url(cast), data=data)
    assert response.status_code == 200
    assert "Choose whether to agree, amend or decline the proposal" in response.get_data(
        as_text=True
    )
    assert _plan(db, cast).agreed_version == 1


def test_another_plans_item_is_refused(db, cast, login):
    nurse = _waiting(db, cast, login)
    other = cast.plan_b.crisis_steps[0]
    data = _decisions(nurse, cast) | {
        f"p_crisis_steps_{other.id}_version": str(other.version),
        f"p_crisis_steps_{other.id}_decision": "agree",
    }
    assert nurse.post(_url(cast), data=data).status_code == 409
    assert _plan(db, cast).agreed_version == 1


def test_with_nothing_waiting_the_page_says_so(db, cast, login):
    _agreed_plan(db, cast)
    nurse = login(cast.users["professional"])
    page = nurse.get(_url(cast)).get_data(as_text=True)
    assert "There are no crisis plan changes waiting for review." in page
    assert nurse.post(_url(cast), data={}).status_code == 409


def test_the_crisis_page_offers_the_check_to_the_care_team_only(db, cast, login):
    _waiting(db, cast, login)
    for who, offered in (("professional", True), ("owner", False), ("carer_contribute", False)):
        page = login(cast.users[who]).get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
        assert (f'href="{_url(cast)}"' in page) is offered, who


def test_a_change_to_whom_a_step_rings_or_to_opening_hours_is_shown_as_a_change(db, cast, login):
    plan = _agreed_plan(db, cast)
    step, contact = plan.crisis_steps[0], plan.contacts[0]
    carer = login(cast.users["carer_contribute"])
    carer.post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}",
        data={
            "level": "red",
            "signs": "Lips blue",
            "actions": "Ring 999",
            "call": "111",
            "version": step.version,
        },
    )
    carer.post(
        f"/patients/{cast.a.id}/contingency/contacts/{contact.id}",
        data={
            "kind": "next_of_kin",
            "name": "Sam",
            "phone": "07700 900123",
            "opens_at": "09:00",
            "closes_at": "17:00",
            "weekdays_only": "y",
            "version": contact.version,
        },
    )
    page = login(cast.users["professional"]).get(_url(cast)).get_data(as_text=True)
    assert "Saved again without changes to the agreed text." not in page
    assert "Who to call, chosen from the list" in page and "NHS 111" in page
    assert "Opening hours" in page and "Open Monday to Friday, 09:00 to 17:00" in page
