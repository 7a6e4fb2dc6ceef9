"""Contingency planning: the crisis page, changing it as proposals, phone numbers, the care team."""

import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import url_for
from sqlalchemy import func, select

from portal.models import AuditEvent, CareTeamMember, Contact, CrisisStep, Role, UsualState
from portal.phone import PhoneError, dial_string, tel_href
from tests.editing_helpers import IN_CLINIC
from tests.factories import make_org, make_patient, make_plan
from tests.test_access import ALL

STEP = {
    "level": "amber",
    "signs": "Coughing up green phlegm",
    "actions": "Start the rescue pack and ring the practice",
    "who_to_call": "GP practice",
}
CONTACT = {
    "kind": "carer",
    "name": "Jo Carter",
    "relationship_to_patient": "Neighbour",
    "phone": "07700 900456",
    "when_to_call": "If Sam cannot be reached",
}
USUAL = {
    "mobility": "Walks to the shop with a frame",
    "breathing": "Breathless on the stairs",
    "memory_understanding": "Forgets names, understands everything",
    "usual_readings": "Oxygen saturation 92 to 94%",
    "communication": "Wears hearing aids",
    "medicines": "Salbutamol inhaler, furosemide 40 mg",
    "allergies": "Penicillin (rash)",
    "respect_form_location": "Red folder on the fridge",
    "dnacpr_location": "With the ReSPECT form",
    "lpa_location": "Son holds the LPA",
    "rescue_medication_location": "Kitchen drawer",
}
MEMBER = {
    "name": "Joe Bennett",
    "role": "Community matron",
    "organisation": "Community Healthcare",
    "phone": "0113 496 0789",
    "email": "matrons@example.org",
    "availability": "Weekdays",
}

PROPOSERS = {"owner", "carer_contribute"}
WRITERS = PROPOSERS | {"professional"}  # the care team writes with the patient
READERS = {"owner", "carer_view", "carer_contribute", "professional"}
AGREERS = {"professional"}


@pytest.fixture
def items(db, cast):
    """Patient A's red step, contact and usual state (from the factory), and a care team member."""
    plan_id = cast.plan_a.id
    member = CareTeamMember(plan_id=plan_id, name="Dr Anna Patel", role="GP", phone="0113 496 0000")
    db.session.add(member)
    db.session.commit()
    return SimpleNamespace(
        step=db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == plan_id)).one(),
        contact=db.session.scalars(select(Contact).where(Contact.plan_id == plan_id)).one(),
        usual=db.session.scalars(select(UsualState).where(UsualState.plan_id == plan_id)).one(),
        member=member,
    )


def agree(db, *objects):
    """As if agreed at a review meeting: no longer a proposal (and a new version)."""
    for obj in objects:
        obj.pending_review = False
    db.session.commit()


def body(response) -> str:
    return response.get_data(as_text=True)


def crisis_page(client, patient) -> str:
    response = client.get(f"/patients/{patient.id}/crisis")
    assert response.status_code == 200
    return body(response)


def audit_actions(db, patient_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.patient_id == patient_id)
            .order_by(AuditEvent.id)
        )
    )


def exists(db, model, item_id: int) -> bool:
    return db.session.scalar(select(func.count(model.id)).where(model.id == item_id)) == 1


def fingerprint(db) -> tuple:
    """Everything the contingency routes can change, to prove a refused request changed nothing."""
    rows = []
    for model in (CrisisStep, Contact, UsualState):
        rows.append(sorted(db.session.execute(select(model.id, model.version)).all()))
    rows.append(sorted(db.session.execute(select(CareTeamMember.id, CareTeamMember.name)).all()))
    return tuple(map(tuple, rows))


# --------------------------------------------------------------------------- #
# Endpoint x role matrix for every new route
# --------------------------------------------------------------------------- #

ROUTES = {
    # name: (method, url, form data, who may)
    "overview": ("GET", "/patients/{a}/contingency", None, WRITERS),
    "new_step_form": ("GET", "/patients/{a}/contingency/steps/new", None, WRITERS),
    "new_step": (
        "POST",
        "/patients/{a}/contingency/steps/new",
        lambda i: {**STEP, **IN_CLINIC},
        WRITERS,
    ),
    "edit_step_form": ("GET", "/patients/{a}/contingency/steps/{step}", None, WRITERS),
    "edit_step": (
        "POST",
        "/patients/{a}/contingency/steps/{step}",
        lambda i: {**STEP, **IN_CLINIC, "version": i.step.version},
        WRITERS,
    ),
    "remove_step": (
        "POST",
        "/patients/{a}/contingency/steps/{step}/remove",
        lambda i: {"version": i.step.version},
        WRITERS,
    ),
    "usual_state_form": ("GET", "/patients/{a}/contingency/usual-state", None, WRITERS),
    "usual_state": (
        "POST",
        "/patients/{a}/contingency/usual-state",
        lambda i: {**USUAL, **IN_CLINIC, "version": i.usual.version},
        WRITERS,
    ),
    "new_contact_form": ("GET", "/patients/{a}/contingency/contacts/new", None, WRITERS),
    "new_contact": (
        "POST",
        "/patients/{a}/contingency/contacts/new",
        lambda i: {**CONTACT, **IN_CLINIC},
        WRITERS,
    ),
    "edit_contact_form": (
        "GET",
        "/patients/{a}/contingency/contacts/{contact}",
        None,
        WRITERS,
    ),
    "edit_contact": (
        "POST",
        "/patients/{a}/contingency/contacts/{contact}",
        lambda i: {**CONTACT, **IN_CLINIC, "version": i.contact.version},
        WRITERS,
    ),
    "remove_contact": (
        "POST",
        "/patients/{a}/contingency/contacts/{contact}/remove",
        lambda i: {"version": i.contact.version},
        WRITERS,
    ),
    "mark_reviewed": ("POST", "/patients/{a}/contingency/reviewed", None, AGREERS),
    "care_team": ("GET", "/patients/{a}/care-team", None, READERS),
    "new_member_form": ("GET", "/patients/{a}/care-team/new", None, AGREERS),
    "new_member": ("POST", "/patients/{a}/care-team/new", lambda i: MEMBER, AGREERS),
    "edit_member_form": ("GET", "/patients/{a}/care-team/{member}", None, AGREERS),
    "edit_member": (
        "POST",
        "/patients/{a}/care-team/{member}",
        lambda i: {**MEMBER, "version": i.member.version},
        AGREERS,
    ),
    "remove_member": (
        "POST",
        "/patients/{a}/care-team/{member}/remove",
        lambda i: {"version": i.member.version},
        AGREERS,
    ),
}


