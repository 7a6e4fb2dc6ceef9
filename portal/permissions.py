"""The one place that decides who may do what to whose plan.

Access is decided per patient: a role alone never opens a record. Views call ``require`` with
the patient id from the URL; a refusal is a 404 so the existence of a record is not revealed.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask import abort
from sqlalchemy import or_, select

from portal.extensions import db
from portal.models import AccessGrant, Patient, Role, Scope, User


class Action(StrEnum):
    VIEW_CRISIS = "view_crisis"  # crisis page and crisis sheet
    VIEW_PLAN = "view_plan"  # the whole plan, PDFs, versions
    PROPOSE = "propose"  # edit goals, wishes, needs, preparation, contingency as proposals
    AGREE = "agree"  # professional: agree goals, record meetings, share results
    # A new goal, as a proposal: the patient's side between meetings, or the professional
    # writing it with the patient, to agree it when the meeting is recorded.
    ADD_GOAL = "add_goal"
    MANAGE_SHARING = "manage_sharing"  # invite carers, consent, read the audit trail
    EXPORT_FHIR = "export_fhir"  # the plan as a FHIR Bundle, to move between systems
    SUBJECT_ACCESS = "subject_access"  # everything held about the patient (right of access)


class Relation(StrEnum):
    OWNER = "owner"
    CARER_CRISIS = "carer_crisis"
    CARER_VIEW = "carer_view"
    CARER_CONTRIBUTE = "carer_contribute"
    PROFESSIONAL = "professional"
    NONE = "none"


ALLOWED: dict[Relation, frozenset[Action]] = {
    Relation.OWNER: frozenset(
        {
            Action.VIEW_CRISIS,
            Action.VIEW_PLAN,
            Action.PROPOSE,
            Action.ADD_GOAL,
            Action.MANAGE_SHARING,
            Action.EXPORT_FHIR,
            Action.SUBJECT_ACCESS,
        }
    ),
    Relation.CARER_CRISIS: frozenset({Action.VIEW_CRISIS}),
    Relation.CARER_VIEW: frozenset({Action.VIEW_CRISIS, Action.VIEW_PLAN}),
    Relation.CARER_CONTRIBUTE: frozenset(
        {Action.VIEW_CRISIS, Action.VIEW_PLAN, Action.PROPOSE, Action.ADD_GOAL}
    ),
    Relation.PROFESSIONAL: frozenset(
        {Action.VIEW_CRISIS, Action.VIEW_PLAN, Action.ADD_GOAL, Action.AGREE, Action.EXPORT_FHIR}
    ),
    Relation.NONE: frozenset(),
}

_SCOPE_RELATION = {
    Scope.CRISIS: Relation.CARER_CRISIS,
    Scope.VIEW: Relation.CARER_VIEW,
    Scope.CONTRIBUTE: Relation.CARER_CONTRIBUTE,
}


def active_grants_query(today: date | None = None):
    """Grants that are accepted, not revoked and not past their end date."""
    today = today or date.today()
    return select(AccessGrant).where(
        AccessGrant.accepted_at.is_not(None),
        AccessGrant.revoked_at.is_(None),
        or_(AccessGrant.expires_on.is_(None), AccessGrant.expires_on >= today),
    )


def relation(user: User | None, patient: Patient) -> Relation:
    """How ``user`` stands to ``patient``, read fresh on every request."""
    if user is None or not user.is_authenticated or not user.active:
        return Relation.NONE
    if user.role == Role.PATIENT:
        return Relation.OWNER if patient.user_id == user.id else Relation.NONE
    if user.role == Role.CARER:
        grant = db.session.scalars(
            active_grants_query().where(
                AccessGrant.patient_id == patient.id, AccessGrant.grantee_id == user.id
            )
        ).first()
        return _SCOPE_RELATION[Scope(grant.scope)] if grant else Relation.NONE
    if user.role == Role.PROFESSIONAL:
        in_care = user.organisation_id is not None and (
            user.organisation_id == patient.organisation_id
        )
        return Relation.PROFESSIONAL if in_care and not objected(patient) else Relation.NONE
    return Relation.NONE


def objected(patient: Patient) -> bool:
    """The patient objected to their practice's care team seeing the plan.

    The practice sees its registered patients for direct care (implied consent, as in NHS
    practice) until the patient says no: only a recorded "no" closes the plan to it.
    """
    return patient.care_team_consent is False


def not_objected_sql():
    """``not objected(Patient)`` as SQL, for lists of the practice's patients."""
    return or_(Patient.care_team_consent.is_(None), Patient.care_team_consent.is_(True))


def can(user: User | None, action: Action, patient: Patient) -> bool:
    return action in ALLOWED[relation(user, patient)]


@dataclass(frozen=True)
class Access:
    patient: Patient
    relation: Relation

    def allows(self, action: Action) -> bool:
        return action in ALLOWED[self.relation]


def require(user: User | None, action: Action, patient_id: int) -> Access:
    """Load the patient and check ``action``; 404 for a missing record or a refusal alike."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    rel = relation(user, patient)
    if action not in ALLOWED[rel]:
        abort(404)
    return Access(patient, rel)
