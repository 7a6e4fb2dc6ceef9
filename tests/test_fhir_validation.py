"""The document checked by validators the export does not use: SMART's ``fhirclient`` R4
models, and FHIRPath (``fhirpathpy``) for the R4 invariants and UK Core rules that matter."""

import json

import fhirpathpy
import pytest
from fhirclient.models.bundle import Bundle as ClientBundle
from fhirpathpy.models import models

from tests.fhir_support import full_plan

NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
VERIFICATION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
R4 = models["r4"]  # choice types (value[x]) need the R4 model


def _path(resource, expression):
    return fhirpathpy.evaluate(resource, expression, model=R4)


# (resource type or Bundle, rule name, FHIRPath that must be true)
RULES = [
    ("Bundle", "document type", "type = 'document'"),
    ("Bundle", "bdl-9 identifier", "identifier.system.exists() and identifier.value.exists()"),
    ("Bundle", "bdl-10 timestamp", "timestamp.exists()"),
    ("Bundle", "bdl-11 Composition first", "entry.first().resource.resourceType = 'Composition'"),
    ("Bundle", "bdl-7 unique fullUrl", "entry.fullUrl.isDistinct()"),
    ("Bundle", "every entry has a fullUrl", "entry.all(fullUrl.exists())"),
    ("*", "narrative", "text.status.exists() and text.`div`.exists()"),
    ("*", "logical id", "id.exists()"),
    ("Composition", "cmp-1", "section.all(text.exists() or entry.exists() or section.exists())"),
    ("Composition", "cmp-2", "section.all(emptyReason.empty() or entry.empty())"),
    ("Composition", "author and attester", "author.exists() and attester.party.exists()"),
    ("Composition", "identifier", "identifier.value.exists()"),
    ("Patient", "UK Core profile", f"meta.profile contains '{UK_CORE}Patient'"),
    ("Patient", "NHS number", f"identifier.where(system = '{NHS}').value.matches('^[0-9]{{10}}$')"),
    (
        "Patient",
        "NHS number verification status",
        f"identifier.where(system = '{NHS}').extension.where(url = '{VERIFICATION}')"
        ".value.coding.code.exists()",
    ),
    ("Patient", "registered practice", "generalPractitioner.reference.exists()"),
    ("Organization", "UK Core profile", f"meta.profile contains '{UK_CORE}Organization'"),
    ("Organization", "name", "name.exists()"),
    ("CarePlan", "UK Core profile", f"meta.profile contains '{UK_CORE}CarePlan'"),
    (
        "CarePlan",
        "category, author, identifier",
        "category.exists() and author.exists() and identifier.exists()",
    ),
    ("CarePlan", "addresses the conditions", "intent = 'proposal' or addresses.exists()"),
    ("CarePlan", "cpl-3", "activity.all(detail.empty() or reference.empty())"),
    ("CareTeam", "members are references", "participant.all(member.reference.exists())"),
    ("CareTeam", "subject", "subject.reference.exists()"),
    ("PractitionerRole", "telecom", "telecom.exists()"),
    ("Goal", "expressed by", "expressedBy.reference.exists()"),
    ("Goal", "identifier", "identifier.exists()"),
    ("RelatedPerson", "coded relationship", "relationship.coding.code.exists()"),
    ("RelatedPerson", "phone or email", "telecom.exists()"),
    ("Condition", "UK Core profile", f"meta.profile contains '{UK_CORE}Condition'"),
    (
        "Condition",
        "con-3",
        "clinicalStatus.exists() or "
        "verificationStatus.coding.where(code = 'entered-in-error').exists()",
    ),
    ("Condition", "coded or in words", "code.text.exists()"),
    ("Consent", "ppc-1", "policy.exists() or policyRule.exists()"),
    (
        "Consent",
        "ppc-2",
        "patient.exists() or scope.coding.where(code = 'patient-privacy').exists().not()",
    ),
    ("Provenance", "who and when", "recorded.exists() and agent.all(who.reference.exists())"),
    ("Observation", "value", "value.exists()"),
    (
        "Communication",
        "who, when and what",
        "status = 'completed' and subject.reference.exists() and sender.reference.exists() "
        "and recipient.reference.exists() and sent.exists() and payload.content.exists()",
    ),
]


@pytest.fixture
def document(cast, request_as):
    full_plan(cast)
    response = request_as(
        cast.users["professional"], "GET", f"/patients/{cast.a.id}/plan.fhir.json"
    )
    return json.loads(response.get_data(as_text=True))


def test_fhirclient_reads_the_document_strictly(document):
    bundle = ClientBundle(document, strict=True)  # raises FHIRValidationError on any problem
    assert bundle.type == "document"
    assert len(bundle.entry) == len(document["entry"])


def test_fhirpath_rules(document):
    """Every rule on every resource it applies to; the failures are listed by rule."""
    failures = []
    for kind, name, expression in RULES:
        targets = (
            [document]
            if kind == "Bundle"
            else [
                e["resource"]
                for e in document["entry"]
                if kind == "*" or e["resource"]["resourceType"] == kind
            ]
        )
        if not targets:
            failures.append(f"{kind}: none in the document")
        failures += [
            f"{kind} {r.get('id')}: {name}" for r in targets if _path(r, expression) != [True]
        ]
    assert failures == []


def test_a_broken_rule_is_caught(document):
    """The checks can fail: a Consent without a policy breaks ppc-1."""
    consent = next(
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Consent"
    )
    del consent["policyRule"]
    assert _path(consent, "policy.exists() or policyRule.exists()") == [False]


def test_every_reference_resolves_inside_the_document(document):
    urls = {e["fullUrl"] for e in document["entry"]}
    references = _path(document, "entry.resource.descendants().reference")
    assert references and set(references) <= urls


def test_proposals_document_is_valid_too(cast, request_as):
    full_plan(cast)
    cast.plan_a.goals[0].pending_review = True
    from portal.extensions import db

    db.session.commit()
    response = request_as(
        cast.users["professional"], "GET", f"/patients/{cast.a.id}/plan.fhir.json?proposals=1"
    )
    document = json.loads(response.get_data(as_text=True))
    ClientBundle(document, strict=True)
    proposals = _path(
        document, "entry.resource.where(resourceType = 'CarePlan' and intent = 'proposal')"
    )
    assert len(proposals) == 1
    goals = _path(
        document, "entry.resource.where(resourceType = 'Goal' and lifecycleStatus = 'proposed')"
    )
    assert len(goals) == 1


def test_a_plan_never_agreed_is_a_valid_preliminary_document(cast, request_as):
    """Patient B: no review recorded (no agreed version), no named contact, no consent record."""
    response = request_as(
        cast.users["other_patient"], "GET", f"/patients/{cast.b.id}/plan.fhir.json"
    )
    document = json.loads(response.get_data(as_text=True))
    ClientBundle(document, strict=True)
    composition = document["entry"][0]["resource"]
    assert composition["status"] == "preliminary"
    assert _path(composition, "section.all(text.exists() or entry.exists())") == [True]
