"""Bounded work per plan: limits on goals, crisis steps, contacts and the care team; PDFs
bounded in time and pages with a message page instead of a killed worker."""

import json
import re
import time

import pytest
from sqlalchemy import func, select

from portal import limits
from portal.extensions import db as _db
from portal.goals import services as goal_services
from portal.models import AuditEvent, CareTeamMember, Contact, CrisisStep, Goal, GoalStatus
from portal.pdf import services as pdf_services
from tests.test_contingency import CONTACT, MEMBER, STEP


def _count(model, plan_id: int) -> int:
    return _db.session.scalar(
        select(func.count()).select_from(model).where(model.plan_id == plan_id)
    )


def _fill(model, plan, **values) -> None:
    """Add items until the plan holds the most it may."""
    have = _count(model, plan.id)
    limit, _message = limits.LIMITS[model]
    for n in range(limit - have):
        _db.session.add(model(plan_id=plan.id, position=100 + n, **values))
    _db.session.commit()


def _fill_goals(plan, user_id: int, status=GoalStatus.AGREED) -> None:
    for n in range(limits.MAX_GOALS - _count(Goal, plan.id)):
        _db.session.add(
            Goal(plan_id=plan.id, title=f"Goal {n}", status=status, proposed_by_id=user_id)
        )
    _db.session.commit()


def test_a_full_plan_takes_no_new_goal_and_says_why(db, cast, login):
    _fill_goals(cast.plan_a, cast.a.user_id)
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/goals/new"
    message = f"This plan already has {limits.MAX_GOALS} goals, the most it can hold."

    response = client.get(url, follow_redirects=True)
    assert message in response.get_data(as_text=True)

    response = client.post(url, data={"title": "One more"}, follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert _count(Goal, cast.plan_a.id) == limits.MAX_GOALS


def test_a_plan_filled_up_after_the_form_opened_gives_the_goal_typed_back(db, cast, login):
    """Another person adds the last goal while the patient is typing: nothing is saved, and
    what they typed is in the form again to copy."""
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/goals/new"
    assert client.get(url).status_code == 200  # room when the form was opened
    _fill_goals(cast.plan_a, cast.a.user_id)
    typed = {"title": "Swim on Fridays", "why_it_matters": "I miss the water"}
    response = client.post(url, data=typed)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f"This plan already has {limits.MAX_GOALS} goals, the most it can hold." in page
    assert "This goal has not been saved" in page
    assert 'value="Swim on Fridays"' in page and "I miss the water" in page
    assert _count(Goal, cast.plan_a.id) == limits.MAX_GOALS


def test_goals_whose_withdrawal_was_agreed_leave_room(db, cast, login):
    _fill_goals(cast.plan_a, cast.a.user_id)
    goal = _db.session.scalars(select(Goal).where(Goal.plan_id == cast.plan_a.id)).first()
    goal.status, goal.pending_review = GoalStatus.WITHDRAWN, False
    _db.session.commit()
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/new", data={"title": "Walk to the park"}
    )
    assert response.status_code == 302
    assert _db.session.scalar(select(Goal).where(Goal.title == "Walk to the park"))


def test_the_service_refuses_a_goal_past_the_limit_whoever_calls_it(db, cast, app):
    _fill_goals(cast.plan_a, cast.a.user_id)
    with app.test_request_context(), pytest.raises(limits.PlanFull):
        goal_services.add_goal(cast.plan_a.id, {"title": "x"}, cast.a.user, cast.a.id)


@pytest.mark.parametrize(
    ("model", "path", "data", "values", "word"),
    [
        (
            CrisisStep,
            "steps",
            STEP,
            {"level": "green", "signs": "s", "actions": "a"},
            f"{limits.MAX_CRISIS_STEPS} steps",
        ),
        (
            Contact,
            "contacts",
            CONTACT,
            {"kind": "other", "name": "n", "phone": "999"},
            f"{limits.MAX_CONTACTS} contacts",
        ),
    ],
)
def test_a_full_crisis_plan_takes_no_new_step_or_contact(
    db, cast, login, model, path, data, values, word
):
    _fill(model, cast.plan_a, **values)
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/contingency/{path}/new"
    response = client.get(url, follow_redirects=True)
    assert word in response.get_data(as_text=True)
    response = client.post(url, data=data)  # the plan filled up after the form was opened
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert word in page and "This has not been saved" in page
    assert "What you typed is still in the form below" in page
    for value in data.values():
        if value not in ("amber", "carer"):  # coded: chosen again, not typed
            assert value in page
    assert _count(model, cast.plan_a.id) == limits.LIMITS[model][0]


def test_one_below_the_limit_still_adds(db, cast, login):
    _fill(CrisisStep, cast.plan_a, level="green", signs="s", actions="a")
    last = _db.session.scalars(
        select(CrisisStep).where(CrisisStep.plan_id == cast.plan_a.id)
    ).first()
    _db.session.delete(last)
    _db.session.commit()
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/steps/new", data=STEP
    )
    assert response.status_code == 302
    assert _count(CrisisStep, cast.plan_a.id) == limits.MAX_CRISIS_STEPS


