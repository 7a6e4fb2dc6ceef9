"""Unreviewed crisis changes are held apart from the agreed crisis plan, on the page and sheet."""

from datetime import date

from flask_babel import force_locale
from sqlalchemy import select

from portal.contingency.held_apart import ChangeKind, crisis_changes_awaiting_review, hold_apart
from portal.i18n import format_date
from portal.models import AccessGrant, AuditEvent, CarePlan, CrisisStep
from portal.models.base import utcnow
from portal.pdf import services as pdf
from portal.versions.services import create_version
from tests.support import as_date_boxes
from tests.test_meetings import meeting_payload

DUBIOUS = "If oxygen under 88%, ring 111 first"


def _agreed_plan(db, cast):
    """Patient A's plan agreed at a review (version snapshot), the son's access named."""
    plan = cast.plan_a
    for item in [*plan.crisis_steps, *plan.contacts, plan.usual_state]:
        item.pending_review = False
    db.session.flush()
    create_version(plan, cast.users["professional"], utcnow())
    grant = db.session.scalars(
        select(AccessGrant).where(AccessGrant.grantee_id == cast.users["carer_contribute"].id)
    ).one()
    grant.relationship_to_patient = "son"
    db.session.commit()
    return plan


def _carer_adds_a_step(cast, login):
    client = login(cast.users["carer_contribute"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"level": "amber", "signs": "Oxygen low", "actions": DUBIOUS, "who_to_call": "111"},
    )
    assert response.status_code == 302
    return client


def _split(page: str) -> tuple[str, str]:
    agreed, _sep, apart = page.partition('id="not-yet-checked"')
    return agreed, apart


def test_a_carers_new_step_is_shown_apart_never_as_agreed(db, cast, login):
    _agreed_plan(db, cast)
    client = _carer_adds_a_step(cast, login)
    page = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    agreed, apart = _split(page)
    assert "Lips blue" in agreed and DUBIOUS not in agreed
    assert DUBIOUS in apart
    today = date.today().strftime("%-d %B %Y")
    assert f"Added by Carer contribute (son) on {today}, not yet checked by the care team" in apart


def test_a_changed_agreed_step_shows_the_agreed_text_with_the_change_apart(db, cast, login):
    plan = _agreed_plan(db, cast)
    step = plan.crisis_steps[0]
    client = login(cast.users["carer_contribute"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}",
        data={"level": "red", "signs": "Lips blue", "actions": DUBIOUS, "version": step.version},
    )
    page = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    agreed, apart = _split(page)
    assert "Ring 999" in agreed and DUBIOUS not in agreed  # the agreed action, as agreed
    assert DUBIOUS in apart and "Changed by Carer contribute (son) on" in apart


def test_the_easy_read_crisis_plan_shows_the_agreed_plan_and_only_that_a_change_waits(
    db, cast, login
):
    _agreed_plan(db, cast)
    client = _carer_adds_a_step(cast, login)
    crisis = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    easy_url = f"/patients/{cast.a.id}/crisis/easy-read"
    assert f'href="{easy_url}"' in crisis
    page = client.get(easy_url).get_data(as_text=True)
    assert "My crisis plan: easy read" in page and "Lips blue" in page
    assert 'href="tel:999"' in page.split("Lips blue")[0]  # 999 comes first
    assert "NHS number" in page  # what a professional needs to know whose plan it is
    assert DUBIOUS not in page
    assert "The care team has not checked the change yet." in page
    easy_read = (AuditEvent.action == "crisis.view") & (AuditEvent.detail == "easy read")
    viewed = db.session.scalars(select(AuditEvent).where(easy_read)).all()
    assert [e.patient_id for e in viewed] == [cast.a.id]


def test_the_crisis_sheet_holds_the_change_apart_from_the_plan_version(db, app, cast, login):
    _agreed_plan(db, cast)
    _carer_adds_a_step(cast, login)
    plan = db.session.get(CarePlan, cast.plan_a.id)
    with app.test_request_context(), force_locale("en_GB"):
        html = pdf.crisis_html(plan)
    agreed, _sep, apart = html.partition('class="sheet-unreviewed"')
    assert "Lips blue" in agreed and DUBIOUS not in agreed
    assert "Not yet checked by the care team" in apart and DUBIOUS in apart
    assert "Added by Carer contribute (son) on" in apart


