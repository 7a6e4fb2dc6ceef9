from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.organisation import Organisation
from portal.models.user import User


class AuditEvent(Base):
    """Append-only record of every view and change of plan content, and of sign-in events."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_patient_time", "patient_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(String(200), default="")
    # The organisation the actor acted for, named on the patient's activity page.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))

    actor: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
