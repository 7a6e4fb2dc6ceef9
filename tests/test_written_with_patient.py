"""A professional in the care team writes the plan with a patient in clinic, through the same
pages and services as the patient's own edits: agreed as written, marked as written with the
patient, audited, and kept as a new agreed version."""

import html
import re
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.models import (
    AuditEvent,
    CarePlan,
    Contact,
    CrisisStep,
    Goal,
    GoalStatus,
    KeptForm,
    NeedsSection,
    Notification,
    UsualState,
    Wish,
)
from portal.versions.services import latest_version
from tests.editing_helpers import IN_CLINIC
from tests.test_contingency import CONTACT, STEP, USUAL
from tests.test_pdf import pdftotext


@pytest.fixture
def offline(db, cast):
    """Patient A without an account: someone who never goes online."""
    cast.a.user_id = None
    db.session.commit()
    return cast


def _audit(db, patient_id: int) -> list[tuple[str, int | None]]:
    return list(
        db.session.execute(
            select(AuditEvent.action, AuditEvent.actor_id)
            .where(AuditEvent.patient_id == patient_id)
            .order_by(AuditEvent.id)
        ).tuples()
    )


def _written(db, model, **where):
    return db.session.scalars(select(model).filter_by(**where).order_by(model.id.desc())).first()


AGREED = IN_CLINIC  # agreed with the patient now, read back and confirmed

# (what the professional writes, the form, the audit name, the row it leaves)
SECTIONS = {
    "needs": ("about-me/family", {"text": "My son does the shopping."}, "needs", NeedsSection),
    "wishes": ("wishes/end_of_life", {"text": "Die at home if I can."}, "wish", Wish),
    "crisis_step": ("contingency/steps/new", STEP, "crisis_step", CrisisStep),
    "contact": ("contingency/contacts/new", CONTACT, "contact", Contact),
}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_the_nurse_writes_each_section_with_the_patient(db, offline, login, section):
    path, form, kind, model = SECTIONS[section]
    nurse = offline.users["professional"]
    a = offline.a
    before = offline.plan_a.agreed_version
    response = login(nurse).post(f"/patients/{a.id}/{path}", data={**form, **AGREED})
    assert response.status_code == 302
    db.session.expire_all()
    item = _written(db, model, plan_id=offline.plan_a.id)
    assert not item.pending_review  # agreed as written: nothing waits for a review
    assert item.written_with_patient and item.updated_by_id == nurse.id
    assert _audit(db, a.id) == [
        (f"{kind}.create", nurse.id),
        ("plan_version.with_patient", nurse.id),
    ]
    plan = db.session.get(CarePlan, offline.plan_a.id)
    assert plan.agreed_version == before + 1
    saved = latest_version(plan.id)
    assert saved.agreed_by_id == nurse.id
    assert next(iter(form.values())) in str(saved.snapshot)
    page = login(nurse).get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved as agreed with Alice Able." in page
    assert "Written with the patient by Nurse Named on" in page
    history = login(nurse).get(f"/patients/{a.id}/versions").get_data(as_text=True)
    assert "None: written with the patient" in history


def test_the_usual_state_medicines_and_allergies_written_with_the_patient(db, offline, login):
    usual = _written(db, UsualState, plan_id=offline.plan_a.id)
    client = login(offline.users["professional"])
    url = f"/patients/{offline.a.id}/contingency/usual-state"
    assert "Write what Alice Able tells you" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={**USUAL, **AGREED, "version": usual.version})
    assert response.status_code == 302
    db.session.refresh(usual)
    assert usual.allergies == "Penicillin (rash)" and not usual.pending_review
    crisis = client.get(f"/patients/{offline.a.id}/crisis").get_data(as_text=True)
    held_apart = re.search(r'<section class="portal-unreviewed".*?</section>', crisis, re.S)
    assert "Penicillin (rash)" in crisis and "Penicillin" not in held_apart.group(0)


