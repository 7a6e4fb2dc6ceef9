"""FHIR export and import, and the patient's own data (right of access)."""

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from portal.models import AuditEvent, CarePlan, Goal
from portal.models.base import utcnow
from portal.models.sharing import ConsentRecord
from portal.portability import fhir_codes
from portal.portability import valuesets as vs
from tests.factories import CAST_KEYS, make_patient
from tests.fhir_support import export, resources

ALL = CAST_KEYS
EXPORTERS = {"owner", "professional"}


def _expected(who, allowed, ok=200):
    if who == "anonymous":
        return 302
    return ok if who in allowed else 404


@pytest.fixture
def rich_plan(db, cast):
    plan = cast.plan_a
    goal = db.session.scalars(select(Goal).where(Goal.plan_id == plan.id)).first()
    goal.steps = "Walk with my son"
    goal.target_date = utcnow().date()
    for item in [*plan.crisis_steps, *plan.contacts, *plan.needs, *plan.wishes, plan.usual_state]:
        item.pending_review = False  # agreed at a review: part of the document
    db.session.add(ConsentRecord(patient_id=cast.a.id, share_with_care_team=True))
    db.session.commit()
    return plan


def test_export_is_a_valid_bundle_with_every_resource(cast, rich_plan, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    Bundle.model_validate(data)  # raises if the structure is wrong
    assert data["type"] == "document"
    kinds = {e["resource"]["resourceType"] for e in data["entry"]}
    assert {"Patient", "CarePlan", "Goal", "CareTeam", "RelatedPerson", "Consent"} <= kinds
    patient = resources(data, "Patient")[0]
    assert patient["identifier"][0]["system"] == vs.NHS_NUMBER_SYSTEM
    assert patient["identifier"][0]["value"] == cast.a.nhs_number
    careplan = resources(data, "CarePlan")[0]
    assert careplan["intent"] == "plan" and careplan["status"] == "active"
    assert len(careplan["goal"]) == 2
    details = [a["detail"] for a in careplan["activity"]]
    assert any(d.get("description") == "Walk with my son" for d in details)
    assert any(d.get("description") == "Ring 999" for d in details)  # crisis step
    goals = resources(data, "Goal")
    assert {g["lifecycleStatus"] for g in goals} == {"active"}
    assert any(g.get("target") for g in goals)
    team = resources(data, "CareTeam")[0]
    assert team["participant"][0]["member"]["display"] == "Nurse Named"
    assert team["participant"][0]["member"]["reference"].startswith("urn:uuid:")
    people = resources(data, "RelatedPerson")
    carers = [p for p in people if p["telecom"][0]["system"] == "email"]
    assert len(carers) == 3  # active grants only: crisis, view, contribute
    assert [p["name"][0]["text"] for p in people if p not in carers] == ["Sam"]  # next of kin
    assert resources(data, "Consent")[0]["provision"]["type"] == "permit"


def test_export_codes_are_all_in_their_value_sets(db, cast, rich_plan, request_as):
    db.session.add(Goal(plan_id=cast.plan_a.id, title="Done", status="achieved"))
    db.session.add(Goal(plan_id=cast.plan_a.id, title="Not done", status="not_achieved"))
    db.session.add(Goal(plan_id=cast.plan_a.id, title="Dropped", status="withdrawn"))
    db.session.add(Goal(plan_id=cast.plan_a.id, title="Idea", status="proposed"))
    db.session.commit()
    data = export(request_as, cast.users["owner"], cast.a.id)
    assert fhir_codes.problems(data) == []


def test_export_conditions_use_snomed_preferred_terms(db, cast, request_as):
    from portal.models import Condition

    cast.a.conditions.append(db.session.get(Condition, "13645005"))
    db.session.commit()
    data = export(request_as, cast.users["owner"], cast.a.id)
    coding = resources(data, "Condition")[0]["code"]["coding"][0]
    assert coding == {
        "system": vs.SNOMED,
        "code": "13645005",
        "display": "Chronic obstructive lung disease",
    }


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(type="pile"),
        lambda b: resources(b, "CarePlan")[0].update(status="finished"),
        lambda b: resources(b, "CarePlan")[0].update(intent="wish"),
        lambda b: resources(b, "Goal")[0].update(lifecycleStatus="done"),
        lambda b: resources(b, "Consent")[0]["provision"].update(type="maybe"),
        lambda b: resources(b, "CarePlan")[0]["activity"][-1]["detail"]["code"]["coding"][0].update(
            code="purple"
        ),
    ],
)
def test_code_checker_catches_codes_outside_value_sets(cast, rich_plan, request_as, mutate):
    data = export(request_as, cast.users["owner"], cast.a.id)
    mutate(data)
    assert fhir_codes.problems(data)