def _url(template: str, patient, items) -> str:
    return template.format(
        a=patient.id, step=items.step.id, contact=items.contact.id, member=items.member.id
    )


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("route", list(ROUTES))
def test_access_matrix(db, cast, items, request_as, route, who):
    method, template, data, allowed = ROUTES[route]
    before = fingerprint(db)
    response = request_as(
        cast.users[who], method, _url(template, cast.a, items), data=data(items) if data else None
    )
    if who == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/sign-in")
    elif who in allowed:
        assert response.status_code == (200 if method == "GET" else 302)
    else:
        assert response.status_code == 404
    if who not in allowed:
        assert fingerprint(db) == before


def test_professional_without_patient_consent_gets_404_everywhere(db, cast, items, request_as):
    """Refusals change nothing, so one test can try every route in turn."""
    before = fingerprint(db)
    for route, (method, template, data, _allowed) in ROUTES.items():
        url = _url(template, cast.no_consent, items)
        response = request_as(
            cast.users["professional"], method, url, data=data(items) if data else None
        )
        assert response.status_code == 404, route
    assert fingerprint(db) == before


def test_unknown_patient_is_404_not_500_everywhere(db, cast, items, request_as):
    for route, (method, template, data, _allowed) in ROUTES.items():
        url = _url(template, SimpleNamespace(id=999999), items)
        response = request_as(cast.users["owner"], method, url, data=data(items) if data else None)
        assert response.status_code == 404, route


# The only patient routes a carer with `crisis` access may use.
CRISIS_SCOPE_ENDPOINTS = {
    ("contingency.crisis", "GET"),
    ("contingency.crisis_easy_read", "GET"),
    ("pdf.crisis_pdf", "GET"),
    ("pdf.easy_read_pdf", "GET"),
}


