"""Safe import: identity, what GP systems send, what is skipped, idempotence, the preview."""

import codecs
import contextlib
import copy
import io
import json
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    CarePlan,
    ConditionProposal,
    Contact,
    CrisisStep,
    Goal,
    UsualState,
)
from portal.portability import valuesets as vs
from tests.factories import make_patient

NHS = "9434765919"


@pytest.fixture
def target(db, cast):
    """The same person registered at a practice that receives the plan."""
    patient = make_patient(
        cast.org,
        nhs_number=NHS,
        given_name="Alice",
        family_name="Able",
        date_of_birth=date(1950, 1, 1),
    )
    db.session.add(CarePlan(patient_id=patient.id))
    db.session.commit()
    return patient


def _patient(**kw):
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": vs.NHS_NUMBER_SYSTEM, "value": NHS}],
        "name": [{"family": "ABLE", "given": ["Alice"]}],
        "birthDate": "1950-01-01",
    }
    resource.update(kw)
    return resource


def _bundle(*resources, patient=None):
    """A collection as a GP system might send it: relative references, no urn:uuid."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": f"https://gp.example/fhir/{r['resourceType']}/{r.get('id', i)}",
                "resource": r,
            }
            for i, r in enumerate([patient or _patient(), *resources])
        ],
    }


def _goal(gid="g1", title="Walk to the shops", **kw):
    goal = {
        "resourceType": "Goal",
        "id": gid,
        "identifier": [{"system": "https://gp.example/Id/goal", "value": gid}],
        "lifecycleStatus": "active",
        "description": {"text": title},
        "subject": {"reference": "Patient/p1"},
    }
    goal.update(kw)
    return goal


def _careplan(goals=(), activity=(), **kw):
    careplan = {
        "resourceType": "CarePlan",
        "id": "cp1",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/p1"},
        "goal": [{"reference": f"Goal/{g}"} for g in goals],
        "activity": list(activity),
    }
    careplan.update(kw)
    return careplan


def _crisis(level="red", signs="Lips blue", actions="Ring 999", status="not-started"):
    return {
        "detail": {
            "status": status,
            "code": {
                "coding": [
                    {"system": "http://localhost/fhir/CodeSystem/crisis-level", "code": level}
                ]
            },
            "reasonCode": [{"text": signs}],
            "description": actions,
        }
    }


def _raw(data) -> bytes:
    return json.dumps(data).encode()


def _upload(request_as, user, patient_id, payload: bytes):
    return request_as(
        user,
        "POST",
        f"/patients/{patient_id}/fhir-import",
        data={"bundle": (io.BytesIO(payload), "plan.json")},
        content_type="multipart/form-data",
    )


def _hidden(html, name):
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def _confirm(request_as, user, patient_id, html, digest=None):
    return request_as(
        user,
        "POST",
        f"/patients/{patient_id}/fhir-import/confirm",
        data={"payload": _hidden(html, "payload"), "digest": digest or _hidden(html, "digest")},
    )


@pytest.fixture
def importing(cast, target, request_as):
    """Upload and confirm as the professional; returns the preview's text."""
    nurse = cast.users["professional"]

    def _run(data, confirm=True):
        payload = data if isinstance(data, bytes) else _raw(data)
        preview = _upload(request_as, nurse, target.id, payload)
        assert preview.status_code == 200
        html = preview.get_data(as_text=True)
        if confirm and 'name="payload"' in html:
            assert _confirm(request_as, nurse, target.id, html).status_code == 302
        return html

    return _run


def _goals(db, patient):
    return db.session.scalars(
        select(Goal).join(CarePlan).where(CarePlan.patient_id == patient.id).order_by(Goal.id)
    ).all()


def _steps(db, patient):
    return db.session.scalars(
        select(CrisisStep)
        .join(CarePlan)
        .where(CarePlan.patient_id == patient.id)
        .order_by(CrisisStep.id)
    ).all()


@pytest.mark.parametrize(
    ("patient", "message"),
    [
        (_patient(birthDate="1950-01-02"), "the date of birth does not match"),
        (
            _patient(name=[{"family": "Baker", "given": ["Alice"]}]),
            "the family name does not match",
        ),
        (
            _patient(identifier=[{"system": vs.NHS_NUMBER_SYSTEM, "value": "9000000009"}]),
            "the NHS number does not match",
        ),
        (_patient(birthDate=None), "the date of birth does not match"),
        (_patient(name=[]), "the family name does not match"),
    ],
)
def test_identity_must_agree_on_all_three(db, target, importing, patient, message):
    patient = {k: v for k, v in patient.items() if v is not None}
    html = importing(_bundle(_careplan(["g1"]), _goal(), patient=patient))
    assert message in html and "Nothing was imported" in html
    assert _goals(db, target) == []


