"""Everything the portal holds about a patient, as one JSON document (right of access)."""

from datetime import date, datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import (
    AccessGrant,
    AuditEvent,
    CarePlan,
    CareTeamMember,
    CareTeamMembership,
    ConsentRecord,
    Contact,
    Conversation,
    CrisisStep,
    EmergencyAccess,
    Goal,
    Message,
    NeedsSection,
    Patient,
    PlanVersion,
    Preparation,
    ReviewMeeting,
    SharedResult,
    SurveyResponse,
    UsualState,
    Wish,
    meeting_conversations,
)

# Secrets are not the patient's data and would weaken their account if the file leaked.
SECRET_COLUMNS = frozenset(
    {
        "password_hash",
        "mfa_secret",
        "recovery_codes",
        "session_token",
        "token_hash",
        "mfa_last_step",
    }
)

PLAN_PARTS = {
    "needs": NeedsSection,
    "goals": Goal,
    "wishes": Wish,
    "preparations": Preparation,
    "shared_results": SharedResult,
    "crisis_steps": CrisisStep,
    "usual_state": UsualState,
    "contacts": Contact,
    "care_team": CareTeamMember,
    "review_meetings": ReviewMeeting,
    "agreed_versions": PlanVersion,
}
PATIENT_PARTS = {
    "access_grants": AccessGrant,
    "consent_records": ConsentRecord,
    "survey_responses": SurveyResponse,
    "conversations": Conversation,
    "care_team_memberships": CareTeamMembership,
    "emergency_accesses": EmergencyAccess,
}


def _value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row(obj) -> dict:
    return {
        column.key: _value(getattr(obj, column.key))
        for column in inspect(type(obj)).column_attrs
        if column.key not in SECRET_COLUMNS
    }


def _rows(model, where) -> list[dict]:
    return [row(o) for o in db.session.scalars(select(model).where(where).order_by(model.id))]


def _add_conversations_talked_about(meetings: list[dict]) -> None:
    """Each meeting's record with the ids of the conversations it refers to."""
    talked: dict[int, list[int]] = {m["id"]: [] for m in meetings}
    rows = db.session.execute(
        select(meeting_conversations)
        .where(meeting_conversations.c.meeting_id.in_(list(talked)))
        .order_by(meeting_conversations.c.conversation_id)
    )
    for meeting_id, conversation_id in rows:
        talked[meeting_id].append(conversation_id)
    for meeting in meetings:
        meeting["conversation_ids"] = talked[meeting["id"]]


def personal_data(patient: Patient) -> dict:
    plan = db.session.scalars(select(CarePlan).where(CarePlan.patient_id == patient.id)).first()
    data: dict = {
        "patient": row(patient),
        "conditions": [{"snomed_ct": c.code, "name": c.name} for c in patient.conditions],
        "account": row(patient.user) if patient.user else None,
        "care_plan": row(plan) if plan else None,
    }
    for key, model in PLAN_PARTS.items():
        data[key] = _rows(model, model.plan_id == plan.id) if plan else []
    for key, model in PATIENT_PARTS.items():
        data[key] = _rows(model, model.patient_id == patient.id)
    _add_conversations_talked_about(data["review_meetings"])
    data["conversation_messages"] = _rows(
        Message,
        Message.conversation_id.in_(
            select(Conversation.id).where(Conversation.patient_id == patient.id)
        ),
    )
    data["audit_trail"] = [
        {**row(event), "actor": event.actor.display_name if event.actor else None}
        for event in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.patient_id == patient.id)
            .options(joinedload(AuditEvent.actor))
            .order_by(AuditEvent.id)
        )
    ]
    return data
