"""The read-only FHIR API: the same relations as the web pages, OperationOutcome for errors."""

import pytest
from fhirclient.models import fhirelementfactory as fhirclient_models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.models import AuditEvent
from portal.portability import valuesets as vs
from tests.factories import CAST_KEYS
from tests.fhir_support import full_plan

READERS = {"owner", "carer_view", "carer_contribute", "professional"}
TYPES = {
    "Patient",
    "CarePlan",
    "Goal",
    "Condition",
    "CareTeam",
    "Consent",
    "Provenance",
    "Communication",
}
# A carer who may see the plan but not take part in its conversations reads no messages.
CONVERSATION_READERS = {"owner", "carer_contribute", "professional"}


def _get(request_as, user, url):
    """Status and body; every body is read strictly by fhirclient's R4 models."""
    response = request_as(user, "GET", url)
    assert response.mimetype == "application/fhir+json", url
    body = response.get_json()
    fhirclient_models.FHIRElementFactory.instantiate(body["resourceType"], body)
    return response.status_code, body


@pytest.fixture
def plan(cast):
    return full_plan(cast)


def _nhs_search(cast):
    return f"/fhir/Patient?identifier={vs.NHS_NUMBER_SYSTEM}|{cast.a.nhs_number}"


def test_capability_statement_matches_the_routes(app, client):
    response = client.get("/fhir/metadata")
    statement = response.get_json()
    fhirclient_models.FHIRElementFactory.instantiate("CapabilityStatement", statement)
    assert (
        statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    )
    declared = {r["type"] for r in statement["rest"][0]["resource"]}
    assert declared == {*TYPES, "CodeSystem"}
    adapter = app.url_map.bind("localhost")
    for kind in declared - {"CodeSystem"}:
        assert adapter.match(f"/fhir/{kind}")[0] == "portability.fhir_search"
        assert adapter.match(f"/fhir/{kind}/1.{'0' * 36}")[0] == "portability.fhir_read"
        history = adapter.match(f"/fhir/{kind}/1.{'0' * 36}/_history/2")[0]
        assert history == "portability.fhir_vread"
    for resource in statement["rest"][0]["resource"][:-1]:
        assert {"read", "vread", "search-type"} == {i["code"] for i in resource["interaction"]}
        assert "_lastUpdated" in {p["name"] for p in resource["searchParam"]}
    assert adapter.match("/fhir/CodeSystem/crisis-level")[0] == "portability.code_system"
    (patient,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Patient"]
    assert [o["name"] for o in patient["operation"]] == ["everything"]
    assert (
        adapter.match(f"/fhir/Patient/1.{'0' * 36}/$everything")[0] == "portability.fhir_everything"
    )


@pytest.mark.parametrize("who", CAST_KEYS)
def test_patient_search_by_nhs_number_follows_the_relations(cast, plan, request_as, who):
    response = request_as(cast.users[who], "GET", _nhs_search(cast))
    if who == "anonymous":
        assert response.status_code == 401
        assert response.get_json()["resourceType"] == "OperationOutcome"
        return
    bundle = response.get_json()
    assert bundle["type"] == "searchset"
    assert bundle["total"] == (1 if who in READERS else 0)  # not allowed looks like not found


@pytest.mark.parametrize("who", CAST_KEYS)
def test_reads_follow_the_relations(cast, plan, request_as, who):
    _status, bundle = _get(request_as, cast.users["owner"], _nhs_search(cast))
    patient_id = bundle["entry"][0]["resource"]["id"]
    _status, goals = _get(
        request_as, cast.users["owner"], f"/fhir/Goal?patient=Patient/{patient_id}"
    )
    goal_id = goals["entry"][0]["resource"]["id"]
    for url in (f"/fhir/Patient/{patient_id}", f"/fhir/Goal/{goal_id}"):
        status, body = _get(request_as, cast.users[who], url)
        expected = 200 if who in READERS else 401 if who == "anonymous" else 404
        assert status == expected, (who, url)
        assert body["resourceType"] == (url.split("/")[2] if status == 200 else "OperationOutcome")


def test_every_readable_type_is_served_with_relative_references(cast, plan, request_as):
    owner = cast.users["owner"]
    for kind in sorted(TYPES - {"Patient"}):
        status, bundle = _get(request_as, owner, f"/fhir/{kind}?patient={cast.a.id}")
        assert status == 200 and bundle["total"] >= 1, kind
        resource = bundle["entry"][0]["resource"]
        status, read = _get(request_as, owner, f"/fhir/{kind}/{resource['id']}")
        assert status == 200 and read == resource
    careplan = _get(request_as, owner, f"/fhir/CarePlan?patient={cast.a.id}")[1]["entry"][0][
        "resource"
    ]
    assert careplan["subject"]["reference"].startswith(f"Patient/{cast.a.id}.")
    assert "urn:uuid" not in str(careplan)


def test_a_revoked_carer_is_refused_on_the_next_request(db, cast, plan, request_as):
    from portal.models import AccessGrant
    from portal.models.base import utcnow

    carer = cast.users["carer_view"]
    url = f"/fhir/CarePlan?patient={cast.a.id}"
    assert _get(request_as, carer, url)[1]["total"] == 1
    grant = db.session.scalars(select(AccessGrant).where(AccessGrant.grantee_id == carer.id)).one()
    grant.revoked_at = utcnow()
    db.session.commit()
    assert _get(request_as, carer, url)[1]["total"] == 0


def test_errors_are_operation_outcomes(cast, plan, request_as):
    owner = cast.users["owner"]
    cases = [
        ("/fhir/Goal/not-an-id", 404),
        (f"/fhir/Goal/{cast.a.id}.{'0' * 8}-0000-0000-0000-{'0' * 12}", 404),
        ("/fhir/Observation?patient=1", 404),
        ("/fhir/Goal", 400),
        ("/fhir/Goal?patient=../../etc", 400),
        (f"/fhir/Goal?patient={cast.a.id}&_include=*", 400),
        ("/fhir/Patient?identifier=urn:other|123", 400),
    ]
    for url, expected in cases:
        status, body = _get(request_as, owner, url)
        assert (status, body["resourceType"]) == (expected, "OperationOutcome"), url
        assert body["issue"][0]["severity"] == "error"


def test_api_reads_are_audited(db, cast, plan, request_as):
    _get(request_as, cast.users["professional"], f"/fhir/Goal?patient={cast.a.id}")
    _get(request_as, cast.users["professional"], _nhs_search(cast))
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == cast.a.id)
    ).all()
    assert actions.count("fhir.api_search") == 2