def test_a_failed_nhs_number_trace_is_refused(db, target, importing):
    patient = _patient()
    patient["identifier"][0]["extension"] = [
        {
            "url": vs.NHS_NUMBER_VERIFICATION_EXTENSION,
            "valueCodeableConcept": {
                "coding": [{"system": vs.NHS_NUMBER_VERIFICATION_SYSTEM, "code": "04"}]
            },
        }
    ]
    html = importing(_bundle(_goal(), patient=patient))
    assert "could not confirm this NHS number by a trace (status 04)" in html
    assert _goals(db, target) == []


def test_what_gp_systems_send_is_accepted(db, target, importing):
    data = _bundle(
        _careplan(
            ["g1"],
            [
                {"reference": {"reference": "ServiceRequest/sr1", "display": "Referral"}},
                {
                    "detail": {
                        "status": "in-progress",
                        "description": "Walk with my son",
                        "goal": [{"reference": "https://gp.example/fhir/Goal/g1"}],  # absolute
                    }
                },
                _crisis(),
            ],
        ),
        _goal(target=[{"dueDate": "2027-06"}]),  # a partial date, valid FHIR
    )
    html = importing(codecs.BOM_UTF8 + _raw(data))  # with a byte-order mark
    assert "Referral" in html  # activity.reference is listed as left out, not refused
    (goal,) = _goals(db, target)
    assert (goal.title, goal.steps, goal.target_date) == (
        "Walk to the shops",
        "Walk with my son",
        date(2027, 6, 30),
    )
    assert goal.pending_review and goal.status == "proposed"
    step = db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == target.plan.id)).one()
    assert (step.level, step.signs, step.pending_review) == ("red", "Lips blue", True)


def test_duplicate_keys_are_refused_as_such(db, target, importing):
    raw = _raw(_bundle(_goal())).replace(
        b'"lifecycleStatus": "active"',
        b'"lifecycleStatus": "active", "lifecycleStatus": "cancelled"',
    )
    html = importing(raw)
    assert "repeats the key “lifecycleStatus”" in html
    assert "different patient" not in html


def test_invalid_fields_are_named_with_their_resource(target, importing):
    html = importing(_bundle(_goal(target=[{"dueDate": "2027-13-45"}])))
    assert "Goal (entry 2)" in html and "dueDate" in html


def test_entered_in_error_and_revoked_are_skipped(db, target, importing):
    data = _bundle(
        _careplan(["g1", "g2", "g3"]),
        _goal("g1", "Kept"),
        _goal("g2", "Mistake", lifecycleStatus="entered-in-error"),
        _goal("g3", "Dropped", lifecycleStatus="cancelled"),
        _careplan(id="cp2", status="revoked", activity=[_crisis(signs="Old plan")]),
    )
    html = importing(data)
    assert "Marked in the file as entered in error or revoked" in html
    assert [g.title for g in _goals(db, target)] == ["Kept"]
    assert (
        db.session.scalar(
            select(func.count()).select_from(CrisisStep).where(CrisisStep.plan_id == target.plan.id)
        )
        == 0
    )


def test_importing_again_changes_nothing(db, target, importing):
    data = _bundle(_careplan(["g1"], [_crisis()]), _goal())
    importing(data)
    before = (
        len(_goals(db, target)),
        db.session.scalar(select(func.count()).select_from(CrisisStep)),
    )
    html = importing(data)
    assert "Will be added: 0" in html and "Will be changed: 0" in html
    assert (
        len(_goals(db, target)),
        db.session.scalar(select(func.count()).select_from(CrisisStep)),
    ) == before


def test_a_changed_resource_is_a_change_not_a_duplicate(db, target, importing):
    importing(_bundle(_careplan(["g1"]), _goal()))
    html = importing(_bundle(_careplan(["g1"]), _goal(title="Walk to the park")))
    assert "Will be changed: 1" in html
    assert [g.title for g in _goals(db, target)] == ["Walk to the park"]


def test_what_was_asked_to_be_removed_is_never_brought_back(db, target, importing):
    data = _bundle(_careplan([], [_crisis(), _crisis("amber", "Cough", "Ring the GP")]))
    importing(data)
    red, amber = _steps(db, target)
    red.removal_proposed = True  # the patient asked to remove it here
    db.session.delete(amber)  # and this one was removed here
    db.session.commit()
    html = importing(data)
    assert "Asked to be removed, so it is not brought back." in html
    assert "Removed from this plan since it was last imported." in html
    assert [(s.level, s.removal_proposed) for s in _steps(db, target)] == [("red", True)]