def test_crisis_carer_is_refused_every_other_patient_route(app, db, cast, items, request_as):
    """Walk every route that takes a patient id, with every method it answers."""
    ids = {
        "patient_id": cast.a.id,
        "step_id": items.step.id,
        "contact_id": items.contact.id,
        "member_id": items.member.id,
    }
    before = fingerprint(db)
    carer = cast.users["carer_crisis"]
    seen = set()
    for rule in app.url_map.iter_rules():
        if "patient_id" not in rule.arguments:
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{arg: ids.get(arg, 1) for arg in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = request_as(carer, method, url, data={})
            allowed = (rule.endpoint, method) in CRISIS_SCOPE_ENDPOINTS
            assert response.status_code == (200 if allowed else 404), (rule.endpoint, method)
            seen.add((rule.endpoint, method))
    assert fingerprint(db) == before
    # The walk really covered the plan, the editing pages and the care team.
    assert {("plans.plan", "GET"), ("contingency.edit_step", "POST")} <= seen
    assert {("contingency.care_team", "GET"), ("contingency.remove_member", "POST")} <= seen
    assert len(seen) >= len(ROUTES) + 2


def test_crisis_carer_sees_no_links_to_the_rest_of_the_plan(cast, login):
    page = crisis_page(login(cast.users["carer_crisis"]), cast.a)
    assert f"/patients/{cast.a.id}/plan" not in page
    assert f"/patients/{cast.a.id}/care-team" not in page
    assert f"/patients/{cast.a.id}/contingency" not in page


# --------------------------------------------------------------------------- #
# Crisis steps
# --------------------------------------------------------------------------- #


def test_patient_adds_a_step_shown_at_once_as_not_yet_reviewed(db, cast, login):
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={**STEP, "who_to_call": "0113 496 0000"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{cast.a.id}/contingency")
    step = db.session.scalars(select(CrisisStep).where(CrisisStep.signs == STEP["signs"])).one()
    assert step.plan_id == cast.plan_a.id
    assert step.level == "amber" and step.actions == STEP["actions"]
    assert step.pending_review and step.updated_by_id == cast.users["owner"].id
    assert step.language == "en"
    assert "crisis_step.create" in audit_actions(db, cast.a.id)

    page = crisis_page(login(cast.users["carer_crisis"]), cast.a)
    assert STEP["signs"] in page and STEP["actions"] in page
    owner = cast.users["owner"].display_name
    assert f"Added by {owner} on" in page and "not yet checked by the care team</strong>" in page
    assert 'href="tel:+441134960000"' in page  # a number in "who to contact" is a call button


def test_contributing_carer_changes_an_agreed_step_as_a_proposal(db, cast, items, login):
    agree(db, items.step)
    old_version = items.step.version
    client = login(cast.users["carer_contribute"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/{items.step.id}",
        data={**STEP, "level": "red", "signs": "Lips blue, cannot speak", "version": old_version},
    )
    assert response.status_code == 302
    db.session.refresh(items.step)
    assert items.step.signs == "Lips blue, cannot speak"
    assert items.step.pending_review
    assert items.step.updated_by_id == cast.users["carer_contribute"].id
    assert items.step.version == old_version + 1
    assert "crisis_step.edit" in audit_actions(db, cast.a.id)
    page = crisis_page(client, cast.a)
    assert "Lips blue, cannot speak" in page and ">Lips blue</p>" not in page


def test_crisis_page_puts_emergency_steps_first(db, cast, items, login):
    for position, level in enumerate(("green", "amber")):
        db.session.add(
            CrisisStep(
                plan_id=cast.plan_a.id,
                level=level,
                signs=f"{level} signs",
                actions="x",
                position=position - 10,  # written before the red step
            )
        )
    db.session.commit()
    page = crisis_page(login(cast.users["owner"]), cast.a)
    assert page.index("Lips blue") < page.index("amber signs") < page.index("green signs")
    assert page.index("Emergency: call 999 if") < page.index("Urgent: get help the same day if")


def test_step_form_keeps_what_was_typed_and_says_what_is_missing(db, cast, login):
    client = login(cast.users["owner"])
    count = db.session.scalar(select(func.count(CrisisStep.id)))
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"signs": "Very drowsy", "actions": "", "who_to_call": "Sam"},
    )
    assert response.status_code == 200
    page = body(response)
    assert "There is a problem" in page
    assert "Choose how urgent it is" in page
    assert 'href="#level-0"' in page and 'id="level"' in page  # the summary links to the radios
    assert "Enter what to do" in page
    assert "Very drowsy</textarea>" in page and 'value="Sam"' in page
    assert db.session.scalar(select(func.count(CrisisStep.id))) == count


def test_step_fields_are_length_limited_without_losing_text(db, cast, login):
    client = login(cast.users["owner"])
    long_signs = "a" * 141
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={**STEP, "signs": long_signs, "who_to_call": "b" * 61},
    )
    assert response.status_code == 200
    page = body(response)
    assert "Signs to look for must be 140 characters or fewer" in page
    assert "Who to contact must be 60 characters or fewer" in page
    assert long_signs in page
    assert 'maxlength="140"' in page  # the browser and the NHS character count know the limit


def test_windows_line_endings_do_not_count_twice(db, cast, login):
    client = login(cast.users["owner"])
    signs = "line\r\n" * 40  # 240 characters as sent, 200 after folding: still too long
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/new", data={**STEP, "signs": signs}
    )
    assert "Signs to look for must be 140 characters or fewer" in body(response)
    signs = "line\r\n" * 25  # 150 as sent, 125 as seen
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/new", data={**STEP, "signs": signs}
    )
    assert response.status_code == 302
    saved = db.session.scalars(select(CrisisStep).where(CrisisStep.level == "amber")).one()
    assert "\r" not in saved.signs and len(saved.signs) == 25 * 5 - 1


@pytest.mark.parametrize("level", ["purple", "", "red' OR 1=1"])
def test_forged_level_is_refused_with_a_message(db, cast, login, level):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/steps/new", data={**STEP, "level": level}
    )
    assert response.status_code == 200
    assert "Choose how urgent it is" in body(response)


# --------------------------------------------------------------------------- #
# Removing: deleted if never agreed, otherwise a removal waiting for review
# --------------------------------------------------------------------------- #


def test_removing_a_draft_that_was_never_agreed_deletes_it(db, cast, login):
    client = login(cast.users["owner"])
    client.post(f"/patients/{cast.a.id}/contingency/steps/new", data=STEP)
    step = db.session.scalars(select(CrisisStep).where(CrisisStep.signs == STEP["signs"])).one()
    assert step.version == 1 and step.pending_review
    step_id = step.id
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/{step_id}/remove", data={"version": 1}
    )
    assert response.status_code == 302
    assert not exists(db, CrisisStep, step_id)
    assert "crisis_step.delete" in audit_actions(db, cast.a.id)
    assert STEP["signs"] not in crisis_page(client, cast.a)