def test_the_whole_plan_pdf_holds_the_change_apart_like_the_sheet(db, app, cast, login):
    plan = _agreed_plan(db, cast)
    step = plan.crisis_steps[0]
    client = _carer_adds_a_step(cast, login)
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}",
        data={
            "level": "red",
            "signs": "Lips blue",
            "actions": "Wait an hour",
            "version": step.version,
        },
    )
    plan = db.session.get(CarePlan, cast.plan_a.id)
    with app.test_request_context(), force_locale("en_GB"):
        html = pdf.plan_html(plan)
    crisis, _sep, rest = html.partition('class="sheet-unreviewed"')
    apart, _sep, _later = rest.partition("Usual state of health")
    assert "Ring 999" in crisis  # the agreed action, as agreed, under "Plan version 1"
    assert DUBIOUS not in crisis and "Wait an hour" not in crisis and "Draft" not in crisis
    assert "Not yet checked by the care team" in apart
    assert DUBIOUS in apart and "Wait an hour" in apart
    assert "Added by Carer contribute (son) on" in apart
    assert "Changed by Carer contribute (son) on" in apart


def test_worklist_query_lists_crisis_changes_awaiting_review(db, cast, login):
    _agreed_plan(db, cast)
    assert crisis_changes_awaiting_review([cast.a.id]) == []
    _carer_adds_a_step(cast, login)
    waiting = crisis_changes_awaiting_review([cast.a.id])
    assert [(w.section, w.changed_by_id) for w in waiting] == [
        ("crisis_steps", cast.users["carer_contribute"].id)
    ]
    others = crisis_changes_awaiting_review([cast.b.id])  # Bob's own drafts, none of Alice's
    assert {w.patient_id for w in others} == {cast.b.id}


def test_accepting_at_the_review_moves_the_step_into_the_agreed_plan(db, cast, login):
    _agreed_plan(db, cast)
    _carer_adds_a_step(cast, login)
    nurse = login(cast.users["professional"])
    data = meeting_payload(nurse, cast.a.id)  # every proposal agreed
    assert (
        nurse.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    db.session.expire_all()
    plan = db.session.get(CarePlan, cast.plan_a.id)
    held = hold_apart(plan)
    assert held.changes == []
    assert DUBIOUS in [s.actions for s in held.steps]
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "crisis_step.create" in actions and "crisis_step.agree" in actions


def test_declining_at_the_review_removes_the_new_step(db, cast, login):
    _agreed_plan(db, cast)
    _carer_adds_a_step(cast, login)
    step_id = db.session.scalars(select(CrisisStep.id).where(CrisisStep.actions == DUBIOUS)).one()
    nurse = login(cast.users["professional"])
    data = meeting_payload(nurse, cast.a.id, {f"crisis_steps_{step_id}": "decline"})
    assert (
        nurse.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data)).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(CrisisStep, step_id) is None
    assert hold_apart(db.session.get(CarePlan, cast.plan_a.id)).changes == []


def test_a_removal_keeps_the_agreed_step_and_waits_apart(db, cast, login):
    plan = _agreed_plan(db, cast)
    step = plan.crisis_steps[0]
    client = login(cast.users["carer_contribute"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}/remove", data={"version": step.version}
    )
    db.session.expire_all()
    held = hold_apart(db.session.get(CarePlan, cast.plan_a.id))
    assert [s.signs for s in held.steps] == ["Lips blue"]
    assert [c.change for c in held.changes] == [ChangeKind.REMOVAL]


def test_an_agreed_step_keeps_its_agreed_contact_and_hours_while_a_change_waits(db, cast, login):
    from datetime import time

    from portal.models import Contact

    plan = cast.plan_a
    practice = Contact(
        plan_id=plan.id,
        kind="practice",
        name="Riverside Practice",
        phone="0113 496 0000",
        opens_at=time(8),
        closes_at=time(18, 30),
        weekdays_only=True,
    )
    db.session.add(practice)
    db.session.flush()
    plan.crisis_steps[0].call_contact_id = practice.id
    db.session.expire(plan, ["contacts"])
    _agreed_plan(db, cast)
    step = db.session.get(CrisisStep, plan.crisis_steps[0].id)
    client = login(cast.users["carer_contribute"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}",
        data={
            "level": "red",
            "signs": "Lips blue",
            "actions": DUBIOUS,
            "call": "111",
            "version": step.version,
        },
    )
    client.post(
        f"/patients/{cast.a.id}/contingency/contacts/{practice.id}",
        data={
            "kind": "practice",
            "name": "Riverside Practice",
            "phone": "0113 496 0999",
            "version": practice.version,
        },
    )
    db.session.expire_all()
    held = hold_apart(db.session.get(CarePlan, cast.plan_a.id))
    agreed_step = held.steps[0]
    assert (agreed_step.call_service, agreed_step.call_contact.id) == (None, practice.id)
    agreed_practice = next(c for c in held.contacts if c.name == "Riverside Practice")
    assert agreed_practice.phone == "0113 496 0000"
    assert (agreed_practice.opens_at, agreed_practice.weekdays_only) == (time(8), True)
    changed = {c.section: c.item for c in held.changes}
    assert changed["crisis_steps"].call_service == "111"
    assert changed["contacts"].phone == "0113 496 0999"