def test_a_full_care_team_takes_no_new_member(db, cast, login):
    _fill(CareTeamMember, cast.plan_a, name="m", role="r")
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/care-team/new"
    word = f"This care team already has {limits.MAX_CARE_TEAM} members"
    assert word in client.get(url, follow_redirects=True).get_data(as_text=True)
    response = client.post(url, data=MEMBER)  # the team filled up after the form was opened
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert word in page and "This has not been saved" in page
    assert "What you typed is still in the form below" in page
    assert all(value in page for value in MEMBER.values())
    assert _count(CareTeamMember, cast.plan_a.id) == limits.MAX_CARE_TEAM


@pytest.fixture
def fresh_pdfs(app):
    with app.app_context():
        pdf_services.pdf_cache().clear()
    yield
    with app.app_context():
        pdf_services.pdf_cache().clear()


def test_a_plan_pdf_past_the_page_limit_gives_a_message_page(
    db, cast, login, app, monkeypatch, fresh_pdfs
):
    monkeypatch.setitem(app.config, "PDF_MAX_PAGES", 1)  # the test plan runs to two pages
    response = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan.pdf")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "This plan is too long to make into a PDF" in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"]  # the portal's own page and headers
    assert not _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pdf.plan"))


def test_every_pdf_refused_gives_the_message_page(db, cast, login, app, monkeypatch):
    """The patient's copy of their data, too (a refused render of it was a 500)."""
    monkeypatch.setitem(app.config, "PDF_MAX_PAGES", 0)
    response = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/my-data.pdf")
    assert response.status_code == 503
    assert "too long to make into a PDF" in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"]
    assert not _db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "data.download")
    )


def test_a_render_past_its_time_gives_a_message_page_not_a_killed_worker(
    db, cast, login, app, monkeypatch, fresh_pdfs
):
    def slow(*_args):
        time.sleep(1)
        return b"%PDF-1.7 late"

    monkeypatch.setitem(app.config, "PDF_RENDER_SECONDS", 0.05)
    monkeypatch.setattr(pdf_services, "_lay_out", slow)
    response = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/crisis.pdf")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "The PDF is taking too long to make" in response.get_data(as_text=True)
    time.sleep(1)  # let the abandoned render finish before the next test renders


def test_an_import_that_would_pass_the_limit_imports_nothing_and_says_why(db, cast, request_as):
    from portal.portability import valuesets as vs
    from tests.test_fhir_import import _bundle, _goal, _patient
    from tests.test_portability import _import

    patient = _patient(
        identifier=[{"system": vs.NHS_NUMBER_SYSTEM, "value": cast.a.nhs_number}],
        name=[{"family": cast.a.family_name, "given": [cast.a.given_name]}],
        birthDate=cast.a.date_of_birth.isoformat(),
    )
    bundle = _bundle(_goal("new-1", "Swim again"), patient=patient)  # one goal to add
    _fill_goals(cast.plan_a, cast.a.user_id)
    before = _count(Goal, cast.plan_a.id)
    response = _import(
        request_as, cast.users["professional"], cast.a.id, json.dumps(bundle).encode()
    )
    assert response.status_code in (200, 400, 422)
    assert f"This plan already has {limits.MAX_GOALS} goals" in response.get_data(as_text=True)
    assert _count(Goal, cast.plan_a.id) == before


def test_the_limits_docs_security_lists_are_the_ones_the_code_enforces():
    """docs/security.md gives the limits per plan; a changed limit must change the page too."""
    from pathlib import Path

    from portal.config import Defaults

    page = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    table = page.split("| What | Limit |", 1)[1].split("\n\n", 1)[0]
    listed = dict(re.findall(r"^\| (.+?) \| (\d[^|]*?) \|$", table, flags=re.MULTILINE))
    assert listed == {
        "Goals (a goal whose withdrawal was agreed no longer counts)": str(limits.MAX_GOALS),
        "Crisis steps": str(limits.MAX_CRISIS_STEPS),
        "Contacts": str(limits.MAX_CONTACTS),
        "Care team members": str(limits.MAX_CARE_TEAM),
        "Crisis step: signs to look for / what to do / who to contact": (
            f"{limits.CRISIS_SIGNS_LIMIT} / {limits.CRISIS_ACTIONS_LIMIT} / "
            f"{limits.CRISIS_WHO_LIMIT} characters"
        ),
        "Usual state of health: each description / medicines and allergies": (
            f"{limits.USUAL_STATE_LIMIT} / {limits.MEDICINES_LIMIT} characters"
        ),
        "Where a document or medicine is kept": f"{limits.LOCATION_LIMIT} characters",
        "Contact: name / relationship and when to call": (
            f"{limits.CONTACT_NAME_LIMIT} / {limits.CONTACT_DETAIL_LIMIT} characters"
        ),
        "Time to render one PDF (`PDF_RENDER_SECONDS`)": f"{Defaults.PDF_RENDER_SECONDS} s",
        "Pages in one PDF (`PDF_MAX_PAGES`)": str(Defaults.PDF_MAX_PAGES),
    }
