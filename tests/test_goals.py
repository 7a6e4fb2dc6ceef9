"""Patients and contributing carers add, change and withdraw goals as proposals."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Goal, GoalStatus, Role
from portal.models.base import utcnow
from tests.editing_helpers import (
    EVERYONE,
    IN_CLINIC,
    WRITERS,
    check_matrix_response,
    hidden_value,
    second_client,
)
from tests.factories import make_org, make_patient, make_plan, make_user

NEXT_YEAR = date.today().year + 1


def _goal(db, cast, n: int = 0) -> Goal:
    return db.session.scalars(
        select(Goal).where(Goal.plan_id == cast.plan_a.id).order_by(Goal.id)
    ).all()[n]


def _form(title="Swim once a week", why="To feel stronger", steps="Ask about the pool", **date_):
    data = {
        "title": title,
        "why_it_matters": why,
        "steps": steps,
        "target_date-day": date_.get("day", ""),
        "target_date-month": date_.get("month", ""),
        "target_date-year": date_.get("year", ""),
    }
    if "version" in date_:
        data["version"] = str(date_["version"])
    return data


def _actions(db, patient_id):
    return [
        e.action
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.patient_id == patient_id).order_by(AuditEvent.id)
        )
    ]


def _plan_page(client, cast) -> str:
    return client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)


# Journeys


def test_patient_adds_a_goal_as_a_proposal(db, cast, login):
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/goals/new",
        data=_form(day="1", month="6", year=str(NEXT_YEAR)),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{cast.a.id}/plan#goals")
    goal = db.session.scalar(select(Goal).where(Goal.title == "Swim once a week"))
    assert goal.status == GoalStatus.PROPOSED
    assert goal.pending_review
    assert goal.proposed_by_id == goal.updated_by_id == cast.a.user_id
    assert goal.why_it_matters == "To feel stronger"
    assert goal.steps == "Ask about the pool"
    assert goal.target_date == date(NEXT_YEAR, 6, 1)
    assert goal.language == "en"
    assert "goal.create" in _actions(db, cast.a.id)

    body = _plan_page(client, cast)
    assert "Your new goal has been saved" in body
    assert "Swim once a week" in body
    assert "Your suggestion – not yet agreed" in body
    assert re.search(rf"Target date: [^<]*June[^<]*{NEXT_YEAR}", body)


def test_carer_proposal_is_attributed_to_the_carer(db, cast, login):
    carer = cast.users["carer_contribute"]
    login(carer).post(f"/patients/{cast.a.id}/goals/new", data=_form(title="Garden on Sundays"))
    goal = db.session.scalar(select(Goal).where(Goal.title == "Garden on Sundays"))
    assert goal.proposed_by_id == carer.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "goal.create"))
    assert event.actor_id == carer.id and event.patient_id == cast.a.id
    assert event.detail == f"goal {goal.id}"  # names what was touched, not what it says
    body = _plan_page(login(cast.users["owner"]), cast)
    assert "Added by Carer contribute – not yet agreed" in body


@pytest.mark.parametrize("who", ["owner", "carer_contribute"])
def test_a_patients_or_carers_new_goal_is_a_proposal_whatever_is_posted(db, cast, login, who):
    """Only a professional in clinic is asked whether it was agreed; a forged answer from
    anyone else is ignored and the goal waits for the review."""
    client = login(cast.users[who])
    url = f"/patients/{cast.a.id}/goals/new"
    assert "Agreed with the patient now" not in client.get(url).get_data(as_text=True)
    response = client.post(url, data={**_form(title="Forged agreement"), **IN_CLINIC})
    assert response.status_code == 302
    goal = db.session.scalar(select(Goal).where(Goal.title == "Forged agreement"))
    assert goal.status == GoalStatus.PROPOSED and goal.pending_review
    assert not goal.written_with_patient and goal.agreed_by_id is None
    assert _actions(db, cast.a.id) == ["goal.create"]
    assert "Your new goal has been saved" in _plan_page(client, cast)


def test_add_form_has_the_fields_and_no_empty_attributes(cast, login):
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/goals/new").get_data(True)
    assert "What I want to achieve" in body
    assert "Why it matters to me" in body
    assert "The steps, and who will help" in body
    assert 'name="target_date-day"' in body and 'name="target_date-year"' in body
    assert 'data-maxlength="2000"' in body  # character count on the long answers
    assert '="None"' not in body


def test_editing_an_agreed_goal_keeps_it_agreed_but_marks_the_change(db, cast, login):
    goal = _goal(db, cast)
    client = login(cast.users["owner"])
    page = client.get(f"/patients/{cast.a.id}/goals/{goal.id}/edit").get_data(as_text=True)
    assert 'value="Goal 1"' in page
    assert hidden_value(page, "version") == "1"
    response = client.post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data=_form(title="Goal 1, walking further", version=1),
    )
    assert response.status_code == 302
    db.session.refresh(goal)
    assert goal.title == "Goal 1, walking further"
    assert goal.status == GoalStatus.AGREED
    assert goal.pending_review
    assert goal.version == 2
    assert _actions(db, cast.a.id) == ["goal.view", "goal.edit"]

    body = _plan_page(client, cast)
    card = body[body.index(f'id="goal-{goal.id}"') :]
    card = card[: card.index('class="nhsuk-card"', 10)]
    assert "Your suggestion – not yet agreed" in card


def test_saving_a_goal_sends_a_fixed_few_statements(db, cast, login, count_queries):
    """The load test's goal save, by the patient: who is signed in, the access check, the
    goal, its update and its audit event. Nothing of the plan: the page the save leads to
    reads it anyway."""
    goal = _goal(db, cast)
    client = login(cast.users["owner"])
    with count_queries() as counter:
        response = client.post(
            f"/patients/{cast.a.id}/goals/{goal.id}/edit",
            data=_form(title="Goal 1, walking further", version=1),
        )
    assert response.status_code == 302
    assert counter.count <= 5, "\n".join(counter.statements)


def test_saving_without_changes_does_not_make_a_proposal(db, cast, login):
    goal = _goal(db, cast)
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data=_form(title="Goal 1", why="Because", steps="", version=1),
    )
    assert response.status_code == 302
    db.session.refresh(goal)
    assert not goal.pending_review and goal.version == 1
    assert "nothing new has been saved" in _plan_page(client, cast)


def test_withdrawing_is_a_proposal_shown_on_the_plan(db, cast, login):
    goal = _goal(db, cast)
    goal.language = "ur"
    db.session.commit()
    client = login(cast.users["carer_contribute"])
    page = client.get(f"/patients/{cast.a.id}/goals/{goal.id}/withdraw").get_data(as_text=True)
    assert "Do you want to withdraw this goal?" in page
    assert 'lang="ur">Goal 1' in page
    response = client.post(
        f"/patients/{cast.a.id}/goals/{goal.id}/withdraw",
        data={"version": hidden_value(page, "version")},
    )
    assert response.status_code == 302
    db.session.refresh(goal)
    assert goal.status == GoalStatus.WITHDRAWN
    assert goal.pending_review
    assert goal.updated_by_id == cast.users["carer_contribute"].id
    assert goal.language == "ur"  # withdrawing does not rewrite the text
    assert _actions(db, cast.a.id) == ["goal.view", "goal.withdraw"]

    body = _plan_page(login(cast.users["owner"]), cast)
    assert "Carer contribute asked to stop this goal – not yet agreed" in body
    assert "Keep this goal" in body
    assert f"/patients/{cast.a.id}/goals/{goal.id}/edit" not in body


def test_keeping_a_goal_takes_back_the_withdrawal(db, cast, login):
    goal = _goal(db, cast)
    goal.agreed_at = utcnow()
    db.session.commit()
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/goals/{goal.id}"
    client.post(f"{url}/withdraw", data={"version": str(goal.version)})
    db.session.refresh(goal)
    response = client.post(f"{url}/keep", data={"version": str(goal.version)})
    assert response.status_code == 302
    db.session.refresh(goal)
    assert goal.status == GoalStatus.AGREED
    assert "goal.keep" in _actions(db, cast.a.id)
    assert "You have taken back your request" in _plan_page(client, cast)


def test_keeping_a_never_agreed_goal_returns_it_to_proposed(db, cast, login):
    client = login(cast.users["owner"])
    client.post(f"/patients/{cast.a.id}/goals/new", data=_form())
    goal = db.session.scalar(select(Goal).where(Goal.title == "Swim once a week"))
    client.post(f"/patients/{cast.a.id}/goals/{goal.id}/withdraw", data={"version": "1"})
    client.post(f"/patients/{cast.a.id}/goals/{goal.id}/keep", data={"version": "2"})
    db.session.refresh(goal)
    assert goal.status == GoalStatus.PROPOSED


def test_keep_with_a_stale_version_changes_nothing(db, cast, login):
    goal = _goal(db, cast)
    client = login(cast.users["owner"])
    client.post(f"/patients/{cast.a.id}/goals/{goal.id}/withdraw", data={"version": "1"})
    response = client.post(f"/patients/{cast.a.id}/goals/{goal.id}/keep", data={"version": "1"})
    assert response.status_code == 302
    db.session.refresh(goal)
    assert goal.status == GoalStatus.WITHDRAWN
    assert "Someone else changed this goal" in _plan_page(client, cast)


def test_plan_shows_change_links_only_to_people_who_may_write(cast, login):
    """A professional adds a goal and changes one with the patient; only the patient's side
    asks to withdraw one between meetings."""
    add_link = f"/patients/{cast.a.id}/goals/new"
    for who in ("owner", "carer_contribute"):
        assert add_link in _plan_page(login(cast.users[who]), cast)
    for who in ("carer_view", "professional"):
        body = _plan_page(login(cast.users[who]), cast)
        assert (add_link in body) == (who == "professional")
        assert ("/edit" in body) == (who == "professional")
        assert "/withdraw" not in body


# Two people editing the same goal


@pytest.mark.parametrize("first", ["owner", "carer_contribute"])
def test_later_save_sees_both_texts_and_keeps_what_was_typed(app, db, cast, first):
    second = "carer_contribute" if first == "owner" else "owner"
    goal = _goal(db, cast)
    url = f"/patients/{cast.a.id}/goals/{goal.id}/edit"
    early = second_client(app, cast.users[first])
    late = second_client(app, cast.users[second])
    early_version = hidden_value(early.get(url).get_data(as_text=True), "version")
    late_version = hidden_value(late.get(url).get_data(as_text=True), "version")
    assert early_version == late_version == "1"

    saved = early.post(url, data=_form(title="Walk to the park", version=early_version))
    assert saved.status_code == 302
    clash = late.post(url, data=_form(title="Walk to the river", version=late_version))
    assert clash.status_code == 409
    body = clash.get_data(as_text=True)
    assert "Someone else changed this while you were editing" in body
    assert "Walk to the park" in body  # what the other person saved
    assert 'value="Walk to the river"' in body  # what this person typed, still in the form
    assert hidden_value(body, "version") == "2"
    db.session.refresh(goal)
    assert goal.title == "Walk to the park"

    again = late.post(url, data=_form(title="Walk to the river", version="2"))
    assert again.status_code == 302
    db.session.refresh(goal)
    assert goal.title == "Walk to the river"
    assert goal.updated_by_id == cast.users[second].id
    assert _actions(db, cast.a.id).count("goal.edit") == 2


def test_withdrawing_a_goal_changed_meanwhile_asks_again(app, db, cast):
    goal = _goal(db, cast)
    patient = second_client(app, cast.users["owner"])
    carer = second_client(app, cast.users["carer_contribute"])
    withdraw_url = f"/patients/{cast.a.id}/goals/{goal.id}/withdraw"
    version = hidden_value(patient.get(withdraw_url).get_data(as_text=True), "version")
    carer.post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data=_form(title="Goal 1 made easier", version=1),
    )
    response = patient.post(withdraw_url, data={"version": version})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Someone else changed this goal" in body
    assert "Goal 1 made easier" in body
    db.session.refresh(goal)
    assert goal.status == GoalStatus.AGREED
    assert patient.post(withdraw_url, data={"version": "2"}).status_code == 302


def test_a_missing_or_garbled_version_counts_as_stale(db, cast, login):
    goal = _goal(db, cast)
    client = login(cast.users["owner"])
    for version in ("", "abc", "99"):
        data = _form(title="Changed")
        if version:
            data["version"] = version
        response = client.post(f"/patients/{cast.a.id}/goals/{goal.id}/edit", data=data)
        assert response.status_code == 409
    db.session.refresh(goal)
    assert goal.title == "Goal 1"


def test_goal_closed_meanwhile_keeps_the_typed_text(db, cast, login):
    goal = _goal(db, cast)
    goal.status = GoalStatus.ACHIEVED
    db.session.commit()
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/goals/{goal.id}"
    assert client.get(f"{url}/edit").status_code == 404
    assert client.get(f"{url}/withdraw").status_code == 404
    response = client.post(f"{url}/edit", data=_form(title="My typed words", version=1))
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "This goal can no longer be changed" in body
    assert 'value="My typed words"' in body
    assert client.post(f"{url}/withdraw", data={"version": "1"}).status_code == 409
    db.session.refresh(goal)
    assert goal.status == GoalStatus.ACHIEVED and goal.title == "Goal 1"


# Bad input


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_form(title=""), "Enter what you want to achieve"),
        (_form(title="   \r\n "), "Enter what you want to achieve"),
        (_form(title="x" * 201), "What you want to achieve must be 200 characters or fewer"),
        (_form(why="x" * 2001), "Why it matters must be 2000 characters or fewer"),
        (_form(steps="x" * 2001), "The steps must be 2000 characters or fewer"),
        (_form(day="31", month="2", year=str(NEXT_YEAR)), "Target date must be a real date"),
        (_form(day="0", month="1", year=str(NEXT_YEAR)), "Target date must be a real date"),
        (_form(day="1", month="13", year=str(NEXT_YEAR)), "Target date must be a real date"),
        (_form(day="one", month="1", year=str(NEXT_YEAR)), "Target date must be a real date"),
        (_form(day="1", month="", year=str(NEXT_YEAR)), "Target date must include a month"),
        (_form(day="", month="", year=str(NEXT_YEAR)), "Target date must include a day and month"),
        (_form(day="1", month="2", year=""), "Target date must include a year"),
        (_form(day="1", month="2", year="27"), "Year must include 4 numbers"),
        (_form(day="1", month="2", year="2001"), "Target date must be today or in the future"),
    ],
)
def test_bad_input_is_explained_and_nothing_typed_is_lost(db, cast, login, data, message):
    response = login(cast.users["owner"]).post(f"/patients/{cast.a.id}/goals/new", data=data)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "There is a problem" in body
    assert message in body
    assert "<title>Error:" in body
    if data["title"].strip():
        assert f'value="{data["title"]}"' in body
    if data["target_date-day"]:
        assert f'value="{data["target_date-day"]}"' in body
    assert db.session.scalar(select(Goal).where(Goal.title == data["title"])) is None
    assert "goal.create" not in _actions(db, cast.a.id)


def test_date_error_links_to_the_box_at_fault(cast, login):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/new", data=_form(day="1", month="", year=str(NEXT_YEAR))
    )
    body = response.get_data(as_text=True)
    assert 'href="#target_date-month"' in body
    month = re.search(r'<input class="([^"]*)" id="target_date-month"', body).group(1)
    day = re.search(r'<input class="([^"]*)" id="target_date-day"', body).group(1)
    assert "nhsuk-input--error" in month and "nhsuk-input--error" not in day


def test_dates_typed_with_other_digits_are_understood(db, cast, login):
    login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/new",
        data=_form(day="١٥", month="٣", year="".join("٠١٢٣٤٥٦٧٨٩"[int(c)] for c in str(NEXT_YEAR))),
    )
    goal = db.session.scalar(select(Goal).where(Goal.title == "Swim once a week"))
    assert goal.target_date == date(NEXT_YEAR, 3, 15)


def test_an_overdue_target_date_can_stay_while_other_things_change(db, cast, login):
    goal = _goal(db, cast)
    goal.target_date = date.today() - timedelta(days=30)
    db.session.commit()
    past = goal.target_date
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data=_form(
            title="Goal 1 still",
            day=str(past.day),
            month=str(past.month),
            year=str(past.year),
            version=goal.version,
        ),
    )
    assert response.status_code == 302
    db.session.refresh(goal)
    assert goal.title == "Goal 1 still" and goal.target_date == past


def test_clearing_the_date_removes_it(db, cast, login):
    goal = _goal(db, cast)
    goal.target_date = date(NEXT_YEAR, 1, 1)
    db.session.commit()
    login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data=_form(title="Goal 1", version=goal.version),
    )
    db.session.refresh(goal)
    assert goal.target_date is None


def test_text_is_cleaned_and_limits_count_newlines_once(db, cast, login):
    why = ("a" * 99 + "\r\n") * 20  # 2000 characters as typed, 2020 with CRLF as sent
    login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/new", data=_form(title=" Tidy\x00 ", why=why)
    )
    goal = db.session.scalar(
        select(Goal).where(Goal.plan_id == cast.plan_a.id, Goal.title == "Tidy")
    )
    assert goal is not None
    assert "\r" not in goal.why_it_matters and len(goal.why_it_matters) == 1999


def test_hostile_html_is_kept_as_text(db, cast, login):
    client = login(cast.users["owner"])
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(f"/patients/{cast.a.id}/goals/new", data=_form(title=hostile, why=hostile))
    goal = db.session.scalar(select(Goal).where(Goal.title == hostile))
    assert goal.why_it_matters == hostile
    for url in (f"/patients/{cast.a.id}/plan", f"/patients/{cast.a.id}/goals/{goal.id}/edit"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;" in body


def test_form_needs_its_csrf_token(app, db, cast, login, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = login(cast.users["owner"])
    response = client.post(f"/patients/{cast.a.id}/goals/new", data=_form())
    assert response.status_code == 400
    assert db.session.scalar(select(Goal).where(Goal.title == "Swim once a week")) is None


# Forged ids and access


@pytest.mark.parametrize("action", ["edit", "withdraw", "keep"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_goal_from_another_plan_is_404(db, cast, login, action, method):
    other_goal = db.session.scalar(select(Goal).where(Goal.plan_id == cast.plan_b.id))
    client = login(cast.users["owner"])
    for goal_id in (other_goal.id, 999999):
        url = f"/patients/{cast.a.id}/goals/{goal_id}/{action}"
        response = client.open(url, method=method, data=_form(version=1))
        assert response.status_code == (405 if action == "keep" and method == "GET" else 404)
    db.session.refresh(other_goal)
    assert other_goal.version == 1 and other_goal.title == "Goal 1"


def test_unknown_patient_is_404(cast, login):
    client = login(cast.users["owner"])
    assert client.get("/patients/999999/goals/new").status_code == 404
    assert client.post("/patients/999999/goals/new", data=_form()).status_code == 404


def test_patient_without_a_plan_gets_404(db, login):
    patient = make_patient()
    db.session.commit()
    client = login(patient.user)
    assert client.post(f"/patients/{patient.id}/goals/new", data=_form()).status_code == 404


def test_plan_page_query_count_does_not_grow_with_proposers(db, login, count_queries):
    org = make_org()
    counts = []
    for n in (1, 15):
        patient = make_patient(org)
        plan = make_plan(patient, goals=0)
        for i in range(n):
            proposer = make_user(Role.CARER)
            db.session.add(
                Goal(
                    plan_id=plan.id,
                    title=f"Goal {i}",
                    proposed_by_id=proposer.id,
                    updated_by_id=make_user(Role.CARER).id,
                )
            )
        db.session.commit()
        client = login(patient.user)
        with count_queries() as counter:
            assert client.get(f"/patients/{patient.id}/plan").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


# Endpoint x role matrix


def _withdrawn(db, goal):
    goal.status = GoalStatus.WITHDRAWN
    goal.pending_review = True
    db.session.commit()


ROUTES = [
    ("GET", "/patients/{a}/goals/new", None, None),
    # The professional writes it with the patient, read back and confirmed: see WRITERS.
    ("POST", "/patients/{a}/goals/new", {**_form(), **IN_CLINIC}, None),
    ("GET", "/patients/{a}/goals/{g}/edit", None, None),
    # The professional changes it with the patient, read back and confirmed: see WRITERS.
    ("POST", "/patients/{a}/goals/{g}/edit", {**_form(version=1), **IN_CLINIC}, None),
    ("GET", "/patients/{a}/goals/{g}/withdraw", None, None),
    ("POST", "/patients/{a}/goals/{g}/withdraw", {"version": "1"}, None),
    ("POST", "/patients/{a}/goals/{g}/keep", {"version": "2"}, _withdrawn),
]


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize(("method", "route", "data", "setup"), ROUTES)
def test_goal_routes_access(db, cast, request_as, who, method, route, data, setup):
    goal = _goal(db, cast)
    if setup:
        setup(db, goal)
    url = route.format(a=cast.a.id, g=goal.id)
    response = request_as(cast.users[who], method, url, data=data)
    if route.endswith(("/goals/new", "/edit")):
        check_matrix_response(response, who, method, f"/patients/{cast.a.id}/plan", WRITERS)
    else:
        check_matrix_response(response, who, method, f"/patients/{cast.a.id}/plan")
