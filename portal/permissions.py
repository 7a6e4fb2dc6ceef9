"""The one place that decides who may do what to whose plan.

Access is decided per patient: a role alone never opens a record. Views declare the action
they need with ``portal.pages.patient_page``, which calls ``require`` with the patient id from
the URL; a refusal is a 404 so the existence of a record is not revealed. Pages that belong
to no patient (administration, reports, sample audits, the practice's survey results, one's
own account) declare an account action, decided by ``may``.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flask import abort, g
from sqlalchemy import and_, false, or_, select
from werkzeug.exceptions import HTTPException

from portal.extensions import db
from portal.models import (
    AccessGrant,
    CareTeamMembership,
    EmergencyAccess,
    MembershipStatus,
    Organisation,
    OrganisationKind,
    Patient,
    RegisterEntry,
    Role,
    Scope,
    StaffMembership,
    User,
)
from portal.models.base import utcnow

# How long an urgent-care clinician's emergency access to one patient lasts.
EMERGENCY_ACCESS_HOURS = 24
EMERGENCY_ACCESS_LENGTH = timedelta(hours=EMERGENCY_ACCESS_HOURS)


class Action(StrEnum):
    VIEW_CRISIS = "view_crisis"  # crisis page and crisis sheet
    VIEW_PLAN = "view_plan"  # the whole plan, PDFs, versions
    PROPOSE = "propose"  # between meetings: change goals, prepare for the review, ask things
    # Write the sections of the plan (needs, wishes, the crisis plan, the usual state of health,
    # contacts): the patient and a contributing carer as proposals for the review; a
    # professional in the care team with the patient, in clinic, as agreed with them.
    WRITE_PLAN = "write_plan"
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
    # The practice proposes a team or professional of another organisation for the care team.
    MANAGE_CARE_TEAM = "manage_care_team"
    EMERGENCY_SEARCH = "emergency_search"  # an urgent-care clinician looks a patient up
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
    # A team or professional of another organisation in the care team, by the patient's consent.
    MEMBER_CRISIS = "member_crisis"
    MEMBER_VIEW = "member_view"
    MEMBER_CONTRIBUTE = "member_contribute"
    # An urgent-care clinician who gave a reason, for 24 hours.
    EMERGENCY = "emergency"
    NONE = "none"


ALLOWED: dict[Relation, frozenset[Action]] = {
    Relation.OWNER: frozenset(
        {
            Action.VIEW_CRISIS,
            Action.VIEW_PLAN,
            Action.PROPOSE,
            Action.WRITE_PLAN,
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
            Action.WRITE_PLAN,
            Action.ADD_GOAL,
            Action.READ_CONVERSATIONS,
            Action.WRITE_MESSAGE,
        }
    ),
    Relation.PROFESSIONAL: frozenset(
        {
            Action.VIEW_CRISIS,
            Action.VIEW_PLAN,
            Action.WRITE_PLAN,
            Action.ADD_GOAL,
            Action.AGREE,
            Action.EXPORT_FHIR,
            Action.READ_CONVERSATIONS,
            Action.WRITE_MESSAGE,
            Action.MANAGE_CONVERSATION,
            Action.MANAGE_CARE_TEAM,
        }
    ),
    Relation.MEMBER_CRISIS: frozenset({Action.VIEW_CRISIS}),
    Relation.MEMBER_VIEW: frozenset({Action.VIEW_CRISIS, Action.VIEW_PLAN}),
    Relation.MEMBER_CONTRIBUTE: frozenset(
        {Action.VIEW_CRISIS, Action.VIEW_PLAN, Action.PROPOSE, Action.WRITE_PLAN, Action.ADD_GOAL}
    ),
    Relation.EMERGENCY: frozenset({Action.VIEW_CRISIS}),
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


@dataclass(frozen=True)
class OrganisationSystem:
    """A registered system of an organisation reading the FHIR API (SMART Backend Services).

    It stands to a patient as that organisation's care team does: the practice's patients who
    have not objected, nobody else.
    """

    client_id: int
    organisation_id: int | None
    is_authenticated: bool = True
    active: bool = True
    can_audit: bool = False

    @property
    def id(self) -> str:
        return f"system-{self.client_id}"


_MEMBER_RELATION = {
    Scope.CRISIS: Relation.MEMBER_CRISIS,
    Scope.VIEW: Relation.MEMBER_VIEW,
    Scope.CONTRIBUTE: Relation.MEMBER_CONTRIBUTE,
}
_WIDEST_FIRST = (Scope.CONTRIBUTE, Scope.VIEW, Scope.CRISIS)


def organisations_of(user_id):
    """The organisations a professional works for now: their account's and those not left.

    A SQL subquery, so a professional who leaves one loses its patients on the next request.
    """
    home = select(User.organisation_id).where(User.id == user_id, User.organisation_id.is_not(None))
    others = select(StaffMembership.organisation_id).where(
        StaffMembership.user_id == user_id, StaffMembership.left_at.is_(None)
    )
    return home.union(others)


def memberships_in_force(user_id, today: date | None = None):
    """Care team memberships open to the professional ``user_id`` today: agreed, not ended,
    of an organisation they work for, naming its whole team or them."""
    today = today or date.today()
    return select(CareTeamMembership).where(
        CareTeamMembership.status == MembershipStatus.ACTIVE,
        or_(CareTeamMembership.ends_on.is_(None), CareTeamMembership.ends_on >= today),
        CareTeamMembership.organisation_id.in_(organisations_of(user_id)),
        or_(
            CareTeamMembership.professional_id.is_(None),
            CareTeamMembership.professional_id == user_id,
        ),
    )


def membership_for(user: User, patient: Patient) -> CareTeamMembership | None:
    """The widest membership through which ``user`` reaches ``patient``, if any."""
    found = db.session.scalars(
        memberships_in_force(user.id).where(CareTeamMembership.patient_id == patient.id)
    ).all()
    return min(found, key=lambda m: _WIDEST_FIRST.index(Scope(m.scope)), default=None)


def emergency_access_for(user: User, patient: Patient) -> EmergencyAccess | None:
    """The clinician's emergency access to ``patient`` still running, through an urgent-care
    organisation they still work for; none once the patient has turned emergency access off."""
    if not patient.emergency_access:
        return None
    return db.session.scalars(
        select(EmergencyAccess)
        .join(Organisation, Organisation.id == EmergencyAccess.organisation_id)
        .where(
            EmergencyAccess.patient_id == patient.id,
            EmergencyAccess.clinician_id == user.id,
            EmergencyAccess.expires_at > utcnow(),
            Organisation.kind == OrganisationKind.URGENT_CARE,
            EmergencyAccess.organisation_id.in_(organisations_of(user.id)),
        )
        .order_by(EmergencyAccess.expires_at.desc())
    ).first()


def in_practice(user: User, patient: Patient) -> bool:
    """A professional of the patient's own practice, which the patient has not closed."""
    return (
        user.organisation_id is not None
        and user.organisation_id == patient.organisation_id
        and not objected(patient)
    )