def test_removing_an_agreed_step_waits_for_the_review(db, cast, items, login):
    agree(db, items.step)
    client = login(cast.users["carer_contribute"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/{items.step.id}/remove",
        data={"version": items.step.version},
    )
    assert response.status_code == 302
    db.session.refresh(items.step)
    assert items.step.removal_proposed and items.step.pending_review
    assert items.step.updated_by_id == cast.users["carer_contribute"].id
    assert "crisis_step.remove" in audit_actions(db, cast.a.id)
    # The crisis page keeps the agreed step, with the removal waiting apart, unchecked...
    page = crisis_page(client, cast.a)
    assert page.count("Lips blue") == 2
    assert "Carer contribute asked on" in page and "for this to be removed" in page
    # ...the plan's summary shows the newest wish...
    assert "Lips blue" not in body(client.get(f"/patients/{cast.a.id}/plan"))
    # ...but still in the plan for the professional to agree, and marked where it is edited.
    overview = body(client.get(f"/patients/{cast.a.id}/contingency"))
    assert "Lips blue" in overview and "You asked to remove this – not yet agreed" in overview


def test_a_removal_asked_twice_changes_nothing_more(db, cast, items, login):
    agree(db, items.step)
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/contingency/steps/{items.step.id}/remove"
    client.post(url, data={"version": items.step.version})
    db.session.refresh(items.step)
    version = items.step.version
    response = client.post(url, data={"version": version}, follow_redirects=True)
    assert "You have already asked to remove this" in body(response)
    db.session.refresh(items.step)
    assert items.step.version == version


def test_editing_a_step_waiting_for_removal_keeps_it(db, cast, items, login):
    agree(db, items.step)
    client = login(cast.users["owner"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/{items.step.id}/remove",
        data={"version": items.step.version},
    )
    db.session.refresh(items.step)
    form = body(client.get(f"/patients/{cast.a.id}/contingency/steps/{items.step.id}"))
    assert "Saving this form keeps the step" in form
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/{items.step.id}",
        data={**STEP, "level": "red", "signs": "Lips blue again", "version": items.step.version},
    )
    db.session.refresh(items.step)
    assert not items.step.removal_proposed
    assert "Lips blue again" in crisis_page(client, cast.a)


def test_removing_after_someone_else_changed_it_is_refused(db, cast, items, login):
    agree(db, items.step)
    seen = items.step.version
    items.step.actions = "Ring 999 now"  # saved by someone else meanwhile
    db.session.commit()
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/steps/{items.step.id}/remove", data={"version": seen}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contingency/steps/{items.step.id}")
    db.session.refresh(items.step)
    assert not items.step.removal_proposed
    page = body(client.get(response.headers["Location"]))
    assert "so it has not been removed" in page and "Ring 999 now" in page


def test_removing_an_agreed_contact_waits_and_a_new_one_goes(db, cast, items, login):
    agree(db, items.contact)
    client = login(cast.users["owner"])
    client.post(
        f"/patients/{cast.a.id}/contingency/contacts/{items.contact.id}/remove",
        data={"version": items.contact.version},
    )
    db.session.refresh(items.contact)
    assert items.contact.removal_proposed
    page = crisis_page(client, cast.a)
    agreed, apart = page.split('id="not-yet-checked"')
    assert "tel:+447700900123" in agreed and "for this to be removed" in apart
    client.post(f"/patients/{cast.a.id}/contingency/contacts/new", data=CONTACT)
    new_id = db.session.scalars(select(Contact.id).where(Contact.name == "Jo Carter")).one()
    client.post(f"/patients/{cast.a.id}/contingency/contacts/{new_id}/remove", data={"version": 1})
    assert not exists(db, Contact, new_id)
    actions = audit_actions(db, cast.a.id)
    assert "contact.remove" in actions and "contact.delete" in actions


# --------------------------------------------------------------------------- #
# Conflicts: the later save is told, shown both versions, and loses nothing
# --------------------------------------------------------------------------- #


def test_stale_step_save_shows_both_versions_and_keeps_mine(db, cast, items, login):
    seen = items.step.version
    items.step.signs = "Saved by the other person"
    db.session.commit()
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/contingency/steps/{items.step.id}"
    response = client.post(url, data={**STEP, "signs": "Typed by me", "version": seen})
    assert response.status_code == 200
    page = body(response)
    assert "Someone else changed this while you were editing" in page
    assert "Saved by the other person" in page
    assert "Typed by me</textarea>" in page
    # Levels are shown as words in the comparison, not as stored codes.
    assert 'portal-own-words" dir="auto">Emergency</td>' in page
    assert 'portal-own-words" dir="auto">Urgent</td>' in page
    db.session.refresh(items.step)
    assert items.step.signs == "Saved by the other person"
    # The form now carries the saved version: a deliberate second save wins.
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    assert int(version) == items.step.version
    response = client.post(url, data={**STEP, "signs": "Typed by me", "version": version})
    assert response.status_code == 302
    db.session.refresh(items.step)
    assert items.step.signs == "Typed by me"


@pytest.mark.parametrize("version", ["", "abc", "-1", "99999999999999999999"])
def test_missing_or_forged_version_is_a_conflict_not_a_500(db, cast, items, login, version):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/contacts/{items.contact.id}",
        data={**CONTACT, "version": version},
    )
    assert response.status_code == 200
    assert "Someone else changed this while you were editing" in body(response)