def test_api_reads_show_in_who_has_looked_at_my_plan(cast, plan, request_as):
    _get(request_as, cast.users["carer_view"], f"/fhir/CarePlan?patient={cast.a.id}")
    page = request_as(cast.users["owner"], "GET", f"/patients/{cast.a.id}/activity")
    text = page.get_data(as_text=True)
    assert "Looked at the care plan through another system" in text and "Carer view" in text


@pytest.mark.parametrize("who", CAST_KEYS)
def test_everything_for_a_patient_follows_the_relations(cast, plan, request_as, who):
    bundle = _get(request_as, cast.users["owner"], _nhs_search(cast))[1]
    patient_id = bundle["entry"][0]["resource"]["id"]
    status, body = _get(request_as, cast.users[who], f"/fhir/Patient/{patient_id}/$everything")
    assert status == (200 if who in READERS else 401 if who == "anonymous" else 404)
    if status == 200:
        expected = TYPES if who in CONVERSATION_READERS else TYPES - {"Communication"}
        assert {e["resource"]["resourceType"] for e in body["entry"]} == expected


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["Patient", "Goal", "CarePlan", "Observation", "", "..", "%00"]),
    tail=st.text(max_size=60),
    query=st.dictionaries(
        st.sampled_from(["identifier", "patient", "_include", "x"]),
        st.text(max_size=40),
        max_size=2,
    ),
)
def test_no_request_to_the_api_gives_a_500(cast, request_as, kind, tail, query):
    from urllib.parse import quote, urlencode

    for url in (f"/fhir/{kind}/{quote(tail, safe='')}", f"/fhir/{kind}?{urlencode(query)}"):
        response = request_as(cast.users["professional"], "GET", url)
        assert response.status_code < 500, url