def relation(user: User | OrganisationSystem | None, patient: Patient) -> Relation:
    """How ``user`` stands to ``patient``, read fresh on every request.

    A professional stands in the practice's care team, or in a care team membership with its
    scope, or (urgent care) in an emergency access opened with a reason in the last 24 hours.
    """
    if user is None or not user.is_authenticated or not user.active:
        return Relation.NONE
    if isinstance(user, OrganisationSystem):
        in_care = (
            user.organisation_id is not None and user.organisation_id == patient.organisation_id
        )
        return Relation.PROFESSIONAL if in_care and not objected(patient) else Relation.NONE
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
        if in_practice(user, patient):
            return Relation.PROFESSIONAL
        membership = membership_for(user, patient)
        if membership is not None:
            return _MEMBER_RELATION[Scope(membership.scope)]
        if emergency_access_for(user, patient) is not None:
            return Relation.EMERGENCY
    return Relation.NONE


def acting_for(user: User | None, patient: Patient, rel: Relation) -> int | None:
    """The organisation through which ``user`` reaches ``patient``, named in the audit trail."""
    if user is None or rel in (Relation.NONE, Relation.OWNER) or rel.startswith("carer"):
        return None
    if rel == Relation.PROFESSIONAL:
        return patient.organisation_id
    if rel == Relation.EMERGENCY:
        found = emergency_access_for(user, patient)
    else:
        found = membership_for(user, patient)
    return found.organisation_id if found else None


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
    if not user.is_authenticated or not user.active or user.role != Role.PROFESSIONAL:
        return Patient.id.is_(None)  # nobody
    return or_(practice_patients(user), member_patients(user))