def test_crisis_steps_written_with_the_patient_are_the_agreed_plan(db, offline, login):
    """Not held apart as unchecked: the professional who wrote them checked them."""
    client = login(offline.users["professional"])
    dictated = {**STEP, **AGREED, "signs": "Too breathless to finish a sentence"}
    client.post(f"/patients/{offline.a.id}/contingency/steps/new", data=dictated)
    page = client.get(f"/patients/{offline.a.id}/crisis").get_data(as_text=True)
    agreed_part = page.split('id="not-yet-checked"')[0]
    assert "Too breathless to finish a sentence" in agreed_part
    assert "Written with the patient by Nurse Named on" in agreed_part
    sheet = pdftotext(client.get(f"/patients/{offline.a.id}/crisis.pdf").data)
    assert "Too breathless to finish" in sheet
    # Nobody is told of an unchecked crisis change: there is none.
    told = select(Notification.id).where(Notification.kind == "crisis_changed")
    assert db.session.scalar(told) is None


def test_a_carers_later_change_is_held_apart_from_what_the_nurse_wrote(db, cast, login):
    """The agreed text the carer's change is held apart from is the nurse's, not an older one."""
    nurse, carer = cast.users["professional"], cast.users["carer_contribute"]
    url = f"/patients/{cast.a.id}/contingency/steps/new"
    login(nurse).post(
        url, data={**STEP, **AGREED, "actions": "Rescue pack, then ring the practice"}
    )
    step = _written(db, CrisisStep, plan_id=cast.plan_a.id)
    login(carer).post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}",
        data={**STEP, "actions": "Wait and see", "version": step.version},
    )
    page = login(nurse).get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    agreed_part, held_part = page.split('id="not-yet-checked"')
    assert "Rescue pack, then ring the practice" in agreed_part
    assert "Wait and see" in held_part and "Wait and see" not in agreed_part


def test_the_nurse_changes_a_carers_proposal_with_the_patient_and_so_checks_it(db, cast, login):
    step = _written(db, CrisisStep, plan_id=cast.plan_a.id)  # the factory's, never agreed
    assert step.pending_review
    client = login(cast.users["professional"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}",
        data={**STEP, **AGREED, "level": "red", "version": step.version},
    )
    db.session.refresh(step)
    assert not step.pending_review and step.written_with_patient
    page = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert STEP["signs"] in page.split('id="not-yet-checked"')[0]


def test_a_step_removed_with_the_patient_is_gone_at_once(db, cast, login):
    step = _written(db, CrisisStep, plan_id=cast.plan_a.id)
    step.pending_review = False
    db.session.commit()
    step_id = step.id
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/contingency/steps/{step.id}/remove",
        data={"version": step.version},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CrisisStep, step_id) is None
    actions = [action for action, _actor in _audit(db, cast.a.id)]
    assert actions == ["crisis_step.delete", "plan_version.with_patient"]
    assert latest_version(cast.plan_a.id).snapshot["crisis_steps"] == {}


def test_a_stale_form_keeps_what_the_nurse_typed(db, cast, login):
    section = _written(db, NeedsSection, plan_id=cast.plan_a.id, domain="health")
    seen = section.version
    login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/about-me/health", data={"text": "Worse lately", "version": seen}
    )
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/about-me/health",
        data={"text": "Short of breath on stairs", "version": seen, **AGREED},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Worse lately" in page and "Short of breath on stairs" in page
    db.session.refresh(section)
    assert section.text == "Worse lately" and section.pending_review


def test_the_plan_page_offers_the_nurse_every_section(db, cast, login):
    page = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/plan")
    body = page.get_data(as_text=True)
    for path in ("about-me/health", "wishes/end_of_life", "contingency", "goals/new"):
        assert f'href="/patients/{cast.a.id}/{path}"' in body, path


def test_the_crisis_plan_gone_through_together_is_marked_reviewed(db, cast, login):
    """Between meetings, only when nothing waits unchecked: else it is not what was gone
    through."""
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/contingency/reviewed"
    refused = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "Some changes are not yet checked" in refused
    assert db.session.get(CarePlan, cast.plan_a.id).contingency_reviewed_on is None

    plan_id = cast.plan_a.id
    for model in (CrisisStep, Contact, UsualState):
        for item in db.session.scalars(select(model).where(model.plan_id == plan_id)):
            item.pending_review = False
    db.session.commit()
    client.post(url)
    plan = db.session.get(CarePlan, plan_id)
    assert plan.contingency_reviewed_by_id == cast.users["professional"].id
    assert ("contingency.review", cast.users["professional"].id) in _audit(db, cast.a.id)
    crisis = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert "Last reviewed by Nurse Named on" in crisis