def _import(request_as, user, patient_id, payload: bytes, name="plan.json"):
    """Upload a file: the preview of what it would do (or the form with the refusal)."""
    import io

    return request_as(
        user,
        "POST",
        f"/patients/{patient_id}/fhir-import",
        data={"bundle": (io.BytesIO(payload), name)},
        content_type="multipart/form-data",
    )


def _hidden(html: str, name: str) -> str:
    import re

    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def _import_confirmed(request_as, user, patient_id, payload: bytes):
    """Upload a file, then confirm the preview (as the professional would)."""
    preview = _import(request_as, user, patient_id, payload)
    html = preview.get_data(as_text=True)
    if 'name="payload"' not in html:
        return preview
    return request_as(
        user,
        "POST",
        f"/patients/{patient_id}/fhir-import/confirm",
        data={"payload": _hidden(html, "payload"), "digest": _hidden(html, "digest")},
    )


def _content(bundle):
    """What the plan says, without ids or review state."""
    goals = sorted(
        (
            g["description"]["text"],
            tuple(n["text"] for n in g.get("note", [])),
            tuple(t["dueDate"] for t in g.get("target", [])),
        )
        for g in resources(bundle, "Goal")
    )
    activities = sorted(
        (
            tuple(c["code"] for c in a["detail"].get("code", {}).get("coding", [])),
            a["detail"].get("description", ""),
            tuple(r["text"] for r in a["detail"].get("reasonCode", [])),
        )
        for careplan in resources(bundle, "CarePlan")
        for a in careplan.get("activity", [])
    )
    return goals, activities


def test_round_trip_export_import_export_keeps_the_content(db, cast, rich_plan, request_as):
    first = export(request_as, cast.users["owner"], cast.a.id)
    # The same plan arrives for the same person at a practice using this portal.
    target = make_patient(cast.org, nhs_number="9434765919")
    db.session.add(CarePlan(patient_id=target.id))
    db.session.commit()
    target.family_name, target.date_of_birth = cast.a.family_name, cast.a.date_of_birth
    db.session.commit()
    resources(first, "Patient")[0]["identifier"][0]["value"] = "9434765919"
    response = _import_confirmed(
        request_as, cast.users["professional"], target.id, json.dumps(first).encode()
    )
    assert response.status_code == 302
    # Imported content is proposed here, not agreed: it is in the document only on request.
    assert "Goal" not in {
        e["resource"]["resourceType"]
        for e in export(request_as, cast.users["professional"], target.id)["entry"]
    }
    second = export(request_as, cast.users["professional"], target.id, "?proposals=1")
    assert _content(second) == _content(first)
    imported = db.session.scalars(select(Goal).where(Goal.plan_id == target.plan.id)).all()
    assert imported and all(g.pending_review and g.status == "proposed" for g in imported)


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json at all", "not a FHIR JSON file"),
        (b"[1, 2, 3]", "not a FHIR Bundle"),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": "x"}',
            "does not follow the FHIR R4 format",
        ),
        (b"\xff\xfe\x00", "not a FHIR JSON file"),
        (b"[" * 100000 + b"]" * 100000, "not a FHIR JSON file"),  # nested past any limit
        (b"{" + b" " * (600 * 1024) + b"}", "too large"),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": [' + b"{}," * 600 + b"{}]}",
            "too many entries",
        ),
    ],
)
def test_malformed_or_oversized_imports_are_refused_and_change_nothing(
    db, cast, request_as, payload, message
):
    before = (_count(db, Goal), _count(db, AuditEvent))
    response = _import(request_as, cast.users["professional"], cast.a.id, payload)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert (_count(db, Goal), _count(db, AuditEvent)) == before