def test_versioned_reads_give_the_plan_as_agreed_then(db, cast, plan, request_as):
    from datetime import UTC, datetime

    from portal.versions.services import create_version

    goal = plan.goals[0]
    old_title, goal.title = goal.title, "Swim once a week"
    db.session.flush()
    create_version(plan, cast.users["professional"], agreed_at=datetime(2026, 9, 1, tzinfo=UTC))
    db.session.commit()
    owner = cast.users["owner"]
    current = _get(request_as, owner, f"/fhir/CarePlan?patient={cast.a.id}")[1]["entry"][0]
    careplan_id = current["resource"]["id"]
    assert current["resource"]["meta"]["versionId"] == "2"
    status, first = _get(request_as, owner, f"/fhir/CarePlan/{careplan_id}/_history/1")
    assert status == 200 and first["meta"]["versionId"] == "1"
    assert old_title in [g["display"] for g in first["goal"]]
    assert "Swim once a week" in [g["display"] for g in current["resource"]["goal"]]
    assert _get(request_as, owner, f"/fhir/CarePlan/{careplan_id}/_history/9")[0] == 404
    status, body = _get(
        request_as, cast.users["other_patient"], f"/fhir/CarePlan/{careplan_id}/_history/1"
    )
    assert (status, body["resourceType"]) == (404, "OperationOutcome")


def test_include_and_revinclude(cast, plan, request_as):
    owner = cast.users["owner"]
    url = f"/fhir/CarePlan?patient={cast.a.id}&_include=CarePlan:goal&_revinclude=Provenance:target"
    status, bundle = _get(request_as, owner, url)
    modes = {}
    for entry in bundle["entry"]:
        modes.setdefault(entry["search"]["mode"], []).append(entry["resource"]["resourceType"])
    assert status == 200 and bundle["total"] == 1 and modes["match"] == ["CarePlan"]
    assert sorted(set(modes["include"])) == ["Goal", "Provenance"]
    goals = _get(request_as, owner, f"/fhir/Goal?patient={cast.a.id}&_include=Goal:expressed-by")[1]
    included = [
        e["resource"]["resourceType"] for e in goals["entry"] if e["search"]["mode"] == "include"
    ]
    assert included == ["Patient"]  # both goals were proposed by the patient: included once
    for bad in ("_include=Goal:goal", "_include=CarePlan:nothing", "_revinclude=Goal:subject"):
        status, body = _get(request_as, owner, f"/fhir/CarePlan?patient={cast.a.id}&{bad}")
        assert (status, body["resourceType"]) == (400, "OperationOutcome"), bad


@pytest.mark.parametrize("who", sorted(READERS))
def test_conversations_are_communications_for_those_who_may_read_them(cast, plan, request_as, who):
    status, bundle = _get(request_as, cast.users[who], f"/fhir/Communication?patient={cast.a.id}")
    messages = [e["resource"] for e in bundle["entry"]]
    if who not in CONVERSATION_READERS:
        assert (status, messages) == (200, [])
        return
    asked, answered = sorted(messages, key=lambda m: m["sent"])
    assert asked["payload"][0]["contentString"] == "A allaf gerdded ymhellach? <b>diolch</b>"
    assert asked["language"] == "cy" and 'lang="cy"' in asked["text"]["div"]
    assert "<b>" not in asked["text"]["div"]  # the patient's words are text, never markup
    assert asked["sender"]["reference"].startswith("Patient/")
    assert asked["recipient"][0]["reference"].startswith("CareTeam/")
    assert asked["about"][0]["reference"].startswith("Goal/")
    assert answered["sender"]["reference"].startswith("PractitionerRole/")
    assert answered["inResponseTo"] == [{"reference": f"Communication/{asked['id']}"}]
    assert answered["note"][0]["text"] == "Closed with this outcome: Physiotherapy referral made"
    status, read = _get(request_as, cast.users[who], f"/fhir/Communication/{asked['id']}")
    assert (status, read) == (200, asked)
    version = f"/fhir/Communication/{asked['id']}/_history/1"
    assert _get(request_as, cast.users[who], version) == (200, asked)


def test_a_carer_with_view_access_cannot_read_a_message_by_its_id(cast, plan, request_as):
    owner, carer = cast.users["owner"], cast.users["carer_view"]
    bundle = _get(request_as, owner, f"/fhir/Communication?patient={cast.a.id}")[1]
    message_id = bundle["entry"][0]["resource"]["id"]
    assert _get(request_as, carer, f"/fhir/Communication/{message_id}")[0] == 404


def test_open_conversations_are_not_exported(db, cast, plan, request_as):
    from portal.models import Conversation

    conversation = db.session.scalars(select(Conversation)).one()
    conversation.status = "open"
    db.session.commit()
    bundle = _get(request_as, cast.users["owner"], f"/fhir/Communication?patient={cast.a.id}")[1]
    assert bundle["total"] == 0