def test_a_step_saved_after_the_idle_sign_out_is_kept_for_the_nurse(db, cast, login, clock):
    """No lost work: what she typed in clinic waits for her after she signs in again."""
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/contingency/steps/new"
    clock.advance(16 * 60)  # past the staff's 15 idle minutes
    response = client.post(url, data={**STEP, "signs": "Dictated before the sign-out"})
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    kept = db.session.scalars(select(KeptForm)).one()
    assert kept.user_id == cast.users["professional"].id and kept.path == url
    assert kept.fields["signs"] == ["Dictated before the sign-out"]
    saved = select(CrisisStep).filter_by(signs="Dictated before the sign-out")
    assert db.session.scalar(saved) is None


def test_the_nurse_may_record_her_own_proposal_instead(db, cast, login):
    """Not agreed with the patient: held apart and agreed at the review, like anyone's."""
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/contingency/steps/new"
    form = client.get(url).get_data(as_text=True)
    assert "Agreed with the patient now" in form and "My proposal" in form
    response = client.post(url, data={**STEP, "recorded_as": "proposal", "signs": "Her idea"})
    assert response.status_code == 302
    step = _written(db, CrisisStep, plan_id=cast.plan_a.id)
    assert step.signs == "Her idea" and step.pending_review and not step.written_with_patient
    assert [a for a, _actor in _audit(db, cast.a.id)] == ["crisis_step.create"]
    page = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert "Her idea" in page.split('id="not-yet-checked"')[1]


@pytest.mark.parametrize("choice", ["", "approved", "<b>agreed</b>"])
def test_a_missing_or_forged_choice_is_explained_and_nothing_saved(db, cast, login, choice):
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/about-me/family", data={"text": "Lost?", "recorded_as": choice}
    )
    assert response.status_code == 200
    assert "Choose whether this was agreed with the patient now" in response.get_data(as_text=True)
    assert _written(db, NeedsSection, plan_id=cast.plan_a.id, domain="family") is None


WRITTEN_WITH = "Written with the patient by Nurse Named on"


def _flat(text: str) -> str:
    """PDF text with its line breaks and columns read as one line of words."""
    return " ".join(text.split())


def _written_in_clinic(client, patient_id: int) -> None:
    """A crisis step, a contact and a need written with the patient, each agreed as written."""
    for path, form in (
        ("contingency/steps/new", STEP),
        ("contingency/contacts/new", CONTACT),
        ("about-me/family", {"text": "My son does the shopping."}),
    ):
        response = client.post(f"/patients/{patient_id}/{path}", data={**form, **AGREED})
        assert response.status_code == 302


def test_both_pdfs_say_what_was_written_with_the_patient(db, offline, login):
    client = login(offline.users["professional"])
    _written_in_clinic(client, offline.a.id)
    sheet = _flat(pdftotext(client.get(f"/patients/{offline.a.id}/crisis.pdf").data))
    whole = _flat(pdftotext(client.get(f"/patients/{offline.a.id}/plan.pdf").data))
    assert sheet.count(WRITTEN_WITH) == 2  # the step and the contact
    assert whole.count(WRITTEN_WITH) == 3  # and the need
    assert f"{STEP['signs']}" in sheet


def test_the_pdf_says_it_in_the_readers_language(db, offline, login):
    nurse = offline.users["professional"]
    client = login(nurse)
    _written_in_clinic(client, offline.a.id)
    nurse.preferred_locale = "cy"
    db.session.commit()
    sheet = _flat(pdftotext(client.get(f"/patients/{offline.a.id}/crisis.pdf").data))
    assert "Ysgrifennwyd gyda'r claf gan Nurse Named ar" in sheet
    assert WRITTEN_WITH not in sheet


