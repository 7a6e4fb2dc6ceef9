"""Care team memberships, staff leaving, and emergency access: every change audited with the
organisation named, so the patient's activity page says who acted for whom."""

import hmac
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import audit
from portal.extensions import db
from portal.models import (
    CarePlan,
    CareTeamMembership,
    ConsentMethod,
    EmergencyAccess,
    MembershipStatus,
    Organisation,
    OrganisationKind,
    Patient,
    Role,
    StaffMembership,
    User,
)
from portal.models.base import utcnow
from portal.permissions import EMERGENCY_ACCESS_LENGTH


def memberships_of(patient_id: int) -> list[CareTeamMembership]:
    """Every membership of the patient's care team, newest first (ended ones are history)."""
    return list(
        db.session.scalars(
            select(CareTeamMembership)
            .where(CareTeamMembership.patient_id == patient_id)
            .options(
                joinedload(CareTeamMembership.organisation),
                joinedload(CareTeamMembership.professional),
            )
            .order_by(CareTeamMembership.created_at.desc(), CareTeamMembership.id.desc())
        )
    )


def membership_of(patient_id: int, membership_id: int) -> CareTeamMembership | None:
    """The patient's own membership; another patient's id finds nothing (a forged id)."""
    membership = db.session.get(CareTeamMembership, membership_id)
    return membership if membership and membership.patient_id == patient_id else None


def other_organisations(patient: Patient) -> list[Organisation]:
    """Organisations that may join a patient's care team: any but the practice and urgent care
    (urgent care reaches a plan through emergency access, not membership)."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(
                Organisation.id != patient.organisation_id,
                Organisation.kind != OrganisationKind.URGENT_CARE,
            )
            .order_by(Organisation.name)
        )
    )


def staff_of(organisation_id: int) -> list[User]:
    """The professionals working for an organisation now."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.PROFESSIONAL, User.active.is_(True))
            .where(
                (User.organisation_id == organisation_id)
                | User.id.in_(
                    select(StaffMembership.user_id).where(
                        StaffMembership.organisation_id == organisation_id,
                        StaffMembership.left_at.is_(None),
                    )
                )
            )
            .order_by(User.display_name)
        )
    )


def _detail(membership: CareTeamMembership) -> str:
    return f"membership {membership.id}"


def propose(
    patient: Patient,
    organisation: Organisation,
    professional: User | None,
    scope: str,
    ends_on: date | None,
    by: User,
    spoken_consent: bool,
) -> CareTeamMembership:
    """The practice proposes a team or professional; with the patient's spoken consent recorded
    it is in force at once, otherwise it waits for the patient to agree."""
    membership = CareTeamMembership(
        patient_id=patient.id,
        organisation_id=organisation.id,
        professional_id=professional.id if professional else None,
        scope=scope,
        ends_on=ends_on,
        proposed_by_id=by.id,
        status=MembershipStatus.PROPOSED,
    )
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "care_team.propose", patient.id, _detail(membership), organisation_id=organisation.id
    )
    if spoken_consent:
        _agree(membership, by, ConsentMethod.IN_PERSON)
    db.session.commit()
    return membership


def _agree(membership: CareTeamMembership, by: User, method: ConsentMethod) -> None:
    membership.status = MembershipStatus.ACTIVE
    membership.agreed_at = utcnow()
    membership.agreed_by_id = by.id
    membership.consent_method = method
    audit.record(
        "care_team.agree",
        membership.patient_id,
        f"{_detail(membership)} {method.value}",
        organisation_id=membership.organisation_id,
    )


def agree(membership: CareTeamMembership, patient_user: User) -> bool:
    """The patient agrees to a proposed membership; False if it is no longer waiting."""
    if membership.status != MembershipStatus.PROPOSED:
        return False
    _agree(membership, patient_user, ConsentMethod.ONLINE)
    db.session.commit()
    return True


def end(membership: CareTeamMembership, by: User) -> bool:
    """End (or decline) a membership: its team or professional is refused on the next request.
    The row stays, as history. False if it had already ended."""
    if membership.status == MembershipStatus.ENDED:
        return False
    membership.status = MembershipStatus.ENDED
    membership.ended_at = utcnow()
    membership.ended_by_id = by.id
    audit.record(
        "care_team.end",
        membership.patient_id,
        _detail(membership),
        organisation_id=membership.organisation_id,
    )
    db.session.commit()
    return True