def test_first_usual_state_written_twice_is_a_conflict(db, cast, login):
    """Two people open the empty form; the second save is shown the first one's text."""
    org = make_org()
    patient = make_patient(org)
    plan = make_plan(patient)
    db.session.delete(
        db.session.scalars(select(UsualState).where(UsualState.plan_id == plan.id)).one()
    )
    db.session.commit()
    client = login(patient.user)
    url = f"/patients/{patient.id}/contingency/usual-state"
    assert 'name="version" type="hidden" value=""' in body(client.get(url))
    assert client.post(url, data={**USUAL, "version": ""}).status_code == 302
    response = client.post(url, data={**USUAL, "mobility": "Second writer", "version": ""})
    assert response.status_code == 200
    page = body(response)
    assert "Someone else changed this while you were editing" in page
    assert USUAL["mobility"] in page and "Second writer" in page


def test_simultaneous_first_usual_states_do_not_give_a_500(app, db, cast, items):
    """The database's one-per-plan rule turns the later insert into a conflict."""
    from portal.contingency.services import propose
    from portal.editing import EditConflict

    second = UsualState(plan_id=items.usual.plan_id)
    with app.test_request_context(), pytest.raises(EditConflict) as conflict:
        propose(second, {"mobility": "Second"}, None, cast.users["owner"], cast.a.id)
    assert conflict.value.current == {"mobility": "Walks with a stick"}
    assert conflict.value.version == items.usual.version


# --------------------------------------------------------------------------- #
# Usual state of health and contacts
# --------------------------------------------------------------------------- #


def test_usual_state_records_every_field_and_the_crisis_page_shows_them(db, cast, items, login):
    agree(db, items.usual)
    client = login(cast.users["carer_contribute"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/usual-state",
        data={**USUAL, "version": items.usual.version},
    )
    assert response.status_code == 302
    db.session.refresh(items.usual)
    for field, value in USUAL.items():
        assert getattr(items.usual, field) == value
    assert items.usual.pending_review
    assert "usual_state.edit" in audit_actions(db, cast.a.id)
    page = crisis_page(login(cast.users["carer_crisis"]), cast.a)
    for value in USUAL.values():
        assert value in page
    for heading in (
        "Medicines and allergies",
        "Usual state of health",
        "Where important documents",
    ):
        assert heading in page
    assert "not yet checked by the care team</strong>" in page


def test_usual_state_is_created_when_there_is_none(db, login):
    patient = make_patient(make_org())
    plan = make_plan(patient)
    db.session.delete(
        db.session.scalars(select(UsualState).where(UsualState.plan_id == plan.id)).one()
    )
    db.session.commit()
    client = login(patient.user)
    assert "Not recorded yet." in crisis_page(client, patient)
    response = client.post(
        f"/patients/{patient.id}/contingency/usual-state", data={"allergies": "None known"}
    )
    assert response.status_code == 302
    usual = db.session.scalars(select(UsualState).where(UsualState.plan_id == plan.id)).one()
    assert usual.allergies == "None known" and usual.mobility == ""
    assert "usual_state.create" in audit_actions(db, patient.id)


def test_usual_state_lengths_are_limited(db, cast, items, login):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/usual-state",
        data={
            **USUAL,
            "medicines": "m" * 301,
            "lpa_location": "l" * 61,
            "version": items.usual.version,
        },
    )
    assert response.status_code == 200
    page = body(response)
    assert "Medicines must be 300 characters or fewer" in page
    assert "Where the lasting power of attorney is kept must be 60 characters or fewer" in page
    assert "m" * 301 in page and USUAL["allergies"] in page


def test_contact_is_added_stored_as_typed_and_called_by_its_e164_number(db, cast, login):
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/contacts/new",
        data={**CONTACT, "phone": "  +33 1 42 68 53 00  "},
    )
    assert response.status_code == 302
    contact = db.session.scalars(select(Contact).where(Contact.name == "Jo Carter")).one()
    assert contact.phone == "+33 1 42 68 53 00"
    assert contact.kind == "carer" and contact.pending_review
    assert "contact.create" in audit_actions(db, cast.a.id)
    page = crisis_page(client, cast.a)
    apart = page.split('id="not-yet-checked"')[1]  # added by the patient: not checked yet
    assert 'href="tel:+33142685300"' in apart
    assert "Call Jo Carter" in apart and "Neighbour" in apart
    assert "If Sam cannot be reached" in apart


def test_contact_is_changed_as_a_proposal(db, cast, items, login):
    agree(db, items.contact)
    client = login(cast.users["carer_contribute"])
    response = client.post(
        f"/patients/{cast.a.id}/contingency/contacts/{items.contact.id}",
        data={
            **CONTACT,
            "name": "Sam Smith",
            "phone": "0113 496 0123",
            "version": items.contact.version,
        },
    )
    assert response.status_code == 302
    db.session.refresh(items.contact)
    assert items.contact.name == "Sam Smith" and items.contact.pending_review
    assert "contact.edit" in audit_actions(db, cast.a.id)
    assert 'href="tel:+441134960123"' in crisis_page(client, cast.a)


@pytest.mark.parametrize("kind", ["", "bogus", "next_of_kin' --"])
def test_contact_kind_must_be_one_of_the_list(db, cast, login, kind):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/contacts/new", data={**CONTACT, "kind": kind}
    )
    assert response.status_code == 200
    assert "Choose who this contact is" in body(response)


