"""The one place that decides who may do what to whose plan.

Access is decided per patient: a role alone never opens a record. Views declare the action
they need with ``portal.pages.patient_page``, which calls ``require`` with the patient id from
the URL; a refusal is a 404 so the existence of a record is not revealed. Pages that belong
to no patient (administration, reports, sample audits, the practice's survey results, one's
own account) declare an account action, decided by ``may``.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask import abort, g
from sqlalchemy import or_, select
from werkzeug.exceptions import HTTPException

from portal.extensions import db
from portal.models import AccessGrant, Patient, RegisterEntry, Role, Scope, User


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
    ANSWER_SURVEY = "answer_survey"  # the patient's own say on their review meeting
    AUDIT_PLAN = "audit_plan"  # a professional with the audit role checks a sampled plan
    # Account actions: not about one patient, decided by ``may`` from the account alone.
    OWN_ACCOUNT = "own_account"  # any signed-in account: its settings, what is shared with it
    ADMINISTER = "administer"  # staff accounts and organisations
    READ_REPORTS = "read_reports"  # the commissioner's anonymous monthly reports
    RUN_AUDITS = "run_audits"  # sample audits of the organisation's plans
    READ_SURVEY_RESULTS = "read_survey_results"  # the practice's own survey results
    USE_TEAM_INBOX = "use_team_inbox"  # the care team's inbox of patients' conversations
    USE_FHIR_API = "use_fhir_api"  # any account; each answer is decided per patient
    CARE_TEAM_WORK = "care_team_work"  # a practice professional's worklist and contact details
    # Conversations with the care team: reading and writing messages; the care team's side
    # also answers for them (closing with an outcome, marking urgent, taking one on).
    READ_CONVERSATIONS = "read_conversations"
    WRITE_MESSAGE = "write_message"
    MANAGE_CONVERSATION = "manage_conversation"


class RegisterAction(StrEnum):
    """Work on an organisation's register. None of it opens plan content."""

    IMPORT = "register_import"  # upload the register file
    ADD_PATIENT = "register_add_patient"  # add one person by hand
    PATIENT_DETAILS = "register_patient_details"  # read and correct details on the register
    ACTIVATION = "register_activation"  # activation letters and emails for patient accounts


