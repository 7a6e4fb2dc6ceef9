"""Review meetings and the immutable snapshots of what was agreed at them."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of
from portal.models.user import User


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"  # booked, not yet recorded
    HELD = "held"  # recorded: the plan was agreed at it
    DID_NOT_ATTEND = "did_not_attend"  # the patient did not come to a booked meeting


class MeetingMode(StrEnum):
    """How a review meeting was held."""

    FACE_TO_FACE = "face_to_face"
    PHONE = "phone"
    VIDEO = "video"


class ReviewMeeting(TimestampMixin, Base):
    __tablename__ = "review_meetings"
    __table_args__ = (one_of("status", MeetingStatus), one_of("held_by", MeetingMode))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.SCHEDULED)
    scheduled_for: Mapped[datetime | None]
    location: Mapped[str] = mapped_column(String(200), default="")
    held_on: Mapped[date | None]
    attendees: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    patient_feedback: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    plan_version_id: Mapped[int | None] = mapped_column(ForeignKey("plan_versions.id"))
    held_by: Mapped[str | None] = mapped_column(String(20))  # MeetingMode
    interpreter_used: Mapped[bool] = mapped_column(default=False, server_default=false())

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    # The version the meeting agreed: set with the new version, so both are written in one
    # flush (the version first) rather than the meeting updated afterwards.
    plan_version: Mapped["PlanVersion | None"] = relationship(foreign_keys=[plan_version_id])
    # The conversations talked about at the meeting (``meeting_conversations``).
    conversations: Mapped[list["Conversation"]] = relationship(  # noqa: F821
        secondary="meeting_conversations", order_by="Conversation.id"
    )


class PlanVersion(Base):
    """The agreed plan as it stood at one agreement. Never updated once written."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    number: Mapped[int]
    snapshot: Mapped[dict] = mapped_column(JSON)
    agreed_at: Mapped[datetime]
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    agreed_by: Mapped[User | None] = relationship()
