"""The satisfaction survey after a review meeting: who may answer, once, and where it goes."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.i18n import LOCALE_COOKIE
from portal.models import AuditEvent, SurveyResponse
from tests.compliance_factories import make_meeting, make_survey
from tests.factories import CAST_KEYS, make_patient, make_plan

ALL = CAST_KEYS
ANSWERS = {"involved": "5", "agreed_plan": "4", "confidence": "2", "comment": "Kind nurse"}


@pytest.fixture
def meeting(cast, db):
    held = make_meeting(cast.plan_a, date(2026, 1, 10))
    db.session.commit()
    return held


def _url(cast, meeting) -> str:
    return f"/patients/{cast.a.id}/survey/{meeting.id}"


def _responses(db) -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyResponse))


@pytest.mark.parametrize("who", ALL)
def test_only_the_patient_reaches_their_survey(cast, meeting, request_as, who):
    response = request_as(cast.users[who], "GET", _url(cast, meeting))
    expected = {"owner": 200, "anonymous": 302}.get(who, 404)
    assert response.status_code == expected


@pytest.mark.parametrize("who", ALL)
def test_only_the_patient_can_send_answers(cast, meeting, request_as, db, who):
    response = request_as(cast.users[who], "POST", _url(cast, meeting), data=ANSWERS)
    expected = {"owner": 302, "anonymous": 302}.get(who, 404)
    assert response.status_code == expected
    assert _responses(db) == (1 if who == "owner" else 0)


@pytest.mark.parametrize("who", ALL)
def test_only_professionals_reach_the_organisation_summary(cast, request_as, who):
    expected = {"professional": 200, "professional_other_org": 200, "anonymous": 302}
    assert request_as(cast.users[who], "GET", "/surveys").status_code == expected.get(who, 404)


def test_patient_is_offered_the_survey_answers_it_once_and_sees_thanks(cast, meeting, login, db):
    meeting.held_on = date.today() - timedelta(days=3)  # recent: asked about at the top
    db.session.commit()
    client = login(cast.users["owner"])
    plan_page = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert _url(cast, meeting) in plan_page
    assert "Tell us how your review meeting on" in plan_page

    page = client.get(_url(cast, meeting)).get_data(as_text=True)
    assert "How was your review meeting?" in page
    assert "<fieldset" in page and "Strongly agree" in page

    response = client.post(_url(cast, meeting), data=ANSWERS)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{cast.a.id}/plan")
    saved = db.session.scalars(select(SurveyResponse)).one()
    assert (saved.involved, saved.agreed_plan, saved.confidence) == (5, 4, 2)
    assert saved.comment == "Kind nurse"
    assert saved.organisation_id == cast.a.organisation_id
    assert saved.patient_id == cast.a.id
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey.submit")).one()
    assert event.patient_id == cast.a.id and "Kind nurse" not in event.detail

    plan_page = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "Thank you" in plan_page
    assert _url(cast, meeting) not in plan_page

    again = client.get(_url(cast, meeting))
    assert again.status_code == 200
    assert "You have already answered" in again.get_data(as_text=True)
    client.post(_url(cast, meeting), data={**ANSWERS, "involved": "1"})
    assert _responses(db) == 1
    assert db.session.scalars(select(SurveyResponse)).one().involved == 5


def test_no_link_without_a_held_meeting_and_none_for_carers(cast, login, db):
    make_meeting(cast.plan_a, None, status="scheduled")
    db.session.commit()
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "/survey/" not in body
    held = make_meeting(cast.plan_a, date(2026, 1, 10))
    db.session.commit()
    body = login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert f"/survey/{held.id}" not in body


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({}, "Choose how much you agree that you were involved as much as you wanted"),
        ({"agreed_plan": "4", "confidence": "3"}, "Choose how much you agree that you were"),
        ({**ANSWERS, "confidence": "9"}, "Choose how much you agree that you feel confident"),
        ({**ANSWERS, "agreed_plan": "<b>"}, "Choose how much you agree that you agreed a plan"),
        ({**ANSWERS, "comment": "x" * 1001}, "Your comment must be 1000 characters or fewer"),
    ],
)
def test_wrong_answers_are_explained_and_nothing_is_lost(
    cast, meeting, login, db, answers, message
):
    answers = {"comment": "My words stay", **answers}
    response = login(cast.users["owner"]).post(_url(cast, meeting), data=answers)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in body
    assert "nhsuk-error-summary" in body
    assert answers["comment"][:50] in body
    assert _responses(db) == 0


def test_a_comment_of_1000_characters_is_accepted(cast, meeting, login, db):
    login(cast.users["owner"]).post(_url(cast, meeting), data={**ANSWERS, "comment": "y" * 1000})
    assert len(db.session.scalars(select(SurveyResponse)).one().comment) == 1000


def test_a_comment_is_shown_to_the_practice_marked_with_its_language(cast, meeting, login, db):
    """Screen readers read an Urdu comment in Urdu on an English page."""
    patient = login(cast.users["owner"])
    patient.set_cookie(LOCALE_COOKIE, "ur")
    patient.post(_url(cast, meeting), data={**ANSWERS, "comment": "نرس بہت مہربان تھی"})
    body = login(cast.users["professional"]).get("/surveys").get_data(as_text=True)
    assert re.search(r'<p [^>]*lang="ur"[^>]*>نرس بہت مہربان تھی</p>', body)


def test_other_patients_meetings_and_unheld_meetings_are_404(cast, login, db):
    other_meeting = make_meeting(cast.plan_b, date(2026, 1, 10))
    scheduled = make_meeting(cast.plan_a, None, status="scheduled")
    db.session.commit()
    client = login(cast.users["owner"])
    assert client.get(f"/patients/{cast.a.id}/survey/{other_meeting.id}").status_code == 404
    assert client.get(f"/patients/{cast.a.id}/survey/{scheduled.id}").status_code == 404
    assert client.get(f"/patients/{cast.a.id}/survey/999999").status_code == 404
    assert (
        client.post(f"/patients/{cast.a.id}/survey/{other_meeting.id}", data=ANSWERS).status_code
        == 404
    )
    assert _responses(db) == 0


def test_summary_shows_scores_and_only_comments_that_may_be_read(cast, login, db):
    """Comments from the practice's consenting patients only; scores hidden below 8 answers."""
    org = cast.org
    for i in range(8):
        patient = make_patient(org)
        plan = make_plan(patient)
        make_survey(make_meeting(plan, date(2026, 1, 1)), patient, (4, 5, 3), f"Comment {i}")
    refused = make_patient(org, consent=False)
    make_survey(make_meeting(make_plan(refused), date(2026, 1, 1)), refused, comment="Not shared")
    elsewhere = make_patient(cast.other_org)
    make_survey(
        make_meeting(make_plan(elsewhere), date(2026, 1, 1)), elsewhere, comment="Elsewhere"
    )
    hostile = make_patient(org)
    make_survey(
        make_meeting(make_plan(hostile), date(2026, 1, 1)), hostile, comment="<script>x</script>"
    )
    db.session.commit()
    body = login(cast.users["professional"]).get("/surveys").get_data(as_text=True)
    assert "Comment 0" in body and "Comment 7" in body
    assert "Not shared" not in body and "Elsewhere" not in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body and "<script>x" not in body
    assert ">4.2<" in body  # 10 answers: the average is shown
    assert refused.family_name not in body and hostile.family_name not in body
    other = login(cast.users["professional_other_org"]).get("/surveys").get_data(as_text=True)
    assert "Elsewhere" in other and "Comment 0" not in other
    assert '--numeric">–</td>' in other  # one answer: no average


def test_commissioners_never_see_comments(cast, login, db):
    for i in range(9):
        patient = make_patient(cast.org)
        make_survey(
            make_meeting(make_plan(patient), date(2011, 3, 1)), patient, comment=f"Secret {i}"
        )
    db.session.commit()
    client = login(cast.users["commissioner"])
    for url in ("/reports?month=2011-03", "/reports.csv?month=2011-03", "/surveys"):
        body = client.get(url).get_data(as_text=True)
        assert "Secret" not in body
