"""The care plan document: only the agreed plan, UK Core shaped, stable ids, correct codes."""

from datetime import UTC, datetime

import pytest

from portal.models import Condition, CrisisStep, Goal, GoalStatus
from portal.models.sharing import ConsentRecord
from portal.portability import valuesets as vs
from portal.versions.services import create_version
from tests.fhir_support import closed_conversation, export, resources

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"


def _by_url(bundle):
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


@pytest.fixture
def agreed(db, cast):
    """Patient A's plan agreed at a review (version 1), then changed by the patient."""
    plan = cast.plan_a
    nurse = cast.users["professional"]
    for item in [*plan.crisis_steps, *plan.contacts, *plan.needs, *plan.wishes, plan.usual_state]:
        item.pending_review = False
    plan.usual_state.medicines = "Salbutamol inhaler"
    plan.usual_state.allergies = "Penicillin"
    plan.usual_state.respect_form_location = "Kitchen drawer"
    plan.crisis_steps.append(
        CrisisStep(plan_id=plan.id, level="amber", signs="", actions="", pending_review=False)
    )
    for goal in plan.goals:
        goal.agreed_by_id = nurse.id
        goal.agreed_at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    db.session.add(ConsentRecord(patient_id=cast.a.id, share_with_care_team=True))
    db.session.flush()
    create_version(plan, nurse, agreed_at=datetime(2026, 3, 1, 11, tzinfo=UTC))
    db.session.flush()
    first, second = plan.goals
    first.title, first.pending_review = "Run a marathon", True  # an unagreed edit
    second.status, second.pending_review = GoalStatus.WITHDRAWN, True  # a withdraw request
    step = plan.crisis_steps[0]
    step.removal_proposed, step.pending_review = True, True  # a removal request
    db.session.add(Goal(plan_id=plan.id, title="Learn to swim", proposed_by_id=cast.a.user_id))
    db.session.commit()
    return plan