def test_a_removal_requested_in_the_sending_system_is_not_imported(db, target, importing):
    data = _bundle(
        _careplan([], [_crisis()]),
        _careplan(
            id="cp2", intent="proposal", status="draft", activity=[_crisis(status="cancelled")]
        ),
    )
    html = importing(data)
    assert "Asked to be removed, so it is not brought back." in html
    assert _steps(db, target) == []


def test_the_preview_writes_nothing_and_a_stale_confirmation_is_shown_again(
    db, cast, target, importing, request_as
):
    html = importing(_bundle(_careplan(["g1"]), _goal()), confirm=False)
    assert "Will be added: 1" in html and _goals(db, target) == []
    nurse = cast.users["professional"]
    response = _confirm(request_as, nurse, target.id, html, digest="0" * 64)
    assert response.status_code == 200
    assert "The plan has changed" in response.get_data(as_text=True)
    assert _goals(db, target) == []
    response = _confirm(request_as, nurse, target.id, html)
    assert response.status_code == 302 and len(_goals(db, target)) == 1


def test_a_forged_preview_payload_is_refused(cast, target, request_as):
    response = request_as(
        cast.users["professional"],
        "POST",
        f"/patients/{target.id}/fhir-import/confirm",
        data={"payload": "not base64 at all!", "digest": "x"},
    )
    assert response.status_code == 200
    assert "The preview could not be read" in response.get_data(as_text=True)


def test_conditions_medicines_and_allergies_are_offered(db, target, importing):
    data = _bundle(
        {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [{"system": vs.CONDITION_CLINICAL_SYSTEM, "code": "active"}]
            },
            "code": {"coding": [{"system": vs.SNOMED, "code": "266257000", "display": "TIA"}]},
            "subject": {"reference": "Patient/p1"},
        },
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": vs.SNOMED, "code": "22298006"}], "text": "Heart attack"},
            "subject": {"reference": "Patient/p1"},
        },
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": "Ramipril 5mg capsules"},
            "subject": {"reference": "Patient/p1"},
        },
        {
            "resourceType": "AllergyIntolerance",
            "code": {"text": "Penicillin"},
            "patient": {"reference": "Patient/p1"},
        },
    )
    html = importing(data)
    assert "Not one of the long-term conditions this portal records." in html
    db.session.refresh(target)
    assert target.conditions == []  # proposed, for a professional to add or turn down
    proposals = db.session.scalars(select(ConditionProposal)).all()
    assert [(p.patient_id, p.condition_code, p.status) for p in proposals] == [
        (target.id, "230690007", "proposed")
    ]
    usual = db.session.scalars(select(UsualState).where(UsualState.plan_id == target.plan.id)).one()
    assert (usual.medicines, usual.allergies, usual.pending_review) == (
        "Ramipril 5mg capsules",
        "Penicillin",
        True,
    )


def test_medicines_by_reference_are_read_from_the_medication(db, target, importing):
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {"coding": [{"system": vs.SNOMED, "code": "1", "display": "Metformin 500mg"}]},
    }
    statements = [
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationReference": {"reference": "Medication/m1"},
            "subject": {"reference": "Patient/p1"},
        },
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "contained": [{**medication, "id": "c1", "code": {"text": "Ramipril 5mg"}}],
            "medicationReference": {"reference": "#c1"},
            "subject": {"reference": "Patient/p1"},
        },
    ]
    importing(_bundle(medication, *statements))
    usual = db.session.scalars(select(UsualState).where(UsualState.plan_id == target.plan.id)).one()
    assert usual.medicines == "Metformin 500mg\nRamipril 5mg"


def test_contacts_need_a_phone_number(db, target, importing):
    data = _bundle(
        {
            "resourceType": "RelatedPerson",
            "patient": {"reference": "Patient/p1"},
            "relationship": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}
                    ]
                }
            ],
            "name": [{"given": ["Sam"], "family": "Able"}],
            "telecom": [{"system": "phone", "value": "07700 900123"}],
        },
        {
            "resourceType": "RelatedPerson",
            "patient": {"reference": "Patient/p1"},
            "name": [{"text": "No Phone"}],
        },
    )
    html = importing(data)
    assert "No phone number to call." in html
    (contact,) = db.session.scalars(select(Contact).where(Contact.plan_id == target.plan.id)).all()
    assert (contact.kind, contact.name, contact.phone) == (
        "next_of_kin",
        "Sam Able",
        "07700 900123",
    )


