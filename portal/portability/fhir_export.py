"""The plan as a FHIR R4 Bundle (built as plain data, validated with ``fhir.resources`` R4B)."""

import uuid
from datetime import date

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from portal.extensions import db
from portal.models import AccessGrant, CarePlan, ConsentRecord, Patient
from portal.permissions import active_grants_query
from portal.portability import valuesets as vs

# Portal goal status -> (FHIR lifecycleStatus, achievementStatus code or None)
GOAL_STATUS_TO_FHIR = {
    "proposed": ("proposed", None),
    "agreed": ("active", "in-progress"),
    "achieved": ("completed", "achieved"),
    "not_achieved": ("completed", "not-achieved"),
    "withdrawn": ("cancelled", None),
}
GENDER = {"female": "female", "male": "male", "other": "other"}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _ref(url: str, display: str | None = None) -> dict:
    return {"reference": url, **({"display": display} if display else {})}


def _patient(patient: Patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": vs.NHS_NUMBER_SYSTEM, "value": patient.nhs_number}],
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.date_of_birth.isoformat(),
        "communication": [
            {
                "language": {
                    "coding": [
                        {
                            "system": "urn:ietf:bcp:47",
                            "code": patient.preferred_language.replace("_", "-"),
                        }
                    ]
                },
                "preferred": True,
            }
        ],
    }
    return resource


def _goal(goal, subject: str) -> dict:
    lifecycle, achievement = GOAL_STATUS_TO_FHIR[goal.status]
    resource: dict = {
        "resourceType": "Goal",
        "lifecycleStatus": lifecycle,
        "description": {"text": goal.title},
        "subject": _ref(subject),
    }
    if achievement:
        resource["achievementStatus"] = {
            "coding": [{"system": vs.GOAL_ACHIEVEMENT_SYSTEM, "code": achievement}]
        }
    if goal.target_date:
        resource["target"] = [{"dueDate": goal.target_date.isoformat()}]
    if goal.why_it_matters:
        resource["note"] = [{"text": goal.why_it_matters}]
    return resource


def _goal_activity(goal, goal_url: str) -> dict:
    return {
        "detail": {
            "status": "in-progress" if goal.status == "agreed" else "not-started",
            "description": goal.steps,
            "goal": [_ref(goal_url)],
        }
    }


def _crisis_activity(step) -> dict:
    detail = {
        "status": "not-started",
        "code": {
            "coding": [{"system": vs.CRISIS_LEVEL_SYSTEM, "code": step.level}],
            "text": step.level,
        },
        "reasonCode": [{"text": step.signs}],
        "description": step.actions,
    }
    if step.who_to_call:
        detail["performer"] = [{"display": step.who_to_call}]
    return {"detail": detail}


def _care_team(plan: CarePlan, subject: str) -> dict:
    participants = []
    if plan.named_contact:
        contact = plan.named_contact
        participants.append(
            {
                "role": [{"text": "Named contact"}],
                "member": {"display": contact.display_name},
                **(
                    {"onBehalfOf": {"display": contact.organisation.name}}
                    if contact.organisation
                    else {}
                ),
            }
        )
    for member in plan.care_team:
        participants.append({"role": [{"text": member.role}], "member": {"display": member.name}})
    return {
        "resourceType": "CareTeam",
        "status": "active",
        "subject": _ref(subject),
        "participant": participants,
    }


def _related_person(grant: AccessGrant, subject: str) -> dict:
    grantee = grant.grantee
    return {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": _ref(subject),
        "relationship": [{"text": grant.relationship_to_patient or "Carer"}],
        "name": [{"text": grantee.display_name}] if grantee else [],
        "telecom": [{"system": "email", "value": grant.invited_email}],
    }


def _consent(record: ConsentRecord, subject: str) -> dict:
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": vs.CONSENT_SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [{"text": "Share my care plan with my care team"}],
        "patient": _ref(subject),
        "dateTime": record.created_at.isoformat(),
        "provision": {"type": "permit" if record.share_with_care_team else "deny"},
    }


def build_bundle(plan: CarePlan) -> Bundle:
    """Every resource the plan is made of, in one validated ``collection`` Bundle."""
    patient = plan.patient
    entries: list[tuple[str, dict]] = []
    subject = _urn()
    entries.append((subject, _patient(patient)))
    for condition in patient.conditions:
        entries.append(
            (
                _urn(),
                {
                    "resourceType": "Condition",
                    "clinicalStatus": {
                        "coding": [{"system": vs.CONDITION_CLINICAL_SYSTEM, "code": "active"}]
                    },
                    "code": {
                        "coding": [
                            {"system": vs.SNOMED, "code": condition.code, "display": condition.name}
                        ]
                    },
                    "subject": _ref(subject),
                },
            )
        )
    goal_refs, activities = [], []
    for goal in plan.goals:
        url = _urn()
        entries.append((url, _goal(goal, subject)))
        goal_refs.append(_ref(url))
        if goal.steps:
            activities.append(_goal_activity(goal, url))
    activities.extend(_crisis_activity(step) for step in plan.crisis_steps)
    team_url = _urn()
    entries.append((team_url, _care_team(plan, subject)))
    grants = db.session.scalars(
        active_grants_query().where(AccessGrant.patient_id == patient.id)
    ).all()
    entries.extend((_urn(), _related_person(g, subject)) for g in grants)
    consent = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.patient_id == patient.id)
        .order_by(ConsentRecord.id.desc())
    ).first()
    if consent:
        entries.append((_urn(), _consent(consent, subject)))
    period = {"start": plan.created_at.date().isoformat()}
    if plan.next_review_date:
        period["end"] = plan.next_review_date.isoformat()
    careplan = {
        "resourceType": "CarePlan",
        "status": "active" if plan.status == "active" else "draft",
        "intent": "plan",
        "title": "Personalised care plan",
        "subject": _ref(subject),
        "period": period,
        "careTeam": [_ref(team_url)],
        "goal": goal_refs,
        "activity": activities,
    }
    entries.insert(1, (_urn(), careplan))
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": f"{date.today().isoformat()}T00:00:00Z",
            "entry": [{"fullUrl": url, "resource": res} for url, res in entries],
        }
    )
    return bundle


def bundle_json(plan: CarePlan) -> str:
    return build_bundle(plan).model_dump_json(exclude_none=True, indent=2)