def test_a_proposal_is_not_said_to_be_written_with_the_patient_in_the_pdf(db, cast, login):
    client = login(cast.users["professional"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={**STEP, "recorded_as": "proposal"},
    )
    whole = _flat(pdftotext(client.get(f"/patients/{cast.a.id}/plan.pdf").data))
    assert WRITTEN_WITH not in whole


def test_the_fhir_document_says_who_wrote_an_entry_with_the_patient(db, offline, login):
    from tests.fhir_support import resources

    client = login(offline.users["professional"])
    _written_in_clinic(client, offline.a.id)
    bundle = client.get(f"/patients/{offline.a.id}/plan.fhir.json").get_json()
    urls = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}

    def written(element):
        found = [
            e for e in element.get("extension", []) if e["url"].endswith("/written-with-patient")
        ]
        return found[0] if found else None

    careplan = resources(bundle, "CarePlan")[0]
    step = next(a for a in careplan["activity"] if a["detail"].get("reasonCode"))
    mark = written(step)
    parts = {p["url"]: p for p in mark["extension"]}
    author = urls[parts["author"]["valueReference"]["reference"]]
    assert author["resourceType"] == "PractitionerRole"
    assert parts["author"]["valueReference"]["display"] == "Nurse Named"
    assert parts["date"]["valueDateTime"].endswith("+00:00")  # an instant, in UTC
    need = next(
        o for o in resources(bundle, "Observation") if o["valueString"].startswith("My son")
    )
    assert written(need) and "Written with the patient by Nurse Named on" in need["text"]["div"]
    contact = next(
        r
        for r in resources(bundle, "RelatedPerson") + resources(bundle, "Organization")
        if written(r)
    )
    assert contact["name"]
    # The factory's contact, never written with the patient, carries no such mark.
    assert sum(1 for r in resources(bundle, "RelatedPerson") if written(r)) <= 1


# --------------------------------------------------------------------------- #
# Goals changed with the patient between meetings
# --------------------------------------------------------------------------- #

NEXT_YEAR = date.today().year + 1
GOAL = {
    "title": "Walk to the post office",
    "why_it_matters": "To post my own letters",
    "steps": "Twice a week with my son",
    "target_date-day": "1",
    "target_date-month": "6",
    "target_date-year": str(NEXT_YEAR),
}


def _agreed_goal(db, cast) -> Goal:
    goal = _written(db, Goal, plan_id=cast.plan_a.id)
    goal.status, goal.pending_review = GoalStatus.AGREED, False
    db.session.commit()
    return goal


def test_the_nurse_changes_an_agreed_goal_with_the_patient(db, cast, login):
    nurse = cast.users["professional"]
    goal = _agreed_goal(db, cast)
    before = db.session.get(CarePlan, cast.plan_a.id).agreed_version
    client = login(nurse)
    url = f"/patients/{cast.a.id}/goals/{goal.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert "Agreed with the patient now" in form and "My proposal" in form
    response = client.post(url, data={**GOAL, **AGREED, "version": goal.version})
    assert response.status_code == 302
    db.session.refresh(goal)
    assert goal.title == "Walk to the post office" and goal.target_date == date(NEXT_YEAR, 6, 1)
    assert goal.status == GoalStatus.AGREED and not goal.pending_review
    assert goal.written_with_patient and goal.agreed_by_id == nurse.id and goal.agreed_at
    assert _audit(db, cast.a.id)[-2:] == [
        ("goal.edit", nurse.id),
        ("plan_version.with_patient", nurse.id),
    ]
    plan = db.session.get(CarePlan, cast.plan_a.id)
    assert plan.agreed_version == before + 1
    saved = latest_version(plan.id).snapshot["goals"][str(goal.id)]
    assert saved["title"] == "Walk to the post office" and saved["status"] == "agreed"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved as agreed with Alice Able." in page
    assert "Written with the patient by Nurse Named on" in page


def test_a_proposed_goal_agreed_with_the_patient_is_agreed(db, cast, login):
    goal = _written(db, Goal, plan_id=cast.plan_a.id)
    goal.status, goal.pending_review = GoalStatus.PROPOSED, True
    db.session.commit()
    login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data={**GOAL, **AGREED, "version": goal.version},
    )
    db.session.refresh(goal)
    assert goal.status == GoalStatus.AGREED and not goal.pending_review
    assert str(goal.id) in latest_version(cast.plan_a.id).snapshot["goals"]