def remove_organisation(patient_id: int, organisation_id: int, by: User) -> int:
    """End every membership of one organisation in a patient's care team, at once."""
    ended = 0
    for membership in memberships_of(patient_id):
        if membership.organisation_id == organisation_id and end(membership, by):
            ended += 1
    return ended


def join(user: User, organisation: Organisation) -> StaffMembership:
    """A professional starts working for a further organisation."""
    membership = StaffMembership(user_id=user.id, organisation_id=organisation.id)
    db.session.add(membership)
    audit.record("staff.join", detail=f"user {user.id}", organisation_id=organisation.id)
    db.session.commit()
    return membership


def other_organisations_of(user: User) -> list[Organisation]:
    """The organisations a professional works for besides the one on their account."""
    return list(
        db.session.scalars(
            select(Organisation)
            .join(StaffMembership, StaffMembership.organisation_id == Organisation.id)
            .where(StaffMembership.user_id == user.id, StaffMembership.left_at.is_(None))
            .order_by(Organisation.name)
        )
    )


def leave(user: User, organisation: Organisation, by: User | None = None) -> bool:
    """A professional leaves an organisation: its patients are closed to them at once."""
    left = False
    if user.organisation_id == organisation.id:
        user.organisation_id = None
        left = True
    for membership in db.session.scalars(
        select(StaffMembership).where(
            StaffMembership.user_id == user.id,
            StaffMembership.organisation_id == organisation.id,
            StaffMembership.left_at.is_(None),
        )
    ):
        membership.left_at = utcnow()
        left = True
    if left:
        audit.record(
            "staff.leave",
            detail=f"user {user.id}",
            actor_id=by.id if by else None,
            organisation_id=organisation.id,
        )
        db.session.commit()
    return left


# --------------------------------------------------------------------------- #
# Emergency access
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Found:
    """What a search tells urgent care: that a plan exists, and whom to ring."""

    patient: Patient
    plan: CarePlan
    open_to_urgent_care: bool


def find_for_emergency(nhs_number: str, date_of_birth: date) -> Found | None:
    """The patient with a care plan whose NHS number AND date of birth both match.

    The same query runs whatever was typed and the date is always compared, in constant time,
    so an answer of "nothing" takes as long as a match and says nothing about which part failed.
    """
    row = db.session.execute(
        select(Patient, CarePlan)
        .join(CarePlan, CarePlan.patient_id == Patient.id)
        .where(Patient.nhs_number == nhs_number)
        .options(joinedload(Patient.organisation))
    ).first()
    typed = date_of_birth.isoformat().encode()
    held = row[0].date_of_birth.isoformat().encode() if row else b"0000-00-00"
    matches = hmac.compare_digest(typed, held)
    if row is None or not matches:
        return None
    patient, plan = row
    return Found(patient, plan, bool(patient.emergency_access))


def record_search(found: Found | None, organisation: Organisation) -> None:
    """Every search is audited; one that found a plan is on the patient's activity page."""
    audit.record(
        "emergency.search",
        found.patient.id if found else None,
        "found" if found else "no match",
        organisation_id=organisation.id,
    )
    db.session.commit()


def open_emergency(
    patient: Patient, clinician: User, organisation: Organisation, reason: str, reason_text: str
) -> EmergencyAccess:
    """Record the reason and open the crisis summary to this clinician for 24 hours."""
    now = utcnow()
    access = EmergencyAccess(
        patient_id=patient.id,
        clinician_id=clinician.id,
        organisation_id=organisation.id,
        reason=reason,
        reason_text=reason_text,
        expires_at=now + EMERGENCY_ACCESS_LENGTH,
    )
    db.session.add(access)
    db.session.flush()
    audit.record(
        "emergency.open",
        patient.id,
        f"emergency {access.id} {reason}",
        organisation_id=organisation.id,
    )
    db.session.commit()
    return access


def set_emergency_access(patient: Patient, allow: bool) -> bool:
    """The patient turns urgent care's emergency access on or off; False if unchanged."""
    if patient.emergency_access == allow:
        return False
    patient.emergency_access = allow
    audit.record("emergency.allow" if allow else "emergency.refuse", patient.id)
    db.session.commit()
    return True