# --------------------------------------------------------------------------- #
# Phone numbers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("typed", "dials"),
    [
        ("07911 123456", "+447911123456"),  # UK mobile
        ("07700 900123", "+447700900123"),  # Ofcom drama range, used in demos and tests
        ("0113 496 0000", "+441134960000"),  # UK landline
        ("020 7946 0000", "+442079460000"),
        ("(0113) 496-0000", "+441134960000"),
        ("+44 (0)113 496 0000", "+441134960000"),
        ("0044 7911 123456", "+447911123456"),
        ("0800 111 4444", "+448001114444"),
        ("+33 1 42 68 53 00", "+33142685300"),  # international
        ("+1 202 456 1111", "+12024561111"),
        ("999", "999"),  # emergency and NHS short codes dial as they are
        ("112", "112"),
        ("111", "111"),
        ("116 123", "116123"),
        (" 999 ", "999"),
    ],
)
def test_phone_numbers_that_are_accepted(app, typed, dials):
    with app.test_request_context():
        assert dial_string(typed) == dials
        assert tel_href(typed) == dials


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("call me", "using numbers only"),
        ("0113 496 OOOO", "using numbers only"),  # letter O for zero
        ("01134960000 ext 12", "using numbers only"),
        ("javascript:alert(1)", "using numbers only"),
        ("07911 123456\n999", "using numbers only"),
        ("1+1", "using numbers only"),
        ("0123 456 789 012 345 678", "too long"),
        ("+44 7911 123456 7890 1234", "too long"),
        ("12345", "Enter a UK phone number"),
        ("0113", "Enter a UK phone number"),
        ("07911 12345", "Enter a UK phone number"),
        ("+999 123 456 789", "Enter a UK phone number"),
        ("+", "using numbers only"),
        ("()", "using numbers only"),  # punctuation alone, no digit at all
        ("- . -", "using numbers only"),
        ("0", "Enter a UK phone number"),  # a single digit
    ],
)
def test_phone_numbers_that_are_refused(app, typed, message):
    with app.test_request_context(), pytest.raises(PhoneError) as refused:
        dial_string(typed)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("call the surgery", "Enter a phone number using numbers only"),
        ("0113 496 00", "Enter a UK phone number"),
        ("0" * 41, "Phone number must be 40 characters or fewer"),
        ("", "Enter a phone number"),
    ],
)
def test_contact_form_explains_a_wrong_phone_number_and_keeps_the_rest(
    db, cast, login, phone, message
):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/contingency/contacts/new", data={**CONTACT, "phone": phone}
    )
    assert response.status_code == 200
    page = body(response)
    assert message in page
    assert 'value="Jo Carter"' in page and 'value="If Sam cannot be reached"' in page
    assert db.session.scalar(select(func.count(Contact.id)).where(Contact.name == "Jo Carter")) == 0


def test_numbers_saved_before_validation_still_get_a_link(app):
    with app.test_request_context():
        assert tel_href("ring 0113 496 0000 (home)") == "01134960000"
        assert tel_href("") == ""


# --------------------------------------------------------------------------- #
# The crisis page: tap to call, review markings, print, audit, queries
# --------------------------------------------------------------------------- #


def test_crisis_page_tap_to_call_buttons_use_normalised_numbers(db, cast, items, login):
    for position, phone in enumerate(["0113 496 0000", "111", "+33 1 42 68 53 00"]):
        db.session.add(
            Contact(plan_id=cast.plan_a.id, kind="other", name=f"Line {position}", phone=phone)
        )
    db.session.commit()
    page = crisis_page(login(cast.users["carer_crisis"]), cast.a)
    hrefs = re.findall(r'href="tel:([^"]*)"', page)
    # 999 and NHS 111 come first, always; then the contacts (here all still unchecked).
    assert hrefs == ["999", "111", "+447700900123", "+441134960000", "111", "+33142685300"]
    shown_as_typed = '<span class="portal-call__number"><bdi dir="ltr">07700 900123</bdi></span>'
    assert shown_as_typed in page


def test_review_markings_on_the_crisis_page(db, cast, items, login):
    client = login(cast.users["carer_crisis"])
    page = crisis_page(client, cast.a)
    assert "Not yet reviewed by a professional" in page
    # The factory's step, contact and usual state were never agreed: all three wait apart.
    assert page.count(", not yet checked by the care team</strong>") == 3
    assert "Changes not yet checked by the care team are shown apart" in page

    cast.plan_a.contingency_reviewed_on = date(2026, 3, 2)
    agree(db, items.step, items.contact, items.usual)
    page = crisis_page(client, cast.a)
    assert "Last reviewed: 2 March 2026" in page
    assert "not yet checked by the care team</strong>" not in page
    assert 'id="not-yet-checked"' not in page


def test_plan_page_links_to_the_editing_pages_only_for_those_who_may_write(cast, login):
    for who in ("owner", "carer_contribute", "carer_view", "professional"):
        page = body(login(cast.users[who]).get(f"/patients/{cast.a.id}/plan"))
        assert (f'href="/patients/{cast.a.id}/contingency"' in page) == (who in WRITERS), who
        assert f'href="/patients/{cast.a.id}/care-team"' in page


def test_crisis_page_links_to_editing_only_for_those_who_may_propose(cast, login):
    assert "/contingency" in crisis_page(login(cast.users["owner"]), cast.a)
    assert "/contingency" not in crisis_page(login(cast.users["carer_view"]), cast.a)


