"""Small builders for test data. Each returns a flushed object with its id set."""

import itertools
from datetime import date, timedelta
from functools import cache

from portal.auth.services import hash_password
from portal.extensions import db
from portal.models import (
    AccessGrant,
    CarePlan,
    Contact,
    CrisisStep,
    Goal,
    NeedsSection,
    Organisation,
    Patient,
    Role,
    User,
    UsualState,
    Wish,
)
from portal.models.base import utcnow
from portal.nhs_number import synthetic
from portal.security import new_session_token

PASSWORD = "a-long-test-password-42"

# Every key of the ``cast`` fixture's users, for endpoint x role matrices.
CAST_KEYS = [
    "owner",
    "other_patient",
    "carer_crisis",
    "carer_view",
    "carer_contribute",
    "carer_expired",
    "carer_revoked",
    "carer_no_grant",
    "professional",
    "professional_other_org",
    "commissioner",
    "admin",
    "practice_admin",
    "anonymous",
]
_seq = itertools.count(1)

@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def make_org(name: str | None = None) -> Organisation:
    n = next(_seq)
    org = Organisation(ods_code=f"T{n:05d}", name=name or f"Practice {n}")
    db.session.add(org)
    db.session.flush()
    return org


def make_user(role: Role = Role.PATIENT, organisation: Organisation | None = None, **kw) -> User:
    n = next(_seq)
    user = User(
        email=kw.pop("email", f"user{n}@example.org"),
        password_hash=_password_hash(),
        role=role,
        display_name=kw.pop("display_name", f"{role.title()} {n}"),
        organisation_id=organisation.id if organisation else None,
        session_token=new_session_token(),
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_patient(
    organisation: Organisation | None = None, user: User | None = None, consent: bool = True, **kw
) -> Patient:
    organisation = organisation or make_org()
    user = user or make_user(Role.PATIENT)
    n = next(_seq)
    patient = Patient(
        user_id=user.id,
        organisation_id=organisation.id,
        nhs_number=kw.pop("nhs_number", synthetic(n)),
        given_name=kw.pop("given_name", "Pat"),
        family_name=kw.pop("family_name", f"Ient{n}"),
        date_of_birth=kw.pop("date_of_birth", date(1950, 1, 1)),
        sex=kw.pop("sex", "female"),
        care_team_consent=consent,
        **kw,
    )
    db.session.add(patient)
    db.session.flush()
    return patient


def make_plan(patient: Patient, goals: int = 2, named_contact: User | None = None) -> CarePlan:
    plan = CarePlan(
        patient_id=patient.id,
        named_contact_id=named_contact.id if named_contact else None,
        next_review_date=date.today() + timedelta(days=30),
    )
    db.session.add(plan)
    db.session.flush()
    for i in range(goals):
        db.session.add(
            Goal(
                plan_id=plan.id,
                title=f"Goal {i + 1}",
                why_it_matters="Because",
                status="agreed",
                pending_review=False,
                proposed_by_id=patient.user_id,
                updated_by_id=patient.user_id,
            )
        )
    db.session.add(NeedsSection(plan_id=plan.id, domain="health", text="My breathing"))
    db.session.add(Wish(plan_id=plan.id, kind="place_of_care", text="At home"))
    db.session.add(
        CrisisStep(plan_id=plan.id, level="red", signs="Lips blue", actions="Ring 999")
    )
    db.session.add(UsualState(plan_id=plan.id, mobility="Walks with a stick"))
    db.session.add(
        Contact(plan_id=plan.id, kind="next_of_kin", name="Sam", phone="07700 900123")
    )
    db.session.flush()
    return plan


def make_grant(
    patient: Patient,
    grantee: User,
    scope: str = "view",
    expires_on: date | None = None,
    revoked: bool = False,
) -> AccessGrant:
    grant = AccessGrant(
        patient_id=patient.id,
        grantee_id=grantee.id,
        invited_email=grantee.email,
        scope=scope,
        accepted_at=utcnow(),
        expires_on=expires_on,
        revoked_at=utcnow() if revoked else None,
    )
    db.session.add(grant)
    db.session.flush()
    return grant


def make_invitation(
    patient: Patient,
    email: str = "invited@example.org",
    scope: str = "view",
    token: str | None = None,
    days: int = 7,
    **kw,
) -> tuple[AccessGrant, str]:
    """A pending invitation and its raw link token (only the token's digest is stored)."""
    import hashlib
    import secrets

    token = token or secrets.token_urlsafe(32)
    grant = AccessGrant(
        patient_id=patient.id,
        invited_email=email,
        relationship_to_patient=kw.pop("relationship", "Daughter"),
        scope=scope,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        invitation_expires_at=utcnow() + timedelta(days=days),
        created_by_id=patient.user_id,
        **kw,
    )
    db.session.add(grant)
    db.session.flush()
    return grant, token


def make_conversation(patient: Patient, subject: str = "A question"):
    """An open conversation the patient started, with their first message."""
    from portal.models import Conversation, Message

    conversation = Conversation(
        patient_id=patient.id, started_by_id=patient.user_id, subject=subject
    )
    db.session.add(conversation)
    db.session.flush()
    db.session.add(
        Message(
            conversation_id=conversation.id,
            author_id=patient.user_id,
            written_as="patient",
            body="What should I do?",
            language="en",
        )
    )
    db.session.flush()
    return conversation


def make_membership(
    patient: Patient,
    organisation: Organisation,
    professional: User | None = None,
    scope: str = "view",
    status: str = "active",
    **kw,
):
    """A care team membership of another organisation (agreed unless ``status`` says not)."""
    from portal.models import CareTeamMembership

    membership = CareTeamMembership(
        patient_id=patient.id,
        organisation_id=organisation.id,
        professional_id=professional.id if professional else None,
        scope=scope,
        status=status,
        agreed_at=utcnow() if status == "active" else None,
        consent_method="online" if status == "active" else None,
        **kw,
    )
    db.session.add(membership)
    db.session.flush()
    return membership


def make_emergency_access(patient: Patient, clinician: User, hours_ago: float = 0):
    """Emergency access opened ``hours_ago`` through the clinician's urgent-care organisation."""
    from portal.models import EmergencyAccess
    from portal.permissions import EMERGENCY_ACCESS_LENGTH

    opened = utcnow() - timedelta(hours=hours_ago)
    access = EmergencyAccess(
        patient_id=patient.id,
        clinician_id=clinician.id,
        organisation_id=clinician.organisation_id,
        reason="called_to_attend",
        created_at=opened,
        expires_at=opened + EMERGENCY_ACCESS_LENGTH,
    )
    db.session.add(access)
    db.session.flush()
    return access
