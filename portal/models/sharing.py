"""Consent to share with the care team, and grants to carers and family."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of
from portal.models.patient import Patient
from portal.models.user import User


class Scope(StrEnum):
    CRISIS = "crisis"  # crisis page and crisis sheet only
    VIEW = "view"  # the whole plan
    CONTRIBUTE = "contribute"  # view, and propose changes


class AccessGrant(TimestampMixin, Base):
    """A patient's grant to a carer. Starts as an invitation (hashed single-use token)."""

    __tablename__ = "access_grants"
    __table_args__ = (one_of("scope", Scope),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    grantee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    invited_email: Mapped[str] = mapped_column(String(254))
    relationship_to_patient: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str | None] = mapped_column(String(10))  # of the relationship words
    # The language the patient chose for the invitation email (and the carer's first pages).
    invitation_language: Mapped[str | None] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invitation_expires_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    expires_on: Mapped[date | None]
    revoked_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    grantee: Mapped[User | None] = relationship(foreign_keys=[grantee_id])
    patient: Mapped[Patient] = relationship()


class ConsentMethod(StrEnum):
    """How a consent decision reached the portal."""

    ONLINE = "online"  # the patient chose in the portal
    IN_PERSON = "in_person"  # told a professional, who recorded it
    PAPER = "paper"  # signed a paper form, recorded by a professional


class ConsentRecord(TimestampMixin, Base):
    """Each consent decision is kept; the latest is mirrored on ``Patient.care_team_consent``."""

    __tablename__ = "consent_records"
    __table_args__ = (one_of("method", ConsentMethod),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    share_with_care_team: Mapped[bool]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(
        String(20), default=ConsentMethod.ONLINE, server_default=ConsentMethod.ONLINE.value
    )
