"""Conversations about the plan: starting, replying, closing, the team inbox.

Every change writes an audit event and flushes; the view commits. Messages are stored as
written (after neutralising invisible direction controls) with the language they were
written in, and never translated.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload

from portal import audit
from portal.extensions import db
from portal.labels import CRISIS_LEVELS, DOMAINS
from portal.models import (
    AboutKind,
    CarePlan,
    Conversation,
    ConversationStatus,
    CrisisStep,
    Goal,
    Message,
    NeedsSection,
    Patient,
    PlanVersion,
    ReviewMeeting,
    SharedResult,
    User,
    WrittenAs,
    meeting_conversations,
)
from portal.models.base import utcnow
from portal.pagination import Page, paginate
from portal.permissions import Relation, professional_patients

# No flooding: at most this many messages from a patient or carer in an hour, and this many
# new conversations in a day (counted in the database, so every worker counts alike). The care
# team answering many patients is not limited.
MESSAGES_PER_HOUR = 20
CONVERSATIONS_PER_DAY = 10
INBOX_PAGE_SIZE = 25

# Direction overrides, embeddings and isolates, and invisible characters with no place in a
# message: they can make text display in another order than it was written ("Trojan source").
# The zero-width joiner and non-joiner stay: Urdu, Bengali and other scripts need them.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f\u2060\ufeff\u00ad]")


def neutralise(text: str) -> str:
    """Text as it will be kept: NFC, no direction controls or invisible characters."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).strip()


def written_as(relation: Relation) -> WrittenAs:
    if relation == Relation.OWNER:
        return WrittenAs.PATIENT
    if relation == Relation.PROFESSIONAL:
        return WrittenAs.PROFESSIONAL
    return WrittenAs.CARER


# --------------------------------------------------------------------------- #
# What a conversation is about
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PlanItem:
    kind: AboutKind
    id: int
    label: str

    @property
    def ref(self) -> str:
        return f"{self.kind.value}-{self.id}"


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plan_items(patient_id: int) -> list[PlanItem]:
    """The parts of the patient's plan a conversation can be about, in plan order."""
    plan_id = db.session.scalar(select(CarePlan.id).where(CarePlan.patient_id == patient_id))
    if plan_id is None:
        return []
    items: list[PlanItem] = []
    for goal in db.session.scalars(select(Goal).where(Goal.plan_id == plan_id).order_by(Goal.id)):
        items.append(PlanItem(AboutKind.GOAL, goal.id, _excerpt(goal.title)))
    sections = db.session.scalars(
        select(NeedsSection).where(NeedsSection.plan_id == plan_id).order_by(NeedsSection.id)
    )
    for section in sections:
        items.append(PlanItem(AboutKind.SECTION, section.id, str(DOMAINS.get(section.domain, ""))))
    steps = db.session.scalars(
        select(CrisisStep)
        .where(CrisisStep.plan_id == plan_id)
        .order_by(CrisisStep.position, CrisisStep.id)
    )
    for step in steps:
        level = CRISIS_LEVELS.get(step.level, "")
        items.append(PlanItem(AboutKind.CRISIS_STEP, step.id, f"{level}: {_excerpt(step.signs)}"))
    results = db.session.scalars(
        select(SharedResult).where(SharedResult.plan_id == plan_id).order_by(SharedResult.id)
    )
    for result in results:
        items.append(PlanItem(AboutKind.RESULT, result.id, _excerpt(result.name)))
    return items


def find_item(patient_id: int, ref: str | None) -> PlanItem | None:
    """The plan item named by ``ref`` ("goal-12"), only if it is part of this patient's plan."""
    if not ref:
        return None
    return next((item for item in plan_items(patient_id) if item.ref == ref), None)