def test_last_updated_selects_what_changed_since(db, cast, plan, request_as):
    from datetime import UTC, datetime

    owner = cast.users["owner"]
    url = f"/fhir/Communication?patient={cast.a.id}&_lastUpdated="

    def sent(query):
        status, bundle = _get(request_as, owner, url + query)
        assert status == 200, query
        return sorted(e["resource"]["sent"][11:16] for e in bundle["entry"])

    # The patient wrote at 09:00 on 1 April; the nurse answered at 15:00 and closed it the
    # next morning, so the answer was last updated on 2 April.
    assert sent("2026-04") == ["09:00", "15:00"]
    assert sent("2026-04-01") == ["09:00"]
    assert sent("gt2026-04-01") == ["15:00"]
    assert sent("ge2026-04-01T09:00:00Z") == ["09:00", "15:00"]
    assert sent("lt2026-04-01T09:00:01%2B00:00") == ["09:00"]
    assert sent("le2026-03") == []
    # Repeated: both must hold.
    assert sent("ge2026-04-01&_lastUpdated=lt2026-04-02") == ["09:00"]
    # The plan's resources are as recent as the latest change anywhere in it.
    careplans = f"/fhir/CarePlan?patient={cast.a.id}&_lastUpdated=gt"
    before = _get(request_as, owner, careplans + "2026-04-03")[1]
    assert before["total"] == 1  # the conversation was closed on 2 April... and more since
    later = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan.goals[0].title = "Walk to the park and back"
    db.session.commit()
    changed = _get(request_as, owner, careplans.replace("gt", "ge") + later)[1]
    assert changed["total"] == 1
    assert _get(request_as, owner, careplans + "2999")[1]["total"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/Goal?patient=9999999999",
        "/fhir/Goal?patient=Patient/999999999999",
        "/fhir/Goal/999999999999.00000000-0000-0000-0000-000000000000",
        "/fhir/Patient/2147483648.00000000-0000-0000-0000-000000000000/$everything",
    ],
)
def test_a_patient_id_past_any_in_the_database_is_not_found(cast, plan, request_as, url):
    """Ids of more than 31 bits overflowed PostgreSQL's INTEGER (a 500 on the search)."""
    status, body = _get(request_as, cast.users["professional"], url)
    assert status in (200, 404)
    assert body["resourceType"] == "OperationOutcome" or body["total"] == 0


@pytest.mark.parametrize(
    "value",
    [
        "yesterday", "2026-13", "xx2026", "2026-02-30", "gt", "99999",
        # the end of the last day, month or instant of the calendar is past it
        "9999-12", "9999-12-31", "9999-12-31T23:59:59.999999Z",
    ],
)
def test_a_bad_last_updated_is_an_operation_outcome(cast, plan, request_as, value):
    status, body = _get(
        request_as, cast.users["owner"], f"/fhir/Goal?patient={cast.a.id}&_lastUpdated={value}"
    )
    assert (status, body["resourceType"]) == (400, "OperationOutcome")


@pytest.mark.parametrize("kind", sorted(TYPES - {"Communication"}))
def test_every_type_is_read_as_it_was_in_an_agreed_version(db, cast, plan, request_as, kind):
    from datetime import UTC, datetime

    from portal.versions.services import create_version

    owner = cast.users["owner"]
    search = _nhs_search(cast) if kind == "Patient" else f"/fhir/{kind}?patient={cast.a.id}"
    resource = _get(request_as, owner, search)[1]["entry"][0]["resource"]
    assert resource["meta"]["versionId"] == "1"
    url = f"/fhir/{kind}/{resource['id']}/_history/"
    assert _get(request_as, owner, url + "1") == (200, resource)  # the current version
    create_version(plan, cast.users["professional"], agreed_at=datetime(2026, 9, 1, tzinfo=UTC))
    db.session.commit()
    status, first = _get(request_as, owner, url + "1")
    assert status == 200 and first["meta"]["versionId"] == "1"
    assert first["meta"]["lastUpdated"] == "2026-03-01T11:00:00+00:00"  # when it was agreed
    assert {**first, "meta": None} == {**resource, "meta": None}
    assert _get(request_as, owner, f"/fhir/{kind}/{resource['id']}")[1]["meta"]["versionId"] == "2"
    assert _get(request_as, owner, url + "3")[0] == 404
    assert _get(request_as, cast.users["other_patient"], url + "1")[0] == 404
