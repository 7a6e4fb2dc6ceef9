"""The practice's long-term-conditions register: who is on it, and each import of it.

The register is the denominator of the commissioner's report, so a person who leaves it is
marked (``left_on``), never deleted: their plan and history stay, read-only.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of, utcnow
from portal.models.organisation import Organisation
from portal.models.patient import Patient
from portal.models.user import User


class ImportStatus(StrEnum):
    CHECKING = "checking"  # uploaded: a worker is checking it (the preview)
    PREVIEWED = "previewed"  # checked, nothing written yet: waiting to be confirmed
    IMPORTING = "importing"  # confirmed: a worker is importing it
    COMPLETED = "completed"
    FAILED = "failed"


class RegisterEntry(Base):
    """One person's place on a practice register (the practice is ``Patient.organisation``)."""

    __tablename__ = "register_entries"
    __table_args__ = (Index("ix_register_entries_left_on", "left_on"),)

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    registered_on: Mapped[date]
    # A plan meeting the requirements was already in place, last reviewed that day (baseline).
    existing_plan_reviewed_on: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(40))
    postcode: Mapped[str | None] = mapped_column(String(10))
    left_on: Mapped[date | None]  # missing from a later import: off the register
    # Digest of the row as last imported: the same row again changes nothing.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()


class RegisterImport(TimestampMixin, Base):
    """One file brought in for one organisation: its counts, and the file while it waits.

    ``stored_as`` names the uploaded copy kept between the preview and the confirmation; it
    is removed once the import is done.
    """

    __tablename__ = "register_imports"
    __table_args__ = (one_of("status", ImportStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    columns: Mapped[str] = mapped_column(Text, default="[]")  # the file's header, JSON
    stored_as: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.PREVIEWED)
    problem: Mapped[str | None] = mapped_column(Text)  # why the whole file was refused
    rows: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    transferred: Mapped[int] = mapped_column(default=0)  # of ``updated``: from another practice
    unchanged: Mapped[int] = mapped_column(default=0)
    left: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    uploaded_by: Mapped[User | None] = relationship()


class RegisterRejection(Base):
    """A row an import could not take, kept so the practice can download, correct and resend.

    ``cells`` is the row as read (JSON list), or empty when the line could not be read at all.
    """

    __tablename__ = "register_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("register_imports.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    cells: Mapped[str] = mapped_column(Text, default="")


class OfferMethod(StrEnum):
    LETTER = "letter"
    PHONE = "phone"
    FACE_TO_FACE = "face_to_face"
    PORTAL = "portal"


class OfferOutcome(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"


class PlanOffer(TimestampMixin, Base):
    """A care plan offered to a person on the register, and their answer once known.

    The latest offer is the person's state (none: not yet offered). After a decline or no
    response a new offer is made at the next annual cycle; earlier offers are kept.
    """

    __tablename__ = "plan_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    offered_on: Mapped[date]
    method: Mapped[str] = mapped_column(String(20))
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_on: Mapped[date | None]
    declined_reason: Mapped[str | None] = mapped_column(Text)

    offered_by: Mapped[User | None] = relationship()


class CodeChannel(StrEnum):
    LETTER = "letter"
    EMAIL = "email"


class ActivationCode(TimestampMixin, Base):
    """A single-use code a patient types to create their account, stored only as a keyed hash.

    Issuing a new code revokes the earlier ones; a code expires after ``ACTIVATION_DAYS``.
    """

    __tablename__ = "activation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class TrajectoryTarget(Base):
    """A monthly uptake target set by a commissioner; it holds until the next one set.

    With none set, the report uses the trajectory of Appendix 2.
    """

    __tablename__ = "trajectory_targets"

    month: Mapped[date] = mapped_column(primary_key=True)  # first day of the month
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