def test_crisis_page_prints_without_inline_script(cast, app, login):
    page = crisis_page(login(cast.users["owner"]), cast.a)
    assert '<script type="module" src="/static/js/print.js"></script>' in page
    assert "data-portal-print hidden" in page  # only shown when the script can print
    assert "use your browser’s print option" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert 'class="portal-no-print' in page
    rules = Path(app.static_folder, "css", "portal.css").read_text(encoding="utf-8")
    assert re.search(r"@page\s*{\s*size:\s*A4;", rules)
    assert ".portal-language" in rules.split("@media print")[1]


def test_every_view_and_change_is_audited(db, cast, items, login):
    client = login(cast.users["owner"])
    client.get(f"/patients/{cast.a.id}/crisis")
    client.get(f"/patients/{cast.a.id}/contingency")
    client.get(f"/patients/{cast.a.id}/contingency/steps/{items.step.id}")
    client.get(f"/patients/{cast.a.id}/care-team")
    client.post(
        f"/patients/{cast.a.id}/contingency/usual-state",
        data={**USUAL, "version": items.usual.version},
    )
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.patient_id == cast.a.id).order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == [
        "crisis.view",
        "contingency.view",
        "contingency.view",
        "care_team.view",
        "usual_state.edit",
    ]
    assert events[2].detail == f"crisis_step {items.step.id}"
    assert all(e.actor_id == cast.users["owner"].id for e in events)
    assert all(USUAL["medicines"] not in e.detail for e in events)  # no health content


def test_crisis_page_query_count_does_not_grow(db, login, count_queries):
    org = make_org()
    small, big = make_patient(org), make_patient(org)
    make_plan(small)
    plan = make_plan(big)
    for i in range(15):
        db.session.add(CrisisStep(plan_id=plan.id, level="amber", signs=f"s{i}", actions="a"))
        db.session.add(Contact(plan_id=plan.id, kind="other", name=f"c{i}", phone="111"))
    db.session.commit()
    counts = []
    for patient in (small, big):
        client = login(patient.user)
        with count_queries() as counter:
            assert client.get(f"/patients/{patient.id}/crisis").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[1] <= 12


# --------------------------------------------------------------------------- #
# Hostile input and forged ids
# --------------------------------------------------------------------------- #

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_hostile_text_is_shown_as_text_everywhere(db, cast, items, login):
    client = login(cast.users["owner"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={**STEP, "signs": HOSTILE, "who_to_call": HOSTILE[:200]},
    )
    client.post(
        f"/patients/{cast.a.id}/contingency/contacts/new",
        data={**CONTACT, "name": HOSTILE, "when_to_call": HOSTILE},
    )
    client.post(
        f"/patients/{cast.a.id}/contingency/usual-state",
        data={**USUAL, "allergies": HOSTILE, "version": items.usual.version},
    )
    professional = login(cast.users["professional"])
    professional.post(f"/patients/{cast.a.id}/care-team/new", data={**MEMBER, "name": HOSTILE})
    for who, url in [
        ("owner", f"/patients/{cast.a.id}/crisis"),
        ("owner", f"/patients/{cast.a.id}/contingency"),
        ("professional", f"/patients/{cast.a.id}/care-team"),
    ]:
        page = body(login(cast.users[who]).get(url))
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/patients/{a}/contingency/steps/{step}"),
        ("POST", "/patients/{a}/contingency/steps/{step}"),
        ("POST", "/patients/{a}/contingency/steps/{step}/remove"),
        ("GET", "/patients/{a}/contingency/contacts/{contact}"),
        ("POST", "/patients/{a}/contingency/contacts/{contact}"),
        ("POST", "/patients/{a}/contingency/contacts/{contact}/remove"),
    ],
)
def test_forged_ids_of_another_patients_items_are_404(db, cast, login, method, template):
    """Patient A's own URL with an item of patient B's plan."""
    plan_b = cast.plan_b.id
    step_b = db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == plan_b)).one()
    contact_b = db.session.scalars(select(Contact).where(Contact.plan_id == plan_b)).one()
    before = fingerprint(db)
    url = template.format(a=cast.a.id, step=step_b.id, contact=contact_b.id)
    data = {**STEP, **CONTACT, "version": 1}
    response = login(cast.users["owner"]).open(url, method=method, data=data)
    assert response.status_code == 404
    assert fingerprint(db) == before


@pytest.mark.parametrize("suffix", ["", "/remove"])
def test_forged_care_team_member_id_is_404(db, cast, login, suffix):
    member_b = CareTeamMember(plan_id=cast.plan_b.id, name="Dr B", role="GP")
    db.session.add(member_b)
    db.session.commit()
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/care-team/{member_b.id}{suffix}", data=MEMBER
    )
    assert response.status_code == 404
    db.session.refresh(member_b)
    assert member_b.name == "Dr B"


# --------------------------------------------------------------------------- #
# Care team
# --------------------------------------------------------------------------- #


