"""Codes the care plan document uses, and the portal's own code systems, published as FHIR.

Conditions are coded with SNOMED CT preferred terms as displays. Where one row of the portal's
list of long-term conditions means two disorders ("Stroke and transient ischaemic attack"), the
document carries the words and no single concept, so a TIA-only patient is never sent as having
had a stroke. Crisis levels and plan entries the portal writes (needs, wishes, usual state) are
coded in code systems at the portal's own canonical address, served at ``/fhir/CodeSystem``.
"""

from typing import NamedTuple

from flask import current_app, has_request_context, request

from portal.models import ContactKind, CrisisLevel, Domain, WishKind
from portal.sections import BY_KEY

SNOMED = "http://snomed.info/sct"


class Concept(NamedTuple):
    code: str
    display: str


# Portal condition code -> SNOMED CT concepts (preferred terms). Empty: words only.
CONDITION_CONCEPTS: dict[str, tuple[Concept, ...]] = {
    "195967001": (Concept("195967001", "Asthma"),),
    "363346000": (Concept("363346000", "Malignant neoplastic disease"),),
    "709044004": (Concept("709044004", "Chronic kidney disease"),),
    "13645005": (Concept("13645005", "Chronic obstructive lung disease"),),
    # Coronary heart disease in the contract's sense is ischaemic heart disease.
    "53741008": (Concept("414545008", "Ischaemic heart disease"),),
    "52448006": (Concept("52448006", "Dementia"),),
    "35489007": (Concept("35489007", "Depressive disorder"),),
    "73211009": (Concept("73211009", "Diabetes mellitus"),),
    "84757009": (Concept("84757009", "Epilepsy"),),
    "84114007": (Concept("84114007", "Heart failure"),),
    "38341003": (Concept("38341003", "Hypertensive disorder, systemic arterial"),),
    "24700007": (Concept("24700007", "Multiple sclerosis"),),
    "928000": (Concept("928000", "Disorder of musculoskeletal system"),),
    "49049000": (Concept("49049000", "Parkinson's disease"),),
    "58214004": (Concept("58214004", "Schizophrenia"),),
    # One row for two disorders: which one the patient has is not recorded.
    "230690007": (),
}
STROKE = Concept("230690007", "Cerebrovascular accident")
TIA = Concept("266257000", "Transient ischaemic attack")

# SNOMED concepts a sending system may use -> the portal's condition row.
SNOMED_TO_CONDITION = {
    concept.code: portal_code
    for portal_code, concepts in CONDITION_CONCEPTS.items()
    for concept in concepts
}
SNOMED_TO_CONDITION.update({STROKE.code: "230690007", TIA.code: "230690007"})
SNOMED_TO_CONDITION["53741008"] = "53741008"  # coronary arteriosclerosis, as older exports sent


def condition_concepts(code: str) -> tuple[Concept, ...]:
    return CONDITION_CONCEPTS.get(code, ())


# --- the portal's own code systems ----------------------------------------------------------

CRISIS_LEVEL_PATH = "CodeSystem/crisis-level"
PLAN_ENTRY_PATH = "CodeSystem/care-plan-entry"
LEGACY_CRISIS_LEVEL_SYSTEM = "https://careplan-portal.nhs.invalid/fhir/CodeSystem/crisis-level"

CRISIS_LEVELS = {
    CrisisLevel.GREEN: ("Non-urgent", "Signs that need attention soon, not urgently."),
    CrisisLevel.AMBER: ("Urgent", "Signs that need help the same day."),
    CrisisLevel.RED: ("Emergency", "Signs of an emergency: call 999."),
}

NEEDS = {
    Domain.HEALTH: "My health",
    Domain.PERSONAL: "About me",
    Domain.FAMILY: "My family",
    Domain.SOCIAL: "Friends, community and social life",
    Domain.HOME: "My home",
    Domain.ECONOMIC: "Money, work and benefits",
    Domain.EDUCATIONAL: "Learning and education",
    Domain.MENTAL_HEALTH: "My mental health and wellbeing",
    Domain.CULTURAL: "My ethnic and cultural background",
}
WISHES = {
    WishKind.PLACE_OF_CARE: "Where I would like to be cared for",
    WishKind.HOW_CARED_FOR: "How I like to be cared for",
    WishKind.RELIGIOUS_CULTURAL: "My religious and cultural needs",
    WishKind.THINGS_TO_AVOID: "Things I would like to avoid",
    WishKind.END_OF_LIFE: "My wishes for the end of my life",
}
# The code system's words for the usual state's fields where they are not the field's name.
_USUAL_STATE_DISPLAYS = {
    "mobility": "Usual mobility",
    "breathing": "Usual breathing",
    "memory_understanding": "Usual memory and understanding",
    "respect_form_location": "Where the ReSPECT form is kept",
    "dnacpr_location": "Where the DNACPR decision is kept",
    "lpa_location": "Where the lasting power of attorney is kept",
    "rescue_medication_location": "Where the rescue medication is kept",
}
# Every field ``portal.sections`` describes has a code, so a new field is exported at once.
USUAL_STATE = {
    field: _USUAL_STATE_DISPLAYS.get(field, field.replace("_", " ").capitalize())
    for field in BY_KEY["usual_state"].fields
}
CONTACT_KINDS = {
    ContactKind.NEXT_OF_KIN: "Next of kin",
    ContactKind.CARER: "Carer",
    ContactKind.PRACTICE: "GP practice",
    ContactKind.OUT_OF_HOURS: "Out of hours",
    ContactKind.SPECIALIST: "Specialist nurse or team",
    ContactKind.OTHER: "Other",
}