def about_labels(conversations: list[Conversation]) -> dict[int, str | None]:
    """What each conversation is about, in words; None for the plan in general.

    An item since removed from the plan reads as such, so the conversation still makes sense.
    """
    by_patient: dict[int, dict[str, PlanItem]] = {}
    labels: dict[int, str | None] = {}
    for conversation in conversations:
        if conversation.about_kind == AboutKind.NONE or conversation.about_id is None:
            labels[conversation.id] = None
            continue
        items = by_patient.setdefault(
            conversation.patient_id,
            {item.ref: item for item in plan_items(conversation.patient_id)},
        )
        item = items.get(f"{conversation.about_kind}-{conversation.about_id}")
        labels[conversation.id] = item.label if item else ""
    return labels


# Built once: the plan page runs it on every request (see ``portal.loading``).
_COUNTS_BY_ITEM = (
    select(Conversation.about_kind, Conversation.about_id, func.count())
    .where(
        Conversation.patient_id == bindparam("patient_id"),
        Conversation.about_kind != AboutKind.NONE,
    )
    .group_by(Conversation.about_kind, Conversation.about_id)
)


def counts_by_item(patient_id: int) -> dict[str, int]:
    """How many conversations there are about each plan item, by ``PlanItem.ref``."""
    rows = db.session.execute(_COUNTS_BY_ITEM, {"patient_id": patient_id})
    return {f"{AboutKind(kind).value}-{item_id}": n for kind, item_id, n in rows}


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def for_patient(patient_id: int) -> list[Conversation]:
    """The patient's conversations, open ones first, most recent first."""
    return list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.patient_id == patient_id)
            .options(joinedload(Conversation.started_by))
            .order_by(
                (Conversation.status == ConversationStatus.OPEN).desc(),
                Conversation.last_message_at.desc(),
                Conversation.id.desc(),
            )
        )
    )


def get(patient_id: int, conversation_id: int) -> Conversation | None:
    """One conversation of this patient with its messages; None for another patient's id."""
    return db.session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.patient_id == patient_id)
        .options(
            selectinload(Conversation.messages).joinedload(Message.author),
            joinedload(Conversation.handler),
            joinedload(Conversation.closed_by),
        )
    )


def since(patient_id: int, day: date | None) -> list[Conversation]:
    """Conversations with a message since ``day`` (all of them when there was no meeting)."""
    query = select(Conversation).where(Conversation.patient_id == patient_id)
    if day is not None:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        query = query.where(Conversation.last_message_at >= start)
    return list(db.session.scalars(query.order_by(Conversation.last_message_at.desc())))


@dataclass(frozen=True)
class TalkedAbout:
    """A review meeting whose record refers to a conversation."""

    held_on: date | None
    version: int | None  # the plan version the meeting agreed


def meetings_about(conversation_id: int) -> list[TalkedAbout]:
    """The review meetings that talked about this conversation, earliest first."""
    rows = db.session.execute(
        select(ReviewMeeting.held_on, PlanVersion.number)
        .join(meeting_conversations, meeting_conversations.c.meeting_id == ReviewMeeting.id)
        .outerjoin(PlanVersion, PlanVersion.id == ReviewMeeting.plan_version_id)
        .where(meeting_conversations.c.conversation_id == conversation_id)
        .order_by(ReviewMeeting.held_on, ReviewMeeting.id)
    )
    return [TalkedAbout(held_on, number) for held_on, number in rows]


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


class TooManyMessages(Exception):
    """The person has written more than the limit allows in the last while."""


def _check_rate(user: User, new_conversation: bool) -> None:
    now = utcnow()
    written = db.session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.author_id == user.id, Message.created_at >= now - timedelta(hours=1))
    )
    if written >= MESSAGES_PER_HOUR:
        raise TooManyMessages
    if new_conversation:
        started = db.session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.started_by_id == user.id,
                Conversation.created_at >= now - timedelta(days=1),
            )
        )
        if started >= CONVERSATIONS_PER_DAY:
            raise TooManyMessages


def _add_message(
    conversation: Conversation, user: User, relation: Relation, body: str, language: str
) -> None:
    now = utcnow()
    author_side = written_as(relation)
    db.session.add(
        Message(
            conversation=conversation,
            author_id=user.id,
            written_as=author_side,
            body=neutralise(body),
            language=language,
            created_at=now,
        )
    )
    conversation.last_message_at = now
    if author_side == WrittenAs.PROFESSIONAL:
        conversation.awaiting_reply_since = None
    elif conversation.awaiting_reply_since is None:
        conversation.awaiting_reply_since = now


