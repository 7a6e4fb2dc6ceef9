"""Getting ready for the review: the task list and the questions and notes for the meeting."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Goal, Preparation, ReviewMeeting, Role
from portal.models.base import utcnow
from tests.editing_helpers import EVERYONE, check_matrix_response, hidden_value, second_client
from tests.factories import make_org, make_patient, make_plan, make_user

NOTES = {
    "questions": "Can I have the flu jab at home?",
    "what_changed": "I had a fall in March.",
    "how_i_feel": "More tired than last year.",
}


def _url(cast) -> str:
    return f"/patients/{cast.a.id}/preparation"


def _statuses(body: str) -> dict[str, str]:
    """Task title -> status tag text, from the task list."""
    items = re.findall(
        r'class="nhsuk-task-list__link nhsuk-link"[^>]*>([^<]+)</a>.*?'
        r'<strong class="nhsuk-tag[^"]*">([^<]+)</strong>',
        body,
        re.S,
    )
    return {title.strip(): status.strip() for title, status in items}


def _open_preparations(db, cast) -> list[Preparation]:
    return list(
        db.session.scalars(
            select(Preparation).where(
                Preparation.plan_id == cast.plan_a.id, Preparation.meeting_id.is_(None)
            )
        )
    )


def _actions(db, cast):
    return [
        e.action
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.patient_id == cast.a.id).order_by(AuditEvent.id)
        )
    ]


def test_task_list_shows_what_is_done_and_what_is_left(db, cast, login):
    client = login(cast.users["owner"])
    body = client.get(_url(cast)).get_data(as_text=True)
    assert "Getting ready for my review" in body
    assert "Your review is due by" in body
    assert "You have completed 0 of 6 tasks." in body
    assert _statuses(body) == {
        "Read your care plan": "Not started",
        "Check your goals": "Not started",
        "Your wishes and preferences": "In progress",  # one of five written
        "About you: your whole life": "In progress",  # one of nine written
        "Check your crisis plan": "Not started",
        "Your questions and what has changed": "Not started",
    }
    assert "1 of 5 written" in body and "1 of 9 written" in body and "0 of 3 written" in body
    for link in (
        f'href="/patients/{cast.a.id}/plan"',
        f'href="/patients/{cast.a.id}/plan#goals"',
        f'href="/patients/{cast.a.id}/plan#wishes"',
        f'href="/patients/{cast.a.id}/plan#whole-person"',
        f'href="/patients/{cast.a.id}/crisis"',
        f'href="/patients/{cast.a.id}/preparation#notes"',
    ):
        assert link in body


def test_tasks_complete_as_the_person_gets_ready(db, cast, login):
    client = login(cast.users["owner"])
    client.get(f"/patients/{cast.a.id}/plan")
    client.get(f"/patients/{cast.a.id}/crisis")
    client.post(f"/patients/{cast.a.id}/goals/new", data={"title": "Swim"})
    for kind in ("how_cared_for", "religious_cultural", "things_to_avoid", "end_of_life"):
        client.post(f"/patients/{cast.a.id}/wishes/{kind}", data={"text": "Written"})
    client.post(_url(cast), data={"questions": NOTES["questions"]})
    body = client.get(_url(cast)).get_data(as_text=True)
    # Begun, but none is done until she says so: landing on the plan ticks nothing.
    assert _statuses(body) == {
        "Read your care plan": "In progress",
        "Check your goals": "In progress",
        "Your wishes and preferences": "In progress",
        "About you: your whole life": "In progress",
        "Check your crisis plan": "In progress",
        "Your questions and what has changed": "In progress",
    }
    assert "1 change waiting to be agreed" in body
    assert body.count("Optional.") == 2  # wishes and about me
    for task in ("plan", "goals", "crisis"):
        response = client.post(f"{_url(cast)}/done", data={"task": task})
        assert response.status_code == 302
    body = client.get(_url(cast)).get_data(as_text=True)
    assert _statuses(body)["Read your care plan"] == "Completed"
    assert _statuses(body)["Check your goals"] == "Completed"
    assert _statuses(body)["Check your crisis plan"] == "Completed"
    assert "I have checked my goals" not in body and "I have checked my wishes" in body
    assert "You have completed 3 of 6 tasks." in body
    assert _actions(db, cast).count("preparation.done") == 3


def test_goals_are_done_with_no_change_when_she_says_so(db, cast, login):
    client = login(cast.users["owner"])
    body = client.get(_url(cast)).get_data(as_text=True)
    assert _statuses(body)["Check your goals"] == "Not started"
    client.post(f"{_url(cast)}/done", data={"task": "goals"})
    body = client.get(_url(cast)).get_data(as_text=True)
    assert "Thank you. That step is marked as done." in body
    assert _statuses(body)["Check your goals"] == "Completed"
    assert not db.session.scalars(select(Goal).where(Goal.pending_review)).first()


def test_a_step_marked_done_by_mistake_can_be_marked_not_done(db, cast, login):
    client = login(cast.users["owner"])
    client.post(f"{_url(cast)}/done", data={"task": "goals"})
    body = client.get(_url(cast)).get_data(as_text=True)
    assert _statuses(body)["Check your goals"] == "Completed"
    # The completed row offers the way back, named for screen readers, as a form to post.
    row = re.search(r"Check your goals</a>.*?</li>", body, re.S).group(0)
    assert "/preparation/not-done" in row and 'method="post"' in row
    assert 'value="goals"' in row and "Mark as not done" in row
    assert "I have checked my goals" not in row
    response = client.post(f"{_url(cast)}/not-done", data={"task": "goals"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#tasks")
    body = client.get(_url(cast)).get_data(as_text=True)
    assert "That step is marked as not done." in body
    assert _statuses(body)["Check your goals"] == "Not started"
    assert "I have checked my goals" in body
    said = [a for a in _actions(db, cast) if a in ("preparation.done", "preparation.undone")]
    assert said == ["preparation.done", "preparation.undone"]
    # Said again, it is done again: the later word counts.
    client.post(f"{_url(cast)}/done", data={"task": "goals"})
    assert _statuses(client.get(_url(cast)).get_data(as_text=True))["Check your goals"] == (
        "Completed"
    )


def test_taking_back_a_step_is_translated(db, cast, login):
    cast.users["owner"].preferred_locale = "cy"
    db.session.commit()
    client = login(cast.users["owner"])
    client.post(f"{_url(cast)}/done", data={"task": "crisis"})
    body = client.get(_url(cast)).get_data(as_text=True)
    assert "Mark as not done" not in body and 'action="/patients/' in body
    response = client.post(f"{_url(cast)}/not-done", data={"task": "crisis"})
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "That step is marked as not done." not in body
    assert "preparation.undone" in _actions(db, cast)


def test_a_forged_step_is_refused_in_words(db, cast, login):
    client = login(cast.users["owner"])
    response = client.post(f"{_url(cast)}/done", data={"task": "<script>"}, follow_redirects=True)
    assert response.status_code == 200
    assert "Choose a step of getting ready from the list" in response.get_data(as_text=True)
    response = client.post(f"{_url(cast)}/not-done", data={"task": ""}, follow_redirects=True)
    assert "Choose a step of getting ready from the list" in response.get_data(as_text=True)
    assert not {"preparation.done", "preparation.undone"} & set(_actions(db, cast))


def test_the_sheet_for_the_meeting_prints_her_notes_and_suggestions(db, cast, login):
    client = login(cast.users["owner"])
    client.post(_url(cast), data=NOTES)
    client.post(f"/patients/{cast.a.id}/goals/new", data={"title": "Swim"})
    body = client.get(f"{_url(cast)}/sheet").get_data(as_text=True)
    assert "<h1>For my review meeting</h1>" in body
    for text in NOTES.values():
        assert text in body
    assert "Swim" in body and "Your suggestion – not yet agreed" in body
    assert cast.a.full_name in body
    assert "preparation.sheet" in _actions(db, cast)


def test_reading_counts_only_since_the_last_review_and_only_for_the_reader(db, cast, login):
    cast.plan_a.last_review_date = date.today()
    db.session.add(
        AuditEvent(
            actor_id=cast.a.user_id,
            patient_id=cast.a.id,
            action="plan.view",
            occurred_at=utcnow() - timedelta(days=2),
        )
    )
    db.session.commit()
    login(cast.users["carer_contribute"]).get(f"/patients/{cast.a.id}/plan")
    body = login(cast.users["owner"]).get(_url(cast)).get_data(as_text=True)
    assert _statuses(body)["Read your care plan"] == "Not started"
    carer_body = login(cast.users["carer_contribute"]).get(_url(cast)).get_data(as_text=True)
    assert _statuses(carer_body)["Read your care plan"] == "In progress"
    assert "Getting ready for the review" in carer_body
    assert "Care plan for Alice Able" in carer_body


def test_saving_notes_for_the_meeting(db, cast, login):
    client = login(cast.users["owner"])
    response = client.post(_url(cast), data={**NOTES, "version": "", "preparation_id": ""})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(_url(cast))
    (prep,) = _open_preparations(db, cast)
    assert (prep.questions, prep.what_changed, prep.how_i_feel) == tuple(NOTES.values())
    assert prep.updated_by_id == cast.a.user_id and prep.language == "en"
    assert prep.version == 1

    body = client.get(_url(cast)).get_data(as_text=True)
    assert "Your notes for the review have been saved." in body
    assert NOTES["what_changed"] in body
    assert _statuses(body)["Your questions and what has changed"] == "Completed"
    assert hidden_value(body, "version") == "1"
    assert hidden_value(body, "preparation_id") == str(prep.id)

    client.post(
        _url(cast),
        data={**NOTES, "how_i_feel": "Better now", "version": "1", "preparation_id": str(prep.id)},
    )
    db.session.refresh(prep)
    assert prep.how_i_feel == "Better now" and prep.version == 2
    assert _actions(db, cast) == [
        "preparation.create",
        "preparation.view",
        "preparation.edit",
    ]


def test_carer_notes_are_attributed_to_the_carer(db, cast, login):
    carer = cast.users["carer_contribute"]
    login(carer).post(_url(cast), data={"questions": "Can Mum get a stairlift?"})
    (prep,) = _open_preparations(db, cast)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "preparation.create"))
    assert prep.updated_by_id == carer.id == event.actor_id
    assert event.detail == f"preparation {prep.id}"


def test_viewing_the_page_is_audited(db, cast, login):
    login(cast.users["owner"]).get(_url(cast))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "preparation.view"))
    assert event.patient_id == cast.a.id and event.actor_id == cast.a.user_id


def test_plan_page_links_to_getting_ready_for_people_who_can_prepare(cast, login):
    link = f'href="/patients/{cast.a.id}/preparation"'
    for who in ("owner", "carer_contribute"):
        assert link in login(cast.users[who]).get(f"/patients/{cast.a.id}/plan").get_data(True)
    for who in ("carer_view", "professional"):
        assert link not in login(cast.users[who]).get(f"/patients/{cast.a.id}/plan").get_data(True)


# Bad input


def test_an_empty_first_save_is_explained(db, cast, login):
    response = login(cast.users["owner"]).post(_url(cast), data={"questions": "  "})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Write something in at least one box before saving" in body
    assert 'href="#questions"' in body
    assert _open_preparations(db, cast) == []


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("questions", "Your questions must be 2000 characters or fewer"),
        ("what_changed", "What has changed must be 2000 characters or fewer"),
        ("how_i_feel", "How you feel must be 2000 characters or fewer"),
    ],
)
def test_too_long_is_explained_and_kept(db, cast, login, field, message):
    data = {**NOTES, field: "y" * 2001}
    response = login(cast.users["owner"]).post(_url(cast), data=data)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body and "y" * 2001 in body
    assert NOTES["questions" if field != "questions" else "how_i_feel"] in body
    assert _open_preparations(db, cast) == []


def test_hostile_html_is_shown_as_text(db, cast, login):
    client = login(cast.users["owner"])
    client.post(_url(cast), data={"questions": "</textarea><script>alert(1)</script>"})
    body = client.get(_url(cast)).get_data(as_text=True)
    assert "<script>alert(1)" not in body
    assert "&lt;/textarea&gt;&lt;script&gt;" in body


# Two people getting ready at once


def test_later_save_sees_both_texts_and_keeps_its_own(app, db, cast, login):
    login(cast.users["owner"]).post(_url(cast), data={"questions": "First question"})
    patient = second_client(app, cast.users["owner"])
    carer = second_client(app, cast.users["carer_contribute"])
    patient_page = patient.get(_url(cast)).get_data(as_text=True)
    carer_page = carer.get(_url(cast)).get_data(as_text=True)
    fields = ("version", "preparation_id")
    patient_form = {f: hidden_value(patient_page, f) for f in fields}
    carer_form = {f: hidden_value(carer_page, f) for f in fields}

    carer.post(_url(cast), data={**carer_form, "questions": "Carer question"})
    clash = patient.post(_url(cast), data={**patient_form, "questions": "Patient question"})
    assert clash.status_code == 409
    body = clash.get_data(as_text=True)
    assert "Someone else changed this while you were editing" in body
    assert "Carer question" in body
    assert re.search(r">\s*Patient question</textarea>", body)
    again = {f: hidden_value(body, f) for f in fields}
    assert again["version"] == "2"
    assert (
        patient.post(_url(cast), data={**again, "questions": "Patient question"}).status_code == 302
    )
    (prep,) = _open_preparations(db, cast)
    assert prep.questions == "Patient question"


def test_two_first_saves_make_one_preparation(app, db, cast):
    patient = second_client(app, cast.users["owner"])
    carer = second_client(app, cast.users["carer_contribute"])
    patient_page = patient.get(_url(cast)).get_data(as_text=True)
    carer.get(_url(cast))
    assert hidden_value(patient_page, "preparation_id") == ""
    carer.post(_url(cast), data={"questions": "Carer first", "version": "", "preparation_id": ""})
    clash = patient.post(
        _url(cast), data={"questions": "Patient too", "version": "", "preparation_id": ""}
    )
    assert clash.status_code == 409
    assert "Carer first" in clash.get_data(as_text=True)
    assert len(_open_preparations(db, cast)) == 1


def test_notes_opened_before_the_meeting_was_recorded_are_not_lost(db, cast, login):
    client = login(cast.users["owner"])
    client.post(_url(cast), data={"questions": "Old question"})
    page = client.get(_url(cast)).get_data(as_text=True)
    (prep,) = _open_preparations(db, cast)
    meeting = ReviewMeeting(plan_id=cast.plan_a.id, status="held", held_on=date.today())
    db.session.add(meeting)
    db.session.flush()
    prep.meeting_id = meeting.id
    db.session.commit()

    form = {f: hidden_value(page, f) for f in ("version", "preparation_id")}
    response = client.post(_url(cast), data={**form, "questions": "Typed late"})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Your review meeting has been recorded" in body
    assert re.search(r">\s*Typed late</textarea>", body)
    db.session.refresh(prep)
    assert prep.questions == "Old question"  # the meeting's notes are left alone
    assert _open_preparations(db, cast) == []

    again = {f: hidden_value(body, f) for f in ("version", "preparation_id")}
    assert client.post(_url(cast), data={**again, "questions": "Typed late"}).status_code == 302
    (new,) = _open_preparations(db, cast)
    assert new.id != prep.id and new.questions == "Typed late"


def test_page_query_count_does_not_grow_with_the_plan(db, login, count_queries):
    org = make_org()
    counts = []
    for goals in (1, 30):
        patient = make_patient(org)
        plan = make_plan(patient, goals=goals, named_contact=make_user(Role.PROFESSIONAL, org))
        for goal in db.session.scalars(select(Goal).where(Goal.plan_id == plan.id)):
            goal.updated_by_id = make_user(Role.CARER).id
            goal.pending_review = True
        db.session.commit()
        client = login(patient.user)
        with count_queries() as counter:
            assert client.get(f"/patients/{patient.id}/preparation").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_unknown_patient_is_404(cast, login):
    client = login(cast.users["owner"])
    assert client.get("/patients/999999/preparation").status_code == 404
    assert client.post("/patients/999999/preparation", data=NOTES).status_code == 404


# Endpoint x role matrix


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_preparation_route_access(db, cast, request_as, who, method):
    response = request_as(cast.users[who], method, _url(cast), data=NOTES)
    check_matrix_response(response, who, method, _url(cast))
    if who not in ("owner", "carer_contribute"):
        assert _open_preparations(db, cast) == []


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize(
    "method, path, data",
    [
        ("GET", "/sheet", None),
        ("POST", "/done", {"task": "goals"}),
        ("POST", "/not-done", {"task": "goals"}),
    ],
)
def test_sheet_and_done_route_access(db, cast, request_as, who, method, path, data):
    response = request_as(cast.users[who], method, _url(cast) + path, data=data)
    check_matrix_response(response, who, method, _url(cast))
    if who not in ("owner", "carer_contribute"):
        assert not {"preparation.done", "preparation.undone"} & set(_actions(db, cast))


def test_her_notes_are_in_the_plan_pdf(db, cast, login, app):
    from portal.pdf.services import plan_html
    from portal.plans.services import load_plan

    login(cast.users["owner"]).post(_url(cast), data=NOTES)
    with app.test_request_context():
        html = plan_html(load_plan(cast.a.id))
    section = html[html.index("Getting ready for my review") :]
    for title, text in zip(
        ("Questions I want to ask", "What has changed", "How I feel"), NOTES.values(), strict=True
    ):
        assert title in section and text in section
    assert section.index(NOTES["how_i_feel"]) < section.index("Next review")