def entry_code(section: str, key: str) -> str:
    """The code of one plan entry in the care-plan-entry code system (``need-health``)."""
    return f"{section}-{key}"


PLAN_ENTRIES: dict[str, str] = {
    **{entry_code("need", k): v for k, v in NEEDS.items()},
    **{entry_code("wish", k): v for k, v in WISHES.items()},
    **{entry_code("usual", k): v for k, v in USUAL_STATE.items()},
}


def canonical_base() -> str:
    """The portal's canonical FHIR address: ``PORTAL_BASE_URL`` + ``/fhir`` (or this host's)."""
    base = current_app.config.get("BASE_URL")
    if not base and has_request_context():
        base = request.url_root
    return (base or "http://localhost").rstrip("/") + "/fhir"


def crisis_level_system() -> str:
    return f"{canonical_base()}/{CRISIS_LEVEL_PATH}"


def plan_entry_system() -> str:
    return f"{canonical_base()}/{PLAN_ENTRY_PATH}"


def identifier_system(kind: str) -> str:
    """Where the portal's business identifiers of one kind live (``.../Id/goal``)."""
    return f"{canonical_base()}/Id/{kind}"


# The portal's extension for when to ring a contact (RelatedPerson and Organization have no
# element for it); read from any installation of the portal.
WHEN_TO_CALL_PATH = "StructureDefinition/when-to-call"


def when_to_call_extension() -> str:
    return f"{canonical_base()}/{WHEN_TO_CALL_PATH}"


def is_when_to_call_extension(url: str | None) -> bool:
    return isinstance(url, str) and url.endswith("/fhir/" + WHEN_TO_CALL_PATH)


# The portal's extension saying a professional wrote an agreed entry with the patient in
# clinic (who, and when): on a Goal, an Observation, a contact and a crisis step (a CarePlan
# activity, which no Provenance can point at on its own). See docs/interoperability.md.
WRITTEN_WITH_PATIENT_PATH = "StructureDefinition/written-with-patient"


def written_with_patient_extension() -> str:
    return f"{canonical_base()}/{WRITTEN_WITH_PATIENT_PATH}"


def is_crisis_level_system(system: str | None) -> bool:
    """This portal's system, another installation's, or the one older exports used."""
    return bool(system) and (
        system == LEGACY_CRISIS_LEVEL_SYSTEM or system.endswith("/fhir/" + CRISIS_LEVEL_PATH)
    )


def is_plan_entry_system(system: str | None) -> bool:
    return bool(system) and system.endswith("/fhir/" + PLAN_ENTRY_PATH)


def _code_system(path: str, name: str, title: str, description: str, concepts: list) -> dict:
    rows = "".join(f"<tr><td>{c['code']}</td><td>{c['display']}</td></tr>" for c in concepts)
    return {
        "resourceType": "CodeSystem",
        "id": path.rsplit("/", 1)[1],
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
            f"{title}</p><table><tbody>{rows}</tbody></table></div>",
        },
        "url": f"{canonical_base()}/{path}",
        "version": "1.0.0",
        "name": name,
        "title": title,
        "status": "active",
        "experimental": False,
        "publisher": "Personalised care plan portal",
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


def crisis_level_code_system() -> dict:
    return _code_system(
        CRISIS_LEVEL_PATH,
        "CrisisLevel",
        "Crisis plan levels",
        "How urgent a step of a personalised care plan's crisis plan is.",
        [
            {"code": str(level), "display": display, "definition": definition}
            for level, (display, definition) in CRISIS_LEVELS.items()
        ],
    )


def plan_entry_code_system() -> dict:
    return _code_system(
        PLAN_ENTRY_PATH,
        "CarePlanEntry",
        "Personalised care plan entries",
        "The parts of a personalised care plan written in the person's own words: needs in "
        "each whole-person domain, wishes and preferences, and the usual state of health.",
        [{"code": code, "display": display} for code, display in PLAN_ENTRIES.items()],
    )


CODE_SYSTEMS = {
    "crisis-level": crisis_level_code_system,
    "care-plan-entry": plan_entry_code_system,
}

# UK Core value set codes for the people around the patient.
V2_CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
UKCORE_RELATIONSHIP = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"
CONTACT_RELATIONSHIP = {
    ContactKind.NEXT_OF_KIN: (V2_CONTACT_ROLE, "N", "Next-of-Kin"),
    ContactKind.CARER: (UKCORE_RELATIONSHIP, "Carer", "Carer of patient"),
    ContactKind.OTHER: (V2_CONTACT_ROLE, "C", "Emergency Contact"),
}
CARER_RELATIONSHIP = (UKCORE_RELATIONSHIP, "Carer", "Carer of patient")