def test_the_nurses_goal_change_may_be_her_proposal(db, cast, login):
    """Held apart like anyone's: the agreed goal stands until the review."""
    nurse = cast.users["professional"]
    goal = _agreed_goal(db, cast)
    client = login(nurse)
    response = client.post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data={**GOAL, "recorded_as": "proposal", "version": goal.version},
    )
    assert response.status_code == 302
    db.session.refresh(goal)
    assert goal.title == "Walk to the post office" and goal.pending_review
    assert not goal.written_with_patient and goal.agreed_by_id != nurse.id
    assert [a for a, _actor in _audit(db, cast.a.id)] == ["goal.edit"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved as your proposal." in page
    assert "Written with the patient" not in page


def test_a_stale_goal_form_shows_the_conflict_and_keeps_what_the_nurse_typed(db, cast, login):
    goal = _agreed_goal(db, cast)
    seen = goal.version
    login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data={**GOAL, "title": "Walk to the park", "version": seen},
    )
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data={**GOAL, **AGREED, "title": "Walk to the shop", "version": seen},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Walk to the park" in page and "Walk to the shop" in page
    db.session.refresh(goal)
    assert goal.title == "Walk to the park" and goal.pending_review
    assert not goal.written_with_patient


def _new_goal(db, cast) -> Goal | None:
    return _written(db, Goal, plan_id=cast.plan_a.id, title=GOAL["title"])


def test_the_nurse_adds_a_goal_agreed_with_the_patient(db, offline, login):
    nurse = offline.users["professional"]
    before = offline.plan_a.agreed_version
    client = login(nurse)
    url = f"/patients/{offline.a.id}/goals/new"
    form = client.get(url).get_data(as_text=True)
    assert "Agreed with the patient now" in form and "My proposal" in form
    response = client.post(url, data={**GOAL, **AGREED})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{offline.a.id}/plan#goals")
    goal = _new_goal(db, offline)
    assert goal.target_date == date(NEXT_YEAR, 6, 1) and goal.proposed_by_id == nurse.id
    assert goal.status == GoalStatus.AGREED and not goal.pending_review
    assert goal.written_with_patient and goal.agreed_by_id == nurse.id and goal.agreed_at
    assert _audit(db, offline.a.id) == [
        ("goal.create", nurse.id),
        ("plan_version.with_patient", nurse.id),
    ]
    plan = db.session.get(CarePlan, offline.plan_a.id)
    assert plan.agreed_version == before + 1
    saved = latest_version(plan.id).snapshot["goals"][str(goal.id)]
    assert saved["title"] == GOAL["title"] and saved["status"] == "agreed"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved as agreed with Alice Able." in page
    assert "Written with the patient by Nurse Named on" in page


def test_the_nurses_new_goal_may_be_her_proposal(db, cast, login):
    """Held apart like anyone's new goal, to agree at the review meeting."""
    nurse = cast.users["professional"]
    before = cast.plan_a.agreed_version
    client = login(nurse)
    response = client.post(
        f"/patients/{cast.a.id}/goals/new", data={**GOAL, "recorded_as": "proposal"}
    )
    assert response.status_code == 302
    goal = _new_goal(db, cast)
    assert goal.status == GoalStatus.PROPOSED and goal.pending_review
    assert not goal.written_with_patient and goal.agreed_by_id is None
    assert [a for a, _actor in _audit(db, cast.a.id)] == ["goal.create"]
    assert db.session.get(CarePlan, cast.plan_a.id).agreed_version == before
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved as your proposal." in page
    assert "Written with the patient" not in page


def test_a_leavers_plan_takes_no_new_goal_agreed_with_the_patient(db, cast, login):
    from portal.models import RegisterEntry

    db.session.add(
        RegisterEntry(patient_id=cast.a.id, registered_on=date(2020, 1, 1), left_on=date.today())
    )
    db.session.commit()
    client = login(cast.users["professional"])
    response = client.post(f"/patients/{cast.a.id}/goals/new", data={**GOAL, **AGREED})
    assert response.status_code == 423
    assert "left the practice" in response.get_data(as_text=True)
    assert _new_goal(db, cast) is None
    assert _audit(db, cast.a.id) == []


