"""Conversations between a patient (or their carer) and the care team about the plan.

Contract requirement 7 offers every patient a named contact to discuss their plan with, as a
documented two-way dialogue: the messages are kept with the plan, in the language each person
wrote them in.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of, utcnow
from portal.models.patient import Patient
from portal.models.user import User

MESSAGE_LIMIT = 2000
SUBJECT_LIMIT = 120
OUTCOME_LIMIT = 500


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AboutKind(StrEnum):
    """The part of the plan a conversation is about (``NONE``: the plan in general)."""

    NONE = "none"
    GOAL = "goal"
    SECTION = "section"
    CRISIS_STEP = "crisis_step"
    RESULT = "result"


class WrittenAs(StrEnum):
    """How the author stood to the patient when they wrote, kept as it was then."""

    PATIENT = "patient"
    CARER = "carer"
    PROFESSIONAL = "professional"


class Conversation(TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_inbox", "status", "urgent", "awaiting_reply_since"),
        one_of("about_kind", AboutKind),
        one_of("status", ConversationStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(String(SUBJECT_LIMIT))
    about_kind: Mapped[str] = mapped_column(String(20), default=AboutKind.NONE)
    about_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default=ConversationStatus.OPEN)
    # The patient's side wrote last and nobody in the care team has answered since then.
    awaiting_reply_since: Mapped[datetime | None]
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    urgent: Mapped[bool] = mapped_column(default=False)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_language: Mapped[str | None] = mapped_column(String(10))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship()
    started_by: Mapped[User] = relationship(foreign_keys=[started_by_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    messages: Mapped[list["Message"]] = relationship(
        back_populates="conversation", order_by="(Message.created_at, Message.id)"
    )

    @property
    def is_open(self) -> bool:
        return self.status == ConversationStatus.OPEN


class Message(TimestampMixin, Base):
    __tablename__ = "conversation_messages"
    __table_args__ = (one_of("written_as", WrittenAs),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    written_as: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(10))

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()


# The conversations a review meeting's record refers to, chosen by the professional recording
# it: the documented two-way dialogue between meetings, kept with what was agreed.
meeting_conversations = Table(
    "meeting_conversations",
    Base.metadata,
    Column("meeting_id", ForeignKey("review_meetings.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "conversation_id",
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)