def practice_patients(user: User):
    """The practice's own patients who have not closed their plan to it."""
    if user.organisation_id is None:
        return false()
    return and_(Patient.organisation_id == user.organisation_id, not_objected_sql())


def member_patients(user: User):
    """Patients whose care team includes ``user`` through an agreed membership in force."""
    return Patient.id.in_(
        memberships_in_force(user.id).with_only_columns(CareTeamMembership.patient_id)
    )


def objected(patient: Patient) -> bool:
    """The patient objected to their practice's care team seeing the plan.

    The practice sees its registered patients for direct care (implied consent, as in NHS
    practice) until the patient says no: only a recorded "no" closes the plan to it.
    """
    return patient.care_team_consent is False


def not_objected_sql():
    """``not objected(Patient)`` as SQL, for lists of the practice's patients."""
    return or_(Patient.care_team_consent.is_(None), Patient.care_team_consent.is_(True))


def with_patient(access: "Access") -> bool:
    """A professional writing a section writes it with the patient, in clinic: it counts as
    agreed with them and checked by that professional, not as a proposal for the review."""
    return access.relation == Relation.PROFESSIONAL


def can(user: User | None, action: Action, patient: Patient) -> bool:
    return action in allowed(user, relation(user, patient))


@dataclass(frozen=True)
class Access:
    patient: Patient
    relation: Relation
    actions: frozenset[Action] = frozenset()
    # The organisation the user acts for with this patient (the audit trail names it).
    organisation_id: int | None = None
    # The patient left the practice's register: the plan is read-only. Pages read this one
    # flag (through ``allows``) to leave out every way to change the plan, and say why.
    read_only: bool = False

    def allows(self, action: Action) -> bool:
        return action in self.actions and not (self.read_only and action in CHANGES)


# Changes to the plan's content: none once the patient has left the practice's register.
CHANGES = frozenset({Action.PROPOSE, Action.WRITE_PLAN, Action.ADD_GOAL, Action.AGREE})


class PlanReadOnly(HTTPException):
    """The patient left the register: the plan and its history are kept, read-only."""

    code = 423


def _load(patient_id: int) -> tuple[Patient, bool]:
    """The patient, and whether they have left the practice's register, in one query."""
    found = db.session.execute(
        select(Patient, RegisterEntry.left_on.is_not(None))
        .outerjoin(RegisterEntry, RegisterEntry.patient_id == Patient.id)
        .where(Patient.id == patient_id)
    ).first()
    if found is None:
        abort(404)
    return found[0], bool(found[1])


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
        patient, left = _load(patient_id)
        rel = relation(user, patient)
        actions = allowed(user, rel)
        access = Access(patient, rel, actions, acting_for(user, patient, rel), read_only=left)
        g.patient_access = (key, access)
    if action not in access.actions:
        abort(404)
    if not access.allows(action):  # allowed to this user, but the plan is read-only
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
    Action.CARE_TEAM_WORK: lambda user: user.role == Role.PROFESSIONAL and _works_anywhere(user),
    Action.EMERGENCY_SEARCH: lambda user: (
        user.role == Role.PROFESSIONAL and bool(urgent_care_organisations(user))
    ),
}


def _works_anywhere(user: User) -> bool:
    return db.session.scalar(organisations_of(user.id).limit(1)) is not None


def urgent_care_organisations(user: User) -> list[Organisation]:
    """The urgent-care organisations (ambulance, NHS 111, out of hours) ``user`` works for now."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(
                Organisation.id.in_(organisations_of(user.id)),
                Organisation.kind == OrganisationKind.URGENT_CARE,
            )
            .order_by(Organisation.id)
        )
    )


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
    return (
        action in allowed
        and organisation_id is not None
        and (user.organisation_id == organisation_id)
    )


def require_register(user: User | None, action: RegisterAction, patient_id: int) -> Patient:
    """The patient, if ``user`` may do ``action`` on their register record; 404 otherwise."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or not can_register(user, action, patient.organisation_id):
        abort(404)
    return patient