def test_a_full_plan_takes_no_new_goal_agreed_with_the_patient(db, cast, login):
    from portal import limits

    plan_id, owner = cast.plan_a.id, cast.a.user_id
    for n in range(limits.MAX_GOALS - len(cast.plan_a.goals)):
        db.session.add(Goal(plan_id=plan_id, title=f"G{n}", status="agreed", proposed_by_id=owner))
    db.session.commit()
    before = cast.plan_a.agreed_version
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/goals/new", data={**GOAL, **AGREED}, follow_redirects=True
    )
    assert f"This plan already has {limits.MAX_GOALS} goals" in response.get_data(as_text=True)
    assert _new_goal(db, cast) is None
    assert db.session.get(CarePlan, cast.plan_a.id).agreed_version == before
    assert _audit(db, cast.a.id) == []


# --------------------------------------------------------------------------- #
# Read back before saving as agreed (hazard H14)
# --------------------------------------------------------------------------- #

NOT_CONFIRMED = {"recorded_as": "agreed"}
URDU = "میرا بیٹا خریداری کرتا ہے"


def _kept_fields(page: str) -> MultiDict:
    """The hidden fields the read-back page posts again, as a browser would send them."""
    form = page.split('class="nhsuk-summary-list portal-read-back"')[1].split("</form>")[0]
    found = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form)
    return MultiDict([(html.unescape(name), html.unescape(value)) for name, value in found])


@pytest.mark.parametrize("section", list(SECTIONS))
def test_nothing_is_saved_as_agreed_before_it_is_read_back(db, cast, login, section):
    path, form, _kind, model = SECTIONS[section]
    client = login(cast.users["professional"])
    existing = {item.id for item in db.session.scalars(select(model))}
    response = client.post(f"/patients/{cast.a.id}/{path}", data={**form, **NOT_CONFIRMED})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Read this back to Alice Able before you save it" in page
    assert "The patient has heard or read this and agrees" in page
    for value in form.values():
        if value not in ("amber", "carer"):  # coded: read back in words
            assert value in page
    assert {item.id for item in db.session.scalars(select(model))} == existing
    assert _audit(db, cast.a.id) == []


def test_the_read_back_saves_once_confirmed_and_not_before(db, cast, login):
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/about-me/family"
    page = client.post(url, data={"text": URDU, **NOT_CONFIRMED}).get_data(as_text=True)
    assert f'dir="auto">{URDU}</span>' in page  # as typed, in the patient's own language
    kept = _kept_fields(page)
    assert kept.getlist("text") == [URDU] and kept.getlist("recorded_as") == ["agreed"]

    unticked = client.post(url, data=MultiDict([*kept.items(multi=True), ("read_back", "confirm")]))
    assert unticked.status_code == 200
    refused = unticked.get_data(as_text=True)
    assert "Confirm that the patient has heard or read this and agrees" in refused
    assert 'href="#patient_agrees"' in refused and URDU in refused
    assert _written(db, NeedsSection, plan_id=cast.plan_a.id, domain="family") is None

    confirmed = [("read_back", "confirm"), ("patient_agrees", "y")]
    saved = client.post(url, data=MultiDict([*kept.items(multi=True), *confirmed]))
    assert saved.status_code == 302
    section = _written(db, NeedsSection, plan_id=cast.plan_a.id, domain="family")
    assert section.text == URDU and section.written_with_patient and not section.pending_review


def test_a_goal_is_read_back_with_its_date_in_words(db, cast, login):
    goal = _agreed_goal(db, cast)
    client = login(cast.users["professional"])
    page = client.post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data={**GOAL, **NOT_CONFIRMED, "version": goal.version},
    ).get_data(as_text=True)
    assert f"1 June {NEXT_YEAR}" in page and "Walk to the post office" in page
    db.session.refresh(goal)
    assert goal.title != "Walk to the post office"