def test_only_the_agreed_plan_is_the_document(cast, agreed, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    goals = resources(data, "Goal")
    assert sorted(g["description"]["text"] for g in goals) == ["Goal 1", "Goal 2"]
    assert {g["lifecycleStatus"] for g in goals} == {"active"}  # withdrawal not yet agreed
    careplans = resources(data, "CarePlan")
    assert [c["intent"] for c in careplans] == ["plan"]
    levels = [a["detail"]["code"]["coding"][0]["code"] for a in careplans[0]["activity"][:2]]
    assert levels == ["red", "amber"]  # the step asked to be removed is still agreed
    assert {a["detail"]["status"] for a in careplans[0]["activity"]} <= {
        "not-started",
        "in-progress",
        "completed",
        "scheduled",
    }
    assert resources(data, "Composition")[0]["status"] == "final"


def test_proposals_on_request_are_marked_as_proposals(cast, agreed, request_as):
    data = export(request_as, cast.users["professional"], cast.a.id, "?proposals=1")
    assert resources(data, "Composition")[0]["status"] == "preliminary"
    plan, proposal = resources(data, "CarePlan")
    assert (plan["intent"], proposal["intent"], proposal["status"]) == ("plan", "proposal", "draft")
    urls = _by_url(data)
    proposed = [urls[g["reference"]] for g in proposal["goal"]]
    assert {g["lifecycleStatus"] for g in proposed} == {"proposed"}
    assert sorted(g["description"]["text"] for g in proposed) == [
        "Goal 2",
        "Learn to swim",
        "Run a marathon",
    ]
    withdraw = next(g for g in proposed if g["description"]["text"] == "Goal 2")
    assert "withdraw" in withdraw["statusReason"]
    removal = proposal["activity"][0]["detail"]
    assert removal["status"] == "cancelled" and "remove" in removal["statusReason"]["text"]
    agreed_titles = sorted(urls[g["reference"]]["description"]["text"] for g in plan["goal"])
    assert agreed_titles == ["Goal 1", "Goal 2"]


def test_an_empty_crisis_step_never_breaks_theexport(db, cast, agreed, request_as):
    db.session.add(CrisisStep(plan_id=agreed.id, level="green", signs="", actions=""))
    db.session.commit()
    for query in ("", "?proposals=1"):
        data = export(request_as, cast.users["owner"], cast.a.id, query)
        details = [a["detail"] for a in resources(data, "CarePlan")[0]["activity"]]
        empty = next(d for d in details if d.get("code", {}).get("text") == "Urgent")
        assert "reasonCode" not in empty and "description" not in empty


@pytest.mark.parametrize(
    ("portal_code", "codes", "text"),
    [
        ("230690007", [], "Stroke and transient ischaemic attack"),
        ("53741008", ["414545008"], "Coronary heart disease"),
        ("73211009", ["73211009"], "Diabetes"),
    ],
)
def test_conditions_are_coded_only_as_what_is_known(db, cast, request_as, portal_code, codes, text):
    cast.a.conditions.append(db.session.get(Condition, portal_code))
    db.session.commit()
    condition = resources(export(request_as, cast.users["owner"], cast.a.id), "Condition")[0]
    assert [c["code"] for c in condition["code"].get("coding", [])] == codes
    assert condition["code"]["text"] == text
    assert all(c["system"] == vs.SNOMED for c in condition["code"].get("coding", []))


def test_crisis_levels_come_from_the_published_code_system(client, cast, agreed, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    coding = resources(data, "CarePlan")[0]["activity"][0]["detail"]["code"]["coding"][0]
    assert ".invalid" not in coding["system"]
    published = client.get(coding["system"].removeprefix("http://localhost"))
    assert published.status_code == 200
    code_system = published.get_json()
    assert code_system["resourceType"] == "CodeSystem" and code_system["url"] == coding["system"]
    assert {c["code"] for c in code_system["concept"]} == {"green", "amber", "red"}
    assert client.get("/fhir/CodeSystem/nothing").status_code == 404


def test_bundle_timestamp_is_now_in_utc(cast, agreed, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    stamp = datetime.fromisoformat(data["timestamp"])
    assert stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 120


def test_the_same_plan_exports_the_same_ids(cast, agreed, request_as):
    first = export(request_as, cast.users["owner"], cast.a.id)
    second = export(request_as, cast.users["owner"], cast.a.id)
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in second["entry"]]
    assert first["identifier"] == second["identifier"]
    goal = resources(first, "Goal")[0]
    assert goal["identifier"][0]["system"].endswith("/fhir/Id/goal")


def test_document_is_laid_out_as_the_prsb_plan(cast, agreed, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    composition = data["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert [s["title"] for s in composition["section"]] == [
        "About me",
        "What matters to me",
        "Goals and outcomes",
        "Contingency and crisis plan",
        "Usual state of health",
        "Contacts",
        "Care team",
        "Review",
    ]
    urls = _by_url(data)
    for section in composition["section"]:
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml"')
        for entry in section.get("entry", []):
            assert entry["reference"] in urls  # every reference resolves inside the document
    usual = {
        o["code"]["coding"][0]["code"]: o["valueString"] for o in resources(data, "Observation")
    }
    assert usual["usual-medicines"] == "Salbutamol inhaler"
    assert usual["usual-allergies"] == "Penicillin"
    assert usual["usual-respect_form_location"] == "Kitchen drawer"
    assert usual["need-health"] == "My breathing" and usual["wish-place_of_care"] == "At home"


def test_uk_core_rules_that_matter(cast, agreed, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    urls = _by_url(data)
    for entry in data["entry"]:
        resource = entry["resource"]
        assert resource["text"]["status"] == "generated", resource["resourceType"]
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    patient = resources(data, "Patient")[0]
    assert patient["meta"]["profile"] == [UK_CORE + "Patient"]
    nhs = patient["identifier"][0]
    assert nhs["extension"][0]["url"] == vs.NHS_NUMBER_VERIFICATION_EXTENSION
    organisation = urls[patient["generalPractitioner"][0]["reference"]]
    assert organisation["identifier"] == [{"system": vs.ODS_SYSTEM, "value": cast.org.ods_code}]
    team = resources(data, "CareTeam")[0]
    named = urls[team["participant"][0]["member"]["reference"]]
    assert named["resourceType"] == "PractitionerRole"
    assert {t["system"] for t in named["telecom"]} == {"email"}
    for goal in resources(data, "Goal"):
        assert urls[goal["expressedBy"]["reference"]]["resourceType"] == "Patient"
    for person in resources(data, "RelatedPerson"):
        assert person["relationship"][0]["coding"][0]["code"] in {"N", "Carer", "C"}
    consent = resources(data, "Consent")[0]
    assert consent.get("policy") or consent.get("policyRule")  # ppc-1
    provenance = resources(data, "Provenance")
    kinds = {a["type"]["coding"][0]["code"] for p in provenance for a in p["agent"]}
    assert {"author", "attester"} <= kinds
    careplan = resources(data, "CarePlan")[0]
    assert careplan["category"] and careplan["author"] and careplan["identifier"]


def test_closed_conversations_are_in_the_review_section(db, cast, agreed, request_as):
    """The documented dialogue: each message of a closed conversation, linked to its goal."""
    goal = agreed.goals[0]
    conversation = closed_conversation(cast, goal.id)
    still_open = closed_conversation(cast)
    still_open.status, still_open.subject = "open", "Still talking"
    db.session.commit()
    for who in ("owner", "professional"):
        data = export(request_as, cast.users[who], cast.a.id)
        urls = _by_url(data)
        messages = resources(data, "Communication")
        assert [m["payload"][0]["contentString"] for m in messages] == [
            m.body for m in conversation.messages
        ]
        asked, answered = messages
        about = urls[asked["about"][0]["reference"]]
        assert about["identifier"][0]["value"].endswith(f"-{goal.id}")  # the agreed goal
        assert urls[asked["sender"]["reference"]]["resourceType"] == "Patient"
        assert urls[answered["sender"]["reference"]]["resourceType"] == "PractitionerRole"
        assert asked["topic"]["text"] == "Walking further"
        review = data["entry"][0]["resource"]["section"][-1]
        assert {"reference": f"urn:uuid:{answered['id']}", "display": "Walking further"} in (
            review["entry"]
        )
        assert "Still talking" not in str(data)


@pytest.mark.parametrize(
    ("status", "code"), [("verified", "01"), ("not_traced", "02"), ("needs_resolving", "05")]
)
def test_the_nhs_number_carries_its_trace_status(db, cast, agreed, request_as, status, code):
    cast.a.nhs_number_status = status
    db.session.commit()
    patient = resources(export(request_as, cast.users["owner"], cast.a.id), "Patient")[0]
    (coding,) = patient["identifier"][0]["extension"][0]["valueCodeableConcept"]["coding"]
    assert (coding["system"], coding["code"]) == (vs.NHS_NUMBER_VERIFICATION_SYSTEM, code)