def start(
    patient: Patient,
    user: User,
    relation: Relation,
    subject: str,
    body: str,
    about: PlanItem | None,
    language: str,
) -> Conversation:
    """A new conversation with its first message, written in ``language``."""
    if relation != Relation.PROFESSIONAL:
        _check_rate(user, new_conversation=True)
    conversation = Conversation(
        patient_id=patient.id,
        started_by_id=user.id,
        subject=neutralise(subject),
        about_kind=about.kind if about else AboutKind.NONE,
        about_id=about.id if about else None,
    )
    db.session.add(conversation)
    _add_message(conversation, user, relation, body, language)
    db.session.flush()
    audit.record("conversation.start", patient.id, f"conversation {conversation.id}")
    return conversation


class ConversationClosed(Exception):
    """The conversation was closed before this message was sent."""


def reply(
    conversation: Conversation, user: User, relation: Relation, body: str, language: str
) -> None:
    if not conversation.is_open:
        raise ConversationClosed
    if relation != Relation.PROFESSIONAL:
        _check_rate(user, new_conversation=False)
    _add_message(conversation, user, relation, body, language)
    db.session.flush()
    audit.record("conversation.reply", conversation.patient_id, f"conversation {conversation.id}")


def close(conversation: Conversation, user: User, outcome: str, language: str) -> None:
    conversation.status = ConversationStatus.CLOSED
    conversation.outcome = neutralise(outcome)
    conversation.outcome_language = language
    conversation.closed_by_id = user.id
    conversation.closed_at = utcnow()
    conversation.awaiting_reply_since = None
    conversation.urgent = False
    db.session.flush()
    audit.record("conversation.close", conversation.patient_id, f"conversation {conversation.id}")


def set_urgent(conversation: Conversation, urgent: bool) -> None:
    conversation.urgent = urgent
    db.session.flush()
    action = "conversation.urgent" if urgent else "conversation.not_urgent"
    audit.record(action, conversation.patient_id, f"conversation {conversation.id}")


def take_on(conversation: Conversation, user: User) -> None:
    conversation.handler_id = user.id
    db.session.flush()
    audit.record("conversation.take_on", conversation.patient_id, f"conversation {conversation.id}")


# --------------------------------------------------------------------------- #
# The team inbox
# --------------------------------------------------------------------------- #


def add_working_days(moment: datetime, days: int) -> datetime:
    """``moment`` moved on by ``days`` working days (Monday to Friday; bank holidays count)."""
    result = moment
    while days > 0:
        result += timedelta(days=1)
        if result.weekday() < 5:
            days -= 1
    return result


def reply_due(conversation: Conversation, working_days: int) -> datetime | None:
    """When the care team should have answered, or None when nobody is waiting."""
    if conversation.awaiting_reply_since is None:
        return None
    return add_working_days(conversation.awaiting_reply_since, working_days)


def is_overdue(conversation: Conversation, working_days: int, now: datetime | None = None) -> bool:
    due = reply_due(conversation, working_days)
    return due is not None and (now or utcnow()) > due


def inbox(user: User, page: int, mine: bool = False) -> Page:
    """Open conversations of the patients ``user`` cares for: urgent first, then those waiting
    longest for an answer, then the rest by latest message."""
    query = (
        select(Conversation)
        .join(Patient, Patient.id == Conversation.patient_id)
        .where(Conversation.status == ConversationStatus.OPEN, professional_patients(user))
        .order_by(
            Conversation.urgent.desc(),
            Conversation.awaiting_reply_since.is_(None),
            Conversation.awaiting_reply_since,
            Conversation.last_message_at.desc(),
            Conversation.id,
        )
    )
    if mine:
        query = query.where(Conversation.handler_id == user.id)
    return paginate(
        query,
        page,
        INBOX_PAGE_SIZE,
        joinedload(Conversation.patient),
        joinedload(Conversation.handler),
    )