def test_a_new_goal_is_saved_as_agreed_only_once_read_back_and_confirmed(db, cast, login):
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/goals/new"
    page = client.post(url, data={**GOAL, **NOT_CONFIRMED}).get_data(as_text=True)
    assert "Read this back to Alice Able before you save it" in page
    assert f"1 June {NEXT_YEAR}" in page and GOAL["title"] in page
    assert _new_goal(db, cast) is None and _audit(db, cast.a.id) == []
    kept = _kept_fields(page)
    assert kept.getlist("title") == [GOAL["title"]] and kept.getlist("recorded_as") == ["agreed"]

    unticked = client.post(url, data=MultiDict([*kept.items(multi=True), ("read_back", "confirm")]))
    assert unticked.status_code == 200
    assert "Confirm that the patient has heard or read this" in unticked.get_data(as_text=True)
    assert _new_goal(db, cast) is None

    back = client.post(url, data=MultiDict([*kept.items(multi=True), ("read_back", "change")]))
    assert back.status_code == 200 and "Read this back" not in back.get_data(as_text=True)
    assert GOAL["why_it_matters"] in back.get_data(as_text=True)
    assert _new_goal(db, cast) is None

    confirmed = [("read_back", "confirm"), ("patient_agrees", "y")]
    saved = client.post(url, data=MultiDict([*kept.items(multi=True), *confirmed]))
    assert saved.status_code == 302
    goal = _new_goal(db, cast)
    assert goal.status == GoalStatus.AGREED and goal.written_with_patient
    assert goal.target_date == date(NEXT_YEAR, 6, 1)


def test_change_goes_back_to_the_form_with_everything_kept(db, cast, login):
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/contingency/steps/new"
    page = client.post(url, data={**STEP, **NOT_CONFIRMED}).get_data(as_text=True)
    kept = _kept_fields(page)
    back = client.post(url, data=MultiDict([*kept.items(multi=True), ("read_back", "change")]))
    assert back.status_code == 200
    form = back.get_data(as_text=True)
    assert "Read this back" not in form
    for value in (STEP["signs"], STEP["actions"], STEP["who_to_call"]):
        assert value in form
    assert re.search(r'<input checked[^>]*value="amber"', form)
    assert _written(db, CrisisStep, plan_id=cast.plan_a.id, signs=STEP["signs"]) is None


def test_a_proposal_is_saved_without_a_read_back(db, cast, login):
    """Nothing is agreed, so there is nothing to read back: the review will."""
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/about-me/family",
        data={"text": "Her idea", "recorded_as": "proposal"},
    )
    assert response.status_code == 302


def test_the_read_back_confirmation_needs_the_csrf_token(app, db, cast):
    from portal import create_app
    from tests.conftest import FreshContextClient, sign_in

    protected = create_app({**app.config, "WTF_CSRF_ENABLED": True})
    protected.test_client_class = FreshContextClient
    client = protected.test_client()
    sign_in(client, cast.users["professional"])
    url = f"/patients/{cast.a.id}/about-me/family"
    response = client.post(url, data={"text": "Forged", **AGREED})
    assert response.status_code == 400
    assert _written(db, NeedsSection, plan_id=cast.plan_a.id, domain="family") is None


def _fill_goals(db, cast) -> None:
    """Someone else fills the plan up to its goals limit."""
    from portal import limits

    plan_id, owner = cast.plan_a.id, cast.a.user_id
    for n in range(limits.MAX_GOALS - len(cast.plan_a.goals)):
        db.session.add(Goal(plan_id=plan_id, title=f"G{n}", status="agreed", proposed_by_id=owner))
    db.session.commit()


def _goal_count(db, cast) -> int:
    return len(db.session.scalars(select(Goal).where(Goal.plan_id == cast.plan_a.id)).all())