def test_import_for_another_patient_is_refused(db, cast, rich_plan, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    before = _count(db, Goal)
    response = _import(request_as, cast.users["professional"], cast.b.id, json.dumps(data).encode())
    assert "for a different patient" in response.get_data(as_text=True)
    assert _count(db, Goal) == before


def test_import_with_bad_codes_is_refused(db, cast, rich_plan, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    resources(data, "Goal")[0]["lifecycleStatus"] = "bogus"
    before = _count(db, Goal)
    response = _import(request_as, cast.users["professional"], cast.a.id, json.dumps(data).encode())
    assert "codes that are not allowed" in response.get_data(as_text=True)
    assert _count(db, Goal) == before


def test_hostile_text_in_an_import_is_kept_as_text(db, cast, rich_plan, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    resources(data, "Goal")[0]["description"]["text"] = '<img src="http://127.0.0.1:9/x">\x00hi'
    response = _import_confirmed(
        request_as, cast.users["professional"], cast.a.id, json.dumps(data).encode()
    )
    assert response.status_code == 302
    body = request_as(cast.users["owner"], "GET", f"/patients/{cast.a.id}/plan").get_data(
        as_text=True
    )
    assert "&lt;img src=&#34;http://127.0.0.1:9/x&#34;&gt;hi" in body
    assert '<img src="http://127.0.0.1:9/x">' not in body


def test_overlong_text_in_an_import_is_refused(db, cast, rich_plan, request_as):
    data = export(request_as, cast.users["owner"], cast.a.id)
    resources(data, "Goal")[0]["description"]["text"] = "x" * 201
    before = _count(db, Goal)
    response = _import(request_as, cast.users["professional"], cast.a.id, json.dumps(data).encode())
    assert "longer than 200 characters" in response.get_data(as_text=True)
    assert _count(db, Goal) == before


def test_import_without_a_file_says_so(cast, request_as):
    response = request_as(cast.users["professional"], "POST", f"/patients/{cast.a.id}/fhir-import")
    assert "Choose a FHIR Bundle file to import" in response.get_data(as_text=True)


def test_export_and_import_are_audited(db, cast, rich_plan, request_as):
    data = export(request_as, cast.users["professional"], cast.a.id)
    _import_confirmed(request_as, cast.users["professional"], cast.a.id, json.dumps(data).encode())
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == cast.a.id)
    ).all()
    assert {"fhir.export", "fhir.import_preview", "fhir.import"} <= set(actions)


def test_subject_access_file_holds_the_whole_record_and_no_secrets(db, cast, request_as):
    request_as(cast.users["carer_view"], "GET", f"/patients/{cast.a.id}/plan")
    response = request_as(cast.users["owner"], "GET", f"/patients/{cast.a.id}/my-data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["patient"]["nhs_number"] == cast.a.nhs_number
    assert [g["title"] for g in data["goals"]] == ["Goal 1", "Goal 2"]
    assert data["crisis_steps"][0]["signs"] == "Lips blue"
    assert len(data["access_grants"]) == 5
    trail = data["audit_trail"]
    assert any(e["action"] == "plan.view" and e["actor"] == "Carer view" for e in trail)
    assert any(e["action"] == "data.download" for e in trail)
    text = json.dumps(data)
    for secret in ("password_hash", "session_token", "token_hash", "mfa_secret", "$argon2"):
        assert secret not in text


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/patients/{a}/plan.fhir.json", EXPORTERS),
        ("GET", "/patients/{a}/fhir-import", {"professional"}),
        ("POST", "/patients/{a}/fhir-import", {"professional"}),
        ("GET", "/patients/{a}/my-data.json", {"owner"}),
        ("GET", "/patients/{a}/my-data", {"owner"}),
        ("GET", "/patients/{a}/my-data.pdf", {"owner"}),
    ],
)
def test_access_matrix(cast, request_as, who, method, path, allowed):
    response = request_as(cast.users[who], method, path.format(a=cast.a.id))
    assert response.status_code == _expected(who, allowed)


@pytest.mark.parametrize(
    "path",
    [
        "/patients/{p}/plan.fhir.json",
        "/patients/{p}/fhir-import",
        "/patients/{p}/my-data.json",
        "/patients/{p}/my-data",
    ],
)
def test_professional_without_consent_is_refused(cast, request_as, path):
    response = request_as(cast.users["professional"], "GET", path.format(p=cast.no_consent.id))
    assert response.status_code == 404