def _authorless_changes(db, cast):
    """An imported step added, an agreed step changed and one asked to be removed, all with no
    author (imported data, or an account since gone)."""
    plan = _agreed_plan(db, cast)
    db.session.add(
        CrisisStep(
            plan_id=plan.id, level="amber", signs="Oxygen low", actions=DUBIOUS, position=9,
            pending_review=True, updated_by_id=None,
        )
    )
    steps = plan.crisis_steps
    steps[0].actions, steps[0].pending_review, steps[0].updated_by_id = "Wait an hour", True, None
    if len(steps) > 1:
        steps[1].removal_proposed, steps[1].pending_review = True, True
        steps[1].updated_by_id = None
    db.session.commit()
    return len(steps) > 1


def test_changes_with_no_author_say_when_without_an_empty_name_everywhere(db, app, cast, login):
    """Crisis page, crisis sheet (both lines), whole-plan PDF, easy read and plan page."""
    removal = _authorless_changes(db, cast)
    today = date.today()
    long_day = today.strftime("%-d %B %Y")
    expected = [
        f"Added on {long_day}, not yet checked by the care team",
        f"Changed on {long_day}, not yet checked by the care team",
    ]
    if removal:
        expected.append(f"Asked on {long_day} to be removed, not yet checked by the care team")

    def empty_name(text: str) -> bool:
        return any(f"{what} by  " in text or f"{what} by ," in text for what in (
            "Added", "Changed", "Removal asked")) or "by  on" in text

    client = login(cast.users["professional"])
    page = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    _agreed, apart = _split(page)
    for line in expected:
        assert line in apart
    assert not empty_name(page)
    for url in (f"/patients/{cast.a.id}/crisis/easy-read", f"/patients/{cast.a.id}/plan"):
        shown = client.get(url)
        assert shown.status_code == 200 and not empty_name(shown.get_data(as_text=True))

    plan = db.session.get(CarePlan, cast.plan_a.id)
    with app.test_request_context(), force_locale("en_GB"):
        sheet, whole = pdf.crisis_html(plan), pdf.plan_html(plan)
        short_line = f'Added on <bdi dir="ltr">{format_date(today, "short")}</bdi>'
    for html in (sheet, whole):
        plain = html.replace("\u2066", "").replace("\u2069", "")
        for line in expected:
            assert line in plain
        assert not empty_name(plain)
    assert short_line in sheet  # the compact line, for a sheet that would not fit


def test_a_change_with_no_author_is_worded_in_the_readers_language(app):
    from types import SimpleNamespace

    from portal.lifecycle import item_label

    change = SimpleNamespace(
        by_name="", by_relationship="", change=ChangeKind.ADDED, on=utcnow(), item=None
    )
    with app.test_request_context(), force_locale("es"):
        full = str(item_label(None, change=change, words="full").text)
        short = str(item_label(None, change=change, words="short").text)
    assert full.startswith("Añadido el ") and "aún no revisado por el equipo" in full
    assert short.startswith("Añadido el ") and " por " not in short


def test_a_review_with_no_reviewer_gives_the_date_alone_on_both_crisis_pages(db, cast, login):
    plan = db.session.get(CarePlan, cast.plan_a.id)
    plan.contingency_reviewed_on, plan.contingency_reviewed_by_id = date(2026, 3, 2), None
    db.session.commit()
    client = login(cast.users["professional"])
    for url in (f"/patients/{cast.a.id}/crisis", f"/patients/{cast.a.id}/contingency"):
        page = client.get(url).get_data(as_text=True)
        assert "Last reviewed: 2 March 2026" in page
        assert "Last reviewed by" not in page