# Who may do register work for their own organisation (and only their own).
REGISTER_ALLOWED: dict[Role, frozenset[RegisterAction]] = {
    Role.PRACTICE_ADMIN: frozenset(RegisterAction),
    Role.PROFESSIONAL: frozenset(
        {RegisterAction.ADD_PATIENT, RegisterAction.PATIENT_DETAILS, RegisterAction.ACTIVATION}
    ),
}


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
            Action.ANSWER_SURVEY,
            Action.READ_CONVERSATIONS,
            Action.WRITE_MESSAGE,
        }
    ),
    Relation.CARER_CRISIS: frozenset({Action.VIEW_CRISIS}),
    Relation.CARER_VIEW: frozenset({Action.VIEW_CRISIS, Action.VIEW_PLAN}),
    Relation.CARER_CONTRIBUTE: frozenset(
        {
            Action.VIEW_CRISIS,
            Action.VIEW_PLAN,
            Action.PROPOSE,
            Action.ADD_GOAL,
            Action.READ_CONVERSATIONS,
            Action.WRITE_MESSAGE,
        }
    ),
    Relation.PROFESSIONAL: frozenset(
        {
            Action.VIEW_CRISIS,
            Action.VIEW_PLAN,
            Action.ADD_GOAL,
            Action.AGREE,
            Action.EXPORT_FHIR,
            Action.READ_CONVERSATIONS,
            Action.WRITE_MESSAGE,
            Action.MANAGE_CONVERSATION,
        }
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


def allowed(user: User | None, rel: Relation) -> frozenset[Action]:
    """What ``user``, standing as ``rel`` to a patient, may do with that patient's plan.

    A professional reads a sampled plan for an audit under its own action, only with the
    audit role, never under the actions meant for agreeing the plan.
    """
    actions = ALLOWED[rel]
    if rel == Relation.PROFESSIONAL and user is not None and user.can_audit:
        actions = actions | {Action.AUDIT_PLAN}
    return actions


def professional_patients(user: User):
    """A condition selecting the patients ``user`` relates to as a professional.

    The same rule as ``relation`` for a whole list at once (the team inbox), so a list never
    shows someone whose page would answer 404.
    """
    if (
        not user.is_authenticated
        or not user.active
        or user.role != Role.PROFESSIONAL
        or user.organisation_id is None
    ):
        return Patient.id.is_(None)  # nobody
    return (Patient.organisation_id == user.organisation_id) & not_objected_sql()


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
    return action in allowed(user, relation(user, patient))


@dataclass(frozen=True)
class Access:
    patient: Patient
    relation: Relation
    actions: frozenset[Action] = frozenset()

    def allows(self, action: Action) -> bool:
        return action in self.actions


# Changes to the plan's content: none once the patient has left the practice's register.
CHANGES = frozenset({Action.PROPOSE, Action.ADD_GOAL, Action.AGREE})


class PlanReadOnly(HTTPException):
    """The patient left the register: the plan and its history are kept, read-only."""

    code = 423


def left_register(patient_id: int) -> bool:
    left = db.session.scalar(
        select(RegisterEntry.left_on).where(RegisterEntry.patient_id == patient_id)
    )
    return left is not None


def require(user: User | None, action: Action, patient_id: int) -> Access:
    """Load the patient and check ``action``; 404 for a missing record or a refusal alike.

    How the user stands to the patient is worked out once per request: the page decorator
    and the view asking again cost one lookup.
    """
    key = (getattr(user, "id", None), patient_id)
    known = g.get("patient_access")
    if known is not None and known[0] == key:
        access = known[1]
    else:
        patient = db.session.get(Patient, patient_id)
        if patient is None:
            abort(404)
        rel = relation(user, patient)
        access = Access(patient, rel, allowed(user, rel))
        g.patient_access = (key, access)
    if not access.allows(action):
        abort(404)
    if action in CHANGES and left_register(patient_id):  # asked only on pages that change
        raise PlanReadOnly()
    return access


def _staff_of_an_organisation(user: User) -> bool:
    return user.role == Role.PROFESSIONAL and user.organisation_id is not None


# Account actions: who may open pages that belong to no single patient.
_ACCOUNT_RULES = {
    Action.OWN_ACCOUNT: lambda user: True,
    Action.ADMINISTER: lambda user: user.role == Role.ADMIN,
    Action.READ_REPORTS: lambda user: user.role == Role.COMMISSIONER,
    Action.RUN_AUDITS: lambda user: _staff_of_an_organisation(user) and bool(user.can_audit),
    Action.READ_SURVEY_RESULTS: _staff_of_an_organisation,
    Action.USE_TEAM_INBOX: lambda user: user.role == Role.PROFESSIONAL,
    Action.USE_FHIR_API: lambda user: True,
    Action.CARE_TEAM_WORK: lambda user: (
        user.role == Role.PROFESSIONAL and user.organisation_id is not None
    ),
}
ACCOUNT_ACTIONS = frozenset(_ACCOUNT_RULES)


def may(user: User | None, action: Action) -> bool:
    """Whether a signed-in, active ``user`` may take an account action."""
    if user is None or not user.is_authenticated or not user.active:
        return False
    return _ACCOUNT_RULES[action](user)


def require_account(user: User | None, action: Action) -> None:
    """404 unless ``user`` may take the account action: to anyone else the page does not exist."""
    if not may(user, action):
        abort(404)
def can_register(user: User | None, action: RegisterAction, organisation_id: int | None) -> bool:
    """Register work is per organisation: the role allows it, and only for one's own."""
    if user is None or not user.is_authenticated or not user.active:
        return False
    allowed = REGISTER_ALLOWED.get(user.role, frozenset())
    return action in allowed and organisation_id is not None and (
        user.organisation_id == organisation_id
    )


def require_register(user: User | None, action: RegisterAction, patient_id: int) -> Patient:
    """The patient, if ``user`` may do ``action`` on their register record; 404 otherwise."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or not can_register(user, action, patient.organisation_id):
        abort(404)
    return patient