def test_the_preview_and_import_are_audited(db, target, importing):
    importing(_bundle(_careplan(["g1"]), _goal()))
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == target.id)
    ).all()
    assert actions.count("fhir.import_preview") == 1 and actions.count("fhir.import") == 1
    details = db.session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "fhir.import")
    ).all()
    assert details == ["1 added, 0 changed, 0 left out"]  # counts, never content


def test_a_document_round_trip_between_two_plans(db, cast, target, importing, request_as):
    plan = cast.plan_a
    for item in [*plan.crisis_steps, *plan.contacts, *plan.needs, *plan.wishes, plan.usual_state]:
        item.pending_review = False
    db.session.commit()
    response = request_as(cast.users["owner"], "GET", f"/patients/{cast.a.id}/plan.fhir.json")
    document = json.loads(response.get_data(as_text=True))
    patient = next(
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    patient["identifier"][0]["value"] = NHS
    importing(copy.deepcopy(document))
    received = db.session.get(CarePlan, target.plan.id)
    assert [g.title for g in received.goals] == ["Goal 1", "Goal 2"]
    assert [(s.level, s.signs, s.actions) for s in received.crisis_steps] == [
        ("red", "Lips blue", "Ring 999")
    ]
    assert received.usual_state.mobility == "Walks with a stick"
    assert [(c.name, c.phone) for c in received.contacts] == [("Sam", "07700 900123")]
    assert [n.text for n in received.needs] == ["My breathing"]
    assert [w.text for w in received.wishes] == ["At home"]
    assert [m.name for m in received.care_team] == ["Nurse Named"]
    html = importing(copy.deepcopy(document))
    assert "Will be added: 0" in html and "Will be changed: 0" in html


# --- no file gives a 500 ---------------------------------------------------------------------

HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "\x00",
            "<script>alert(1)</script>",
            "\u202eevil\u202c",
            "😀" * 300,
            "x" * 2500,
            "2027-06",
            "2027",
            "9999-99",
            "urn:uuid:nothing",
            "Patient/p1",
            "../../etc/passwd",
            "entered-in-error",
            "revoked",
            "proposal",
        ]
    ),
    st.text(max_size=40),
)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        HOSTILE_TEXT,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(["reference", "text", "code", "system", "value", "x"]),
            children,
            max_size=3,
        ),
    ),
    max_leaves=8,
)


def _base():
    return _bundle(
        _careplan(
            ["g1"],
            [
                _crisis(),
                {
                    "detail": {
                        "status": "in-progress",
                        "description": "Steps",
                        "goal": [{"reference": "Goal/g1"}],
                    }
                },
            ],
        ),
        _goal(target=[{"dueDate": "2027-06"}]),
        {
            "resourceType": "RelatedPerson",
            "patient": {"reference": "Patient/p1"},
            "name": [{"text": "Sam"}],
            "telecom": [{"system": "phone", "value": "07700 900123"}],
        },
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {
                "coding": [
                    {
                        "system": "http://localhost/fhir/CodeSystem/care-plan-entry",
                        "code": "need-health",
                    }
                ]
            },
            "valueString": "My breathing",
        },
    )


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _set(node, path, value):
    for step in path[:-1]:
        node = node[step]
    if path:
        node[path[-1]] = value


@st.composite
def hostile_files(draw):
    data = _base()
    paths = list(_paths(data))[1:]
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _set(data, path, draw(JSON_VALUES))
        paths = list(_paths(data))[1:] or [("type",)]
    raw = json.dumps(data, ensure_ascii=draw(st.booleans())).encode()
    mangle = draw(st.sampled_from(["none", "bom", "truncate", "duplicate", "latin1"]))
    if mangle == "bom":
        raw = codecs.BOM_UTF8 + raw
    elif mangle == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mangle == "duplicate":
        raw = raw.replace(b'"status"', b'"status": "active", "status"', 1)
    elif mangle == "latin1":
        raw = raw + "é".encode("latin-1")
    return raw


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=hostile_files())
def test_no_file_gives_a_500(cast, target, request_as, raw):
    nurse = cast.users["professional"]
    preview = _upload(request_as, nurse, target.id, raw)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    if 'name="payload"' in html:
        confirmed = _confirm(request_as, nurse, target.id, html)
        assert confirmed.status_code in (200, 302)