def test_care_team_page_shows_the_named_contact_and_how_to_reach_everyone(db, cast, items, login):
    nurse = cast.users["professional"]
    nurse.job_title, nurse.phone, nurse.availability = "Practice nurse", "0113 496 0001", "Mondays"
    items.member.email, items.member.availability = "anna.patel@example.org", "Tuesdays"
    db.session.commit()
    page = body(login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/care-team"))
    assert "Nurse Named" in page and "Practice nurse" in page and "Home practice" in page
    assert 'href="tel:+441134960001"' in page and f'href="mailto:{nurse.email}"' in page
    assert "Mondays" in page
    assert "Dr Anna Patel" in page and 'href="tel:+441134960000"' in page
    assert 'href="mailto:anna.patel@example.org"' in page and "Tuesdays" in page
    assert "Add someone to the care team" not in page
    assert "/care-team/new" in body(login(nurse).get(f"/patients/{cast.a.id}/care-team"))


def test_care_team_page_without_named_contact_or_members(db, login):
    patient = make_patient(make_org())
    make_plan(patient)
    db.session.commit()
    page = body(login(patient.user).get(f"/patients/{patient.id}/care-team"))
    assert "No named contact has been given yet." in page
    assert "Nobody else has been added to the care team yet." in page


def test_professional_adds_changes_and_removes_a_care_team_member(db, cast, items, login):
    client = login(cast.users["professional"])
    response = client.post(f"/patients/{cast.a.id}/care-team/new", data=MEMBER)
    assert response.status_code == 302
    member = db.session.scalars(
        select(CareTeamMember).where(CareTeamMember.name == MEMBER["name"])
    ).one()
    assert member.plan_id == cast.plan_a.id and member.email == MEMBER["email"]
    assert member.position > items.member.position
    page = body(client.get(f"/patients/{cast.a.id}/care-team"))
    assert page.index("Dr Anna Patel") < page.index("Joe Bennett")

    response = client.post(
        f"/patients/{cast.a.id}/care-team/{member.id}",
        data={**MEMBER, "availability": "Fridays", "version": member.version},
    )
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.availability == "Fridays"

    member_id = member.id
    response = client.post(
        f"/patients/{cast.a.id}/care-team/{member_id}/remove", data={"version": member.version}
    )
    assert response.status_code == 302
    assert not exists(db, CareTeamMember, member_id)
    actions = audit_actions(db, cast.a.id)
    for action in ("care_team_member.create", "care_team_member.edit", "care_team_member.delete"):
        assert action in actions


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter their name"),
        ("role", "", "Enter their role"),
        ("email", "not-an-email", "Enter an email address in the correct format"),
        ("email", "javascript:alert(1)", "Enter an email address in the correct format"),
        ("phone", "ring reception", "Enter a phone number using numbers only"),
        ("organisation", "o" * 201, "Organisation must be 200 characters or fewer"),
        ("availability", "a" * 201, "When they can be reached must be 200 characters or fewer"),
    ],
)
def test_care_team_member_form_errors_keep_what_was_typed(db, cast, login, field, value, message):
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/care-team/new", data={**MEMBER, field: value}
    )
    assert response.status_code == 200
    page = body(response)
    assert message in page
    assert 'value="Community Healthcare"' in page or field == "organisation"
    assert db.session.scalar(select(func.count(CareTeamMember.id))) == 0


def test_care_team_phone_and_email_are_optional(db, cast, login):
    data = {**MEMBER, "phone": "", "email": ""}
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/care-team/new", data=data
    )
    assert response.status_code == 302
    page = body(login(cast.users["owner"]).get(f"/patients/{cast.a.id}/care-team"))
    assert "No phone number or email address recorded." in page


# --------------------------------------------------------------------------- #
# CSRF and demo data
# --------------------------------------------------------------------------- #


def test_changes_need_the_csrf_token(app, db, cast):
    from portal import create_app
    from tests.conftest import FreshContextClient, sign_in

    protected = create_app({**app.config, "WTF_CSRF_ENABLED": True})
    protected.test_client_class = FreshContextClient
    client = protected.test_client()
    sign_in(client, cast.users["owner"])
    response = client.post(f"/patients/{cast.a.id}/contingency/steps/new", data=STEP)
    assert response.status_code == 400
    assert (
        db.session.scalar(select(func.count(CrisisStep.id)).where(CrisisStep.level == "amber")) == 0
    )


def test_demo_crisis_page_and_care_team_render(db, login, monkeypatch):
    from portal.demo import load_demo_data
    from portal.models import Patient, User

    monkeypatch.setattr("portal.demo.hash_password", lambda password: "not-a-real-hash")
    load_demo_data()
    margaret = db.session.scalars(select(Patient).where(Patient.given_name == "Margaret")).one()
    carer = db.session.scalars(select(User).where(User.role == Role.CARER)).one()
    client = login(carer)
    page = crisis_page(client, margaret)
    assert "Call 999" in page and 'href="tel:+441134960000"' in page and 'href="tel:111"' in page
    assert "Penicillin (rash)." in page and "In the red folder on the fridge" in page
    assert "Last reviewed by Priya Shah on" in page and 'id="not-yet-checked"' not in page
    team = body(client.get(f"/patients/{margaret.id}/care-team"))
    assert "Priya Shah" in team and "Joe Bennett" in team
    assert 'href="mailto:community.matrons@example.org"' in team
    # Every demo number is one the contact form would accept.
    for contact in db.session.scalars(select(Contact)):
        assert dial_string(contact.phone)
