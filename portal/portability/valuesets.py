"""FHIR R4 value sets for the coded values this portal writes and reads.

``fhir.resources`` checks structure but not these codes, so exports are checked here and
imports are refused when a code is outside its value set.
"""

CAREPLAN_STATUS = frozenset(
    {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
)
CAREPLAN_INTENT = frozenset({"proposal", "plan", "order", "option"})
ACTIVITY_STATUS = frozenset(
    {
        "not-started",
        "scheduled",
        "in-progress",
        "on-hold",
        "completed",
        "cancelled",
        "stopped",
        "unknown",
        "entered-in-error",
    }
)
GOAL_LIFECYCLE = frozenset(
    {
        "proposed",
        "planned",
        "accepted",
        "active",
        "on-hold",
        "completed",
        "cancelled",
        "entered-in-error",
        "rejected",
    }
)
GOAL_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_ACHIEVEMENT = frozenset(
    {
        "in-progress",
        "improving",
        "worsening",
        "no-change",
        "achieved",
        "sustaining",
        "not-achieved",
        "no-progress",
        "not-attainable",
    }
)
CARETEAM_STATUS = frozenset({"proposed", "active", "suspended", "inactive", "entered-in-error"})
CONSENT_STATUS = frozenset(
    {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}
)
CONSENT_PROVISION = frozenset({"deny", "permit"})
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_SCOPE = frozenset({"adr", "research", "patient-privacy", "treatment"})
CONDITION_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CLINICAL = frozenset(
    {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
)
ADMINISTRATIVE_GENDER = frozenset({"male", "female", "other", "unknown"})
BUNDLE_TYPE = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)

SNOMED = "http://snomed.info/sct"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
CRISIS_LEVELS = frozenset({"green", "amber", "red"})
LOINC = "http://loinc.org"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
NHS_NUMBER_VERIFICATION_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
NHS_NUMBER_VERIFICATION_SYSTEM = (
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
)
CONDITION_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PROVENANCE_PARTICIPANT_SYSTEM = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
LIST_EMPTY_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/list-empty-reason"

# Patient.nhs_number_status -> UK Core NHS number verification status (code, display).
NHS_NUMBER_VERIFICATION = {
    "verified": ("01", "Number present and verified"),
    "not_traced": ("02", "Number present but not traced"),
    "trace_required": ("03", "Trace required"),
    "no_match": ("04", "Trace attempted - No match or multiple match found"),
    "needs_resolving": (
        "05",
        "Trace needs to be resolved - (NHS number or patient detail conflict)",
    ),
    "in_progress": ("06", "Trace in progress"),
    "postponed": ("08", "Trace postponed (baby under six weeks old)"),
}