def test_a_text_too_long_for_its_field_is_refused_with_its_place(db, target, importing):
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {
                    "system": "http://localhost/fhir/CodeSystem/care-plan-entry",
                    "code": "usual-dnacpr_location",
                }
            ]
        },
        "valueString": "x" * 201,
    }
    html = importing(_bundle(observation))
    assert "Observation (entry 2), valueString: the text is longer than 200 characters." in html


def test_a_goal_withdrawn_here_is_not_brought_back(db, target, importing):
    importing(_bundle(_careplan(["g1"]), _goal()))
    (goal,) = _goals(db, target)
    goal.status = "withdrawn"
    db.session.commit()
    for data in (
        _bundle(_careplan(["g1"]), _goal()),  # the same file again
        _bundle(_careplan(["g1"]), _goal(title="Walk to the shops", note=[{"text": "New"}])),
        _bundle(_careplan(["g2"]), _goal("g2")),  # same words, another identifier
    ):
        html = importing(data)
        assert "Will be added: 0" in html and "Will be changed: 0" in html
    assert [g.status for g in _goals(db, target)] == ["withdrawn"]


def _condition_bundle(code="13645005"):
    return _bundle(
        {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [{"system": vs.CONDITION_CLINICAL_SYSTEM, "code": "active"}]
            },
            "code": {"coding": [{"system": vs.SNOMED, "code": code}]},
            "subject": {"reference": "Patient/p1"},
        }
    )


def _decide(request_as, user, patient_id, proposal_id, decision):
    return request_as(
        user,
        "POST",
        f"/patients/{patient_id}/condition-proposals/{proposal_id}",
        data={"decision": decision},
    )


def test_an_imported_condition_joins_the_list_only_when_a_professional_adds_it(
    db, cast, target, importing, request_as
):
    nurse = cast.users["professional"]
    importing(_condition_bundle())
    proposal = db.session.scalars(select(ConditionProposal)).one()
    review = request_as(nurse, "GET", f"/patients/{target.id}/review").get_data(as_text=True)
    assert "Long-term conditions from an imported plan" in review
    assert "Chronic obstructive pulmonary disease" in review
    importing(_condition_bundle())  # importing again proposes nothing more
    assert db.session.scalars(select(ConditionProposal)).all() == [proposal]
    response = _decide(request_as, nurse, target.id, proposal.id, "accept")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/patients/{target.id}/review#imported-conditions"
    )
    db.session.refresh(target)
    assert [c.code for c in target.conditions] == ["13645005"]
    assert (proposal.status, proposal.decided_by_id) == ("accepted", nurse.id)
    stale = _decide(request_as, nurse, target.id, proposal.id, "decline")
    assert stale.status_code == 302 and proposal.status == "accepted"
    page = request_as(nurse, "GET", f"/patients/{target.id}/review").get_data(as_text=True)
    assert "Long-term conditions from an imported plan" not in page
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == target.id)
    ).all()
    assert "condition.proposal_accepted" in actions


def test_a_condition_turned_down_is_not_proposed_again(db, cast, target, importing, request_as):
    nurse = cast.users["professional"]
    importing(_condition_bundle())
    proposal = db.session.scalars(select(ConditionProposal)).one()
    assert _decide(request_as, nurse, target.id, proposal.id, "decline").status_code == 302
    db.session.refresh(target)
    assert target.conditions == [] and proposal.status == "declined"
    html = importing(_condition_bundle())
    assert "Turned down here before, so it is not proposed again." in html
    assert len(db.session.scalars(select(ConditionProposal)).all()) == 1


@pytest.mark.parametrize(
    "who", ["owner", "carer_contribute", "professional_other_org", "anonymous", "professional"]
)
def test_only_the_patients_professionals_decide(db, cast, target, importing, request_as, who):
    importing(_condition_bundle())
    proposal = db.session.scalars(select(ConditionProposal)).one()
    response = _decide(request_as, cast.users[who], target.id, proposal.id, "accept")
    expected = 302 if who == "professional" else 302 if who == "anonymous" else 404
    assert response.status_code == expected, who
    db.session.refresh(proposal)
    assert proposal.status == ("accepted" if who == "professional" else "proposed"), who


def test_a_forged_decision_or_proposal_changes_nothing(db, cast, target, importing, request_as):
    nurse = cast.users["professional"]
    importing(_condition_bundle())
    proposal = db.session.scalars(select(ConditionProposal)).one()
    forged = _decide(request_as, nurse, target.id, proposal.id, "<script>")
    assert forged.status_code == 302 and proposal.status == "proposed"
    assert _decide(request_as, nurse, cast.b.id, proposal.id, "accept").status_code == 404
    assert _decide(request_as, nurse, target.id, 999999, "accept").status_code == 404
