"""Organisations beyond the practice: staff in several, care team access, emergency access."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of
from portal.models.organisation import Organisation
from portal.models.sharing import ConsentMethod, Scope
from portal.models.user import User


class StaffMembership(TimestampMixin, Base):
    """A professional working for an organisation besides the one on their account.

    Leaving sets ``left_at``: the organisation's patients are closed to them on the next request.
    """

    __tablename__ = "staff_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    left_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()


class MembershipStatus(StrEnum):
    PROPOSED = "proposed"  # the practice asked; the patient has not agreed yet
    ACTIVE = "active"  # agreed: the team or person has access with its scope
    ENDED = "ended"  # ended by the patient or the practice, or declined; kept as history


class CareTeamMembership(TimestampMixin, Base):
    """A team (an organisation) or one professional in it, with access to a patient's plan.

    Unlike the names typed into the plan's care team list, a membership opens the plan to the
    people it names, with a scope, once the patient has agreed.
    """

    __tablename__ = "care_team_memberships"
    __table_args__ = (
        one_of("scope", Scope),
        one_of("status", MembershipStatus),
        one_of("consent_method", ConsentMethod),
        Index("ix_care_team_memberships_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # None: the whole team of the organisation; otherwise this one professional in it.
    professional_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=MembershipStatus.PROPOSED)
    ends_on: Mapped[date | None]
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agreed_at: Mapped[datetime | None]
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_method: Mapped[str | None] = mapped_column(String(20))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship()
    professional: Mapped[User | None] = relationship(foreign_keys=[professional_id])

    def in_force(self, today: date) -> bool:
        return self.status == MembershipStatus.ACTIVE and (
            self.ends_on is None or self.ends_on >= today
        )


class EmergencyReason(StrEnum):
    CALLED_TO_ATTEND = "called_to_attend"  # attending the patient now
    CALL_ABOUT_PATIENT = "call_about_patient"  # a 111 or out-of-hours call about them
    CANNOT_COMMUNICATE = "cannot_communicate"  # the patient cannot tell us themselves
    OTHER = "other"  # in the clinician's own words


class EmergencyAccess(TimestampMixin, Base):
    """An urgent-care clinician opened a patient's crisis summary, with a reason, for 24 hours."""

    __tablename__ = "emergency_accesses"
    __table_args__ = (
        one_of("reason", EmergencyReason),
        Index("ix_emergency_accesses_patient_clinician", "patient_id", "clinician_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(String(30))
    reason_text: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime]

    organisation: Mapped[Organisation] = relationship()