def test_a_plan_filled_up_during_the_read_back_keeps_the_goal_typed(db, cast, login):
    """H14: the plan reaches its goals limit between the form and "Save as agreed": the
    limit is said in the reader's language, the goal typed comes back in the form, nothing
    is saved."""
    from portal import limits

    nurse = cast.users["professional"]
    nurse.preferred_locale = "pl"
    db.session.commit()
    client = login(nurse)
    url = f"/patients/{cast.a.id}/goals/new"
    typed = {**GOAL, "title": URDU}
    page = client.post(url, data={**typed, **NOT_CONFIRMED}).get_data(as_text=True)
    kept = _kept_fields(page)
    assert kept.getlist("title") == [URDU]
    _fill_goals(db, cast)

    confirmed = [("read_back", "confirm"), ("patient_agrees", "y")]
    response = client.post(url, data=MultiDict([*kept.items(multi=True), *confirmed]))
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    with force_locale("pl"):
        full = str(limits.PlanFull(Goal).message)
        not_saved = gettext("This goal has not been saved")
    assert full in page and not_saved in page
    assert not_saved != "This goal has not been saved"  # in Polish, not English
    assert f'value="{URDU}"' in page  # the goal typed, in the form again
    assert GOAL["why_it_matters"] in page and GOAL["steps"] in page
    assert "Read this back" not in page
    assert _goal_count(db, cast) == limits.MAX_GOALS
    assert _written(db, Goal, plan_id=cast.plan_a.id, title=URDU) is None
    assert _audit(db, cast.a.id) == []


def test_a_full_plan_gives_the_form_back_instead_of_the_read_back(db, cast, login):
    from portal import limits

    _fill_goals(db, cast)
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/goals/new", data={**GOAL, **NOT_CONFIRMED}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f"This plan already has {limits.MAX_GOALS} goals" in page
    assert "Read this back" not in page
    assert f'value="{GOAL["title"]}"' in page
    assert _goal_count(db, cast) == limits.MAX_GOALS


def test_a_crisis_plan_filled_up_during_the_read_back_keeps_the_step_typed(db, cast, login):
    """H14 for crisis steps: the crisis plan reached its limit before "Save as agreed"."""
    from portal import limits

    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/contingency/steps/new"
    page = client.post(url, data={**STEP, **NOT_CONFIRMED}).get_data(as_text=True)
    assert "Read this back" in page
    kept = _kept_fields(page)
    plan_id = cast.plan_a.id
    have = len(db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == plan_id)).all())
    for n in range(limits.MAX_CRISIS_STEPS - have):
        db.session.add(CrisisStep(plan_id=plan_id, level="green", signs="s", actions="a",
                                  position=100 + n))
    db.session.commit()

    confirmed = [("read_back", "confirm"), ("patient_agrees", "y")]
    response = client.post(url, data=MultiDict([*kept.items(multi=True), *confirmed]))
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert f"This crisis plan already has {limits.MAX_CRISIS_STEPS} steps" in page
    assert STEP["signs"] in page and STEP["actions"] in page
    assert "Read this back" not in page
    steps = db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == plan_id)).all()
    assert len(steps) == limits.MAX_CRISIS_STEPS
    assert STEP["signs"] not in {s.signs for s in steps}
    assert _audit(db, cast.a.id) == []


@pytest.mark.parametrize(
    ("module", "path", "data"),
    [
        ("portal.goals.views", "goals/new", GOAL),
        ("portal.contingency.views", "contingency/steps/new", STEP),
    ],
    ids=["goal", "crisis step"],
)
def test_the_last_place_taken_between_the_check_and_the_save_keeps_the_text(
    db, cast, login, monkeypatch, module, path, data
):
    """The service's own check (``check_room``) refuses too: the same page, nothing lost."""
    import importlib

    from portal import limits

    _fill_goals(db, cast)
    plan_id = cast.plan_a.id
    for n in range(limits.MAX_CRISIS_STEPS - len(cast.plan_a.crisis_steps)):
        db.session.add(CrisisStep(plan_id=plan_id, level="green", signs="s", actions="a",
                                  position=100 + n))
    db.session.commit()
    monkeypatch.setattr(importlib.import_module(module), "has_room", lambda *a, **k: True)
    confirmed = {**data, **NOT_CONFIRMED, "read_back": "confirm", "patient_agrees": "y"}
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/{path}", data=confirmed
    )
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert "already has" in page and "What you typed is still in the form below" in page
    assert all(v in page for k, v in data.items() if k in ("title", "signs", "actions"))
    assert _audit(db, cast.a.id) == []
