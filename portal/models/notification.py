"""The notification outbox, and each person's choice of channel per kind of message.

A row is written in the same transaction as the change that causes it, so a message is never
lost when the broker or the mail server is down, and never sent for a change that was rolled
back. Rows carry no health detail: the text is built at delivery, in the recipient's language,
from ``kind`` and a few non-clinical ``params``.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin, one_of


class NotificationKind(StrEnum):
    CRISIS_CHANGED = "crisis_changed"  # to the named contact and carers, at once
    NAMED_CONTACT_REQUEST = "named_contact_request"  # to the named contact
    REVIEW_REMINDER = "review_reminder"  # to the patient, 8 and 2 weeks before
    MEETING_BOOKED = "meeting_booked"
    MEETING_MOVED = "meeting_moved"
    PLAN_AGREED = "plan_agreed"
    RESULTS_SHARED = "results_shared"  # to the patient: results to read before the review
    INVITATION_ACCEPTED = "invitation_accepted"  # to the patient: someone now has access
    ACCESS_CHANGED = "access_changed"  # to the carer
    ACCESS_ENDED = "access_ended"  # to the carer
    CONVERSATION_MESSAGE = "conversation_message"  # to the other side of a conversation
    EMERGENCY_ACCESS = "emergency_access"  # to the named contact: urgent care opened the plan
    PROPOSALS_WAITING = "proposals_waiting"  # to the named contact: a morning digest, a count
    NEW_PATIENT_DUE = "new_patient_due"  # to the care team: a new patient nears day 28, no plan
    # Password, address and two-step changes, reset and set-up links: always sent, by email.
    ACCOUNT_SECURITY = "account_security"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    NONE = "none"  # a preference only: no message of this kind


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for a worker (or for its retry time)
    SENDING = "sending"  # claimed by one worker
    SENT = "sent"
    FAILED = "failed"  # given up: shown to staff as "we could not reach this person"


class Notification(TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        one_of("kind", NotificationKind),
        one_of("channel", Channel),
        one_of("status", NotificationStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: the same message is never queued twice; also the Message-ID / Notify reference.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The patient the message is about, for "we could not reach this patient".
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))


class NotificationPreference(Base):
    """How one person wants one kind of message; no row means the default (email)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind"),
        one_of("kind", NotificationKind),
        one_of("channel", Channel),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
