"""The professional's side of the review cycle.

Between meetings the patient and carers change the plan as *proposals* (``pending_review``).
At the review meeting the professional agrees, amends or declines each one with the patient;
recording the meeting then snapshots the agreed plan as a new ``PlanVersion`` and sets the next
review date.

Declining restores the agreed text from the last version. A proposal that was never agreed is
removed, except a goal: a declined new goal is kept as ``withdrawn`` (off the plan, but the
patient's words and the audit trail still point at a real goal).
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import audit
from portal.contingency.services import mark_crisis_reviewed
from portal.editing import check_version, conflict_on, one_transaction
from portal.extensions import db
from portal.i18n import current_language
from portal.loading import REVIEW_PLAN, load_for
from portal.meetings.summary import next_meeting
from portal.models import (
    CarePlan,
    Conversation,
    Goal,
    GoalStatus,
    MeetingStatus,
    Patient,
    PlanVersion,
    Preparation,
    ReviewMeeting,
    Role,
    SharedResult,
    User,
)
from portal.models.base import utcnow
from portal.sections import SECTIONS
from portal.versions.services import (
    FIELDS,
    READ_LATEST,
    FieldChange,
    create_version,
    diff_fields,
    item_key,
    item_values,
    latest_version,
)

USUAL_INTERVAL = 12  # months between reviews
COMPLEX_INTERVAL = 6  # months, when the patient has complex needs
INTERVAL_CHOICES = (3, 6, 9, 12)
MEETING_LENGTH = timedelta(minutes=30)  # as booked in the calendar file

# The proposal kinds, in the order the review page shows them, with their model and the
# fields a professional may amend.
KINDS: dict[str, type] = {section.key: section.model for section in SECTIONS}
AMENDABLE: dict[str, tuple[str, ...]] = {section.key: section.amendable for section in SECTIONS}
# Audit names for each kind (``goal.agree``, ``needs_section.decline``...).
AUDIT_NAMES = {section.key: section.review_audit_name for section in SECTIONS}


# --- loading ---------------------------------------------------------------------------


def review_plan(patient_id: int) -> CarePlan | None:
    """The plan with every collection and every proposer loaded, in a fixed number of queries."""
    return load_for(REVIEW_PLAN, patient_id)


def open_preparation(plan_id: int) -> Preparation | None:
    """The patient's preparation for the next meeting (not yet attached to a meeting)."""
    return db.session.scalars(
        select(Preparation)
        .where(Preparation.plan_id == plan_id, Preparation.meeting_id.is_(None))
        .order_by(Preparation.id.desc())
        .limit(1)
    ).first()


def shared_results(plan_id: int) -> list[SharedResult]:
    return list(
        db.session.scalars(
            select(SharedResult)
            .where(SharedResult.plan_id == plan_id)
            .order_by(SharedResult.taken_on.desc(), SharedResult.id.desc())
        )
    )


# --- proposals -------------------------------------------------------------------------


@dataclass
class Proposal:
    """One pending change, beside the agreed text it would replace."""

    kind: str
    item: Any
    before: dict | None  # as agreed in the last version; None if never agreed
    after: dict  # as proposed now
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}_{self.item.id}"

    @property
    def item_key(self) -> str:
        return item_key(self.kind, self.item)

    @property
    def is_new(self) -> bool:
        return self.before is None

    @property
    def is_withdrawal(self) -> bool:
        return self.kind == "goals" and self.item.status == GoalStatus.WITHDRAWN

    @property
    def amendable(self) -> tuple[str, ...]:
        return () if self.is_withdrawal else AMENDABLE[self.kind]


def _items(plan: CarePlan, kind: str) -> list:
    if kind == "usual_state":
        return [plan.usual_state] if plan.usual_state else []
    return list(getattr(plan, kind))


def proposals(plan: CarePlan, agreed: dict | None) -> list[Proposal]:
    """Every item waiting for review, with what changed since the agreed snapshot."""
    agreed = agreed or {}
    found = []
    for kind in KINDS:
        for item in _items(plan, kind):
            if not item.pending_review:
                continue
            if kind == "usual_state":
                before = agreed.get("usual_state")
            else:
                before = (agreed.get(kind) or {}).get(item_key(kind, item))
            after = item_values(kind, item)
            found.append(Proposal(kind, item, before, after, diff_fields(kind, before, after)))
    return found


# --- recording the meeting -------------------------------------------------------------


def goals_to_close(plan: CarePlan) -> list[Goal]:
    """Agreed goals with no change waiting: at the meeting each is carried on or closed as
    achieved or not achieved."""
    return [g for g in plan.goals if g.status == GoalStatus.AGREED and not g.pending_review]


@dataclass
class Decision:
    choice: str  # agree / amend / decline
    amended: dict = field(default_factory=dict)  # field -> the professional's text


@dataclass
class MeetingDetails:
    held_on: date
    attendees: str
    notes: str
    patient_feedback: str
    complex_needs: bool
    interval_months: int | None  # None: the usual interval for the patient's needs
    crisis_reviewed: bool = False  # the professional said the crisis plan was gone through
    next_review_on: date | None = None  # a date chosen instead of an interval
    held_by: str | None = None  # MeetingMode
    interpreter_used: bool = False
    conversation_ids: tuple[int, ...] = ()  # the patient's conversations talked about


class MeetingConflict(Exception):
    """The plan or a proposal changed after the form was opened; nothing was saved.

    ``changed`` lists the proposal keys whose text changed (or that are new since), so the
    form can ask for a fresh decision on just those.
    """

    def __init__(self, reason: str, changed: list[str] | None = None):
        super().__init__(reason)
        self.reason = reason  # "meeting": someone else recorded a meeting; "proposals"
        self.changed = changed or []


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, or the last day of a shorter month (31 Aug + 6 = 28/29 Feb)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_interval(complex_needs: bool, chosen: int | None) -> int:
    """Annual by default, six-monthly for complex needs, unless the professional chose."""
    if chosen:
        return chosen
    return COMPLEX_INTERVAL if complex_needs else USUAL_INTERVAL


def check_versions(
    plan: CarePlan, found: list[Proposal], seen_agreed: int | None, seen: dict[str, int | None]
) -> None:
    """Refuse a form opened before another meeting was recorded or a proposal changed."""
    if seen_agreed != plan.agreed_version:
        raise MeetingConflict("meeting")
    changed = [p.key for p in found if seen.get(p.key) != p.item.version]
    if changed:
        raise MeetingConflict("proposals", changed)


def _agree(p: Proposal, user: User, now: datetime) -> None:
    p.item.pending_review = False
    if p.kind == "goals" and p.item.status != GoalStatus.WITHDRAWN:
        if p.item.status == GoalStatus.PROPOSED:
            p.item.status = GoalStatus.AGREED
        p.item.agreed_by_id = user.id
        p.item.agreed_at = now


def _restore(p: Proposal, user: User) -> None:
    """Put back the agreed text from the last version."""
    for name in FIELDS[p.kind]:
        value = p.before.get(name)
        if name == "target_date":
            value = date.fromisoformat(value) if value else None
        elif value is None:
            value = ""
        setattr(p.item, name, value)
    p.item.language = p.before.get("language")
    p.item.pending_review = False
    p.item.updated_by_id = user.id


def apply_decision(
    p: Proposal, decision: Decision, user: User, now: datetime, patient_id: int
) -> None:
    action = decision.choice
    if action == "amend" and p.amendable:
        for name in p.amendable:
            if name in decision.amended:
                setattr(p.item, name, decision.amended[name])
        # Amended copy usually stays in the patient's language (and script); a professional
        # writing into an item that had none marks it with their own.
        p.item.language = p.item.language or current_language()
        p.item.updated_by_id = user.id
        _agree(p, user, now)
    elif action == "decline":
        if p.before is not None:
            _restore(p, user)
        elif p.kind == "goals":
            p.item.status = GoalStatus.WITHDRAWN
            p.item.pending_review = False
            p.item.updated_by_id = user.id
        else:
            db.session.delete(p.item)
    else:
        action = "agree"
        _agree(p, user, now)
    name = AUDIT_NAMES[p.kind]
    audit.record(f"{name}.{action}", patient_id, f"{name} {p.item.id}")


def _refer_to_conversations(meeting: ReviewMeeting, patient_id: int, ids) -> str | None:
    """The meeting's record refers to these conversations (only this patient's): the audit
    detail's numbers if that changed what it referred to, else ``None``. Set before the
    meeting is first flushed: a new meeting's list is then known to be empty, not read."""
    chosen = (
        list(
            db.session.scalars(
                select(Conversation)
                .where(Conversation.id.in_(ids), Conversation.patient_id == patient_id)
                .order_by(Conversation.id)
            )
        )
        if ids
        else []
    )
    if [c.id for c in chosen] == [c.id for c in meeting.conversations]:
        return None
    meeting.conversations = chosen
    return ", ".join(str(c.id) for c in chosen) or "none"


def booking_held(plan_id: int, held_on: date) -> ReviewMeeting | None:
    """The booked meeting that this record is of: one booked for the day it was held or
    before. A booking for a later day is a future appointment and stays booked."""
    booked = next_meeting(plan_id)
    if booked is None:
        return None
    if booked.scheduled_for is not None and to_local(booked.scheduled_for).date() > held_on:
        return None
    return booked


def record_meeting(
    plan: CarePlan,
    user: User,
    details: MeetingDetails,
    decisions: dict[str, Decision],
    seen_agreed: int | None,
    seen_versions: dict[str, int | None],
    outcomes: dict[int, GoalStatus] | None = None,
    previous: PlanVersion | None | object = READ_LATEST,
) -> tuple[ReviewMeeting, PlanVersion]:
    """Apply every decision and goal outcome, record the meeting, snapshot the agreed plan;
    commits. ``previous``: the latest version, when the caller has read it already.

    Raises ``MeetingConflict``, with nothing saved, when someone else got there first: a
    stale form is refused up front, and a write that slips in before ours is caught by the
    plan's and the items' version columns (and the unique version number).

    Everything is written in one flush before the commit's: the snapshot is built from the
    rows as decided in memory (without those a decline deletes), and the meeting is inserted
    with its version's id rather than updated with it afterwards.
    """
    patient_id = plan.patient_id
    if previous is READ_LATEST:
        previous = latest_version(plan.id)
    found = proposals(plan, previous.snapshot if previous else None)
    check_versions(plan, found, seen_agreed, seen_versions)
    outcomes = outcomes or {}
    closing = {g.id: g for g in goals_to_close(plan)}
    if set(outcomes) - set(closing):
        raise MeetingConflict("proposals")  # a goal that is no longer agreed as it was
    now = utcnow()
    with one_transaction(lambda _error: MeetingConflict("meeting")):
        for p in found:
            apply_decision(p, decisions[p.key], user, now, patient_id)
        for goal_id, status in outcomes.items():
            goal = closing[goal_id]
            goal.status = status
            goal.updated_by_id = user.id
            audit.record(f"goal.{status}", patient_id, f"goal {goal.id}")
        meeting = booking_held(plan.id, details.held_on) or ReviewMeeting(plan_id=plan.id)
        meeting.status = MeetingStatus.HELD
        meeting.held_on = details.held_on
        meeting.attendees = details.attendees
        meeting.notes = details.notes
        meeting.patient_feedback = details.patient_feedback
        meeting.held_by = details.held_by
        meeting.interpreter_used = details.interpreter_used
        meeting.recorded_by_id = user.id
        db.session.add(meeting)
        referred = _refer_to_conversations(meeting, patient_id, details.conversation_ids)

        interval = review_interval(details.complex_needs, details.interval_months)
        plan.patient_feedback = details.patient_feedback
        plan.complex_needs = details.complex_needs
        plan.review_interval_months = interval
        plan.last_review_date = details.held_on
        if details.crisis_reviewed:
            mark_crisis_reviewed(plan, user, details.held_on)
        plan.next_review_date = details.next_review_on or add_months(details.held_on, interval)
        with db.session.no_autoflush:  # nothing is written before the snapshot is taken
            version = create_version(plan, user, now, previous)
        meeting.plan_version = version
        db.session.flush()  # the plan's version check happens here
        if referred is not None:
            audit.record("meeting.conversations", patient_id, f"meeting {meeting.id}: {referred}")
        preparations = db.session.scalars(
            select(Preparation).where(
                Preparation.plan_id == plan.id, Preparation.meeting_id.is_(None)
            )
        ).all()
        for preparation in preparations:
            preparation.meeting_id = meeting.id
            audit.record("preparation.attach", patient_id, f"preparation {preparation.id}")
        audit.record("meeting.record", patient_id, f"meeting {meeting.id}")
        audit.record("plan_version.create", patient_id, f"version {version.number}")
    return meeting, version


# --- crisis changes between meetings -------------------------------------------------------

# The parts of the plan the crisis page and sheet show.
CRISIS_KINDS = ("crisis_steps", "contacts", "usual_state")


def crisis_proposals(plan: CarePlan, agreed: dict | None) -> list[Proposal]:
    """The changes to the crisis page waiting for review."""
    return [p for p in proposals(plan, agreed) if p.kind in CRISIS_KINDS]


def review_crisis_changes(
    plan: CarePlan,
    user: User,
    decisions: dict[str, Decision],
    seen_agreed: int | None,
    seen_versions: dict[str, int | None],
    crisis_reviewed: bool = False,
) -> PlanVersion:
    """Agree, amend or decline every crisis change waiting, without a meeting; commits.

    An unsafe instruction must not wait months for the next review, so a professional decides
    on crisis changes as soon as they see them. What is accepted becomes part of the agreed
    plan, so it is agreed as a new version: the crisis sheet never shows it under a version
    that did not agree it. The other proposals (goals, needs, wishes) still wait for the
    meeting. Raises ``MeetingConflict`` with nothing saved, as ``record_meeting`` does.
    """
    patient_id = plan.patient_id
    previous = latest_version(plan.id)
    found = crisis_proposals(plan, previous.snapshot if previous else None)
    check_versions(plan, found, seen_agreed, seen_versions)
    if not found or set(decisions) != {p.key for p in found}:
        raise MeetingConflict("proposals", [p.key for p in found])
    now = utcnow()
    with one_transaction(lambda _error: MeetingConflict("meeting")):
        for p in found:
            apply_decision(p, decisions[p.key], user, now, patient_id)
        if crisis_reviewed:
            mark_crisis_reviewed(plan, user, local_today())
        db.session.flush()
        db.session.expire(plan, [*CRISIS_KINDS])  # without the rows a decline removed
        version = create_version(plan, user, now)
        db.session.flush()  # the plan's version check happens here
        audit.record("contingency.changes_review", patient_id, f"version {version.number}")
    return version


# --- scheduling and the calendar file ----------------------------------------------------


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_utc(day: date, at: time) -> datetime:
    """A wall-clock time at the practice (Europe/London) as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=local_zone()).astimezone(ZoneInfo("UTC"))


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def local_today() -> date:
    return datetime.now(local_zone()).date()


def record_did_not_attend(plan: CarePlan, user: User) -> ReviewMeeting | None:
    """The patient did not come to the booked meeting; commits. None if none was booked.

    The plan is not touched: nothing was agreed, and the review is still due."""
    meeting = next_meeting(plan.id)
    if meeting is None:
        return None
    meeting.status = MeetingStatus.DID_NOT_ATTEND
    meeting.held_on = local_today()
    meeting.recorded_by_id = user.id
    audit.record("meeting.did_not_attend", plan.patient_id, f"meeting {meeting.id}")
    db.session.commit()
    return meeting


def schedule_meeting(plan: CarePlan, user: User, when: datetime, location: str) -> ReviewMeeting:
    """Book the next meeting, or move the one already booked; commits."""
    meeting = next_meeting(plan.id)
    verb = "reschedule" if meeting else "schedule"
    if meeting is None:
        meeting = ReviewMeeting(plan_id=plan.id, status=MeetingStatus.SCHEDULED)
        db.session.add(meeting)
    meeting.scheduled_for = when
    meeting.location = location
    meeting.recorded_by_id = user.id
    db.session.flush()
    audit.record(f"meeting.{verb}", plan.patient_id, f"meeting {meeting.id}")
    db.session.commit()
    return meeting


# --- results and the named contact -----------------------------------------------------


def share_result(plan: CarePlan, user: User, name, value, taken_on, explanation) -> SharedResult:
    result = SharedResult(
        plan_id=plan.id,
        name=name,
        value=value,
        taken_on=taken_on,
        explanation=explanation,
        shared_by_id=user.id,
    )
    db.session.add(result)
    db.session.flush()
    audit.record("result.share", plan.patient_id, f"result {result.id}")
    db.session.commit()
    return result


def remove_result(plan: CarePlan, result: SharedResult) -> None:
    audit.record("result.remove", plan.patient_id, f"result {result.id}")
    db.session.delete(result)
    db.session.commit()


def named_contact_choices(patient: Patient) -> list[User]:
    """Active professionals of the patient's organisation: who may be the named contact."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.role == Role.PROFESSIONAL,
                User.active.is_(True),
                User.organisation_id == patient.organisation_id,
            )
            .options(joinedload(User.organisation))
            .order_by(User.display_name, User.id)
        )
    )


def change_named_contact(plan: CarePlan, contact: User) -> None:
    """A new named contact answers any request the patient made for one; commits."""
    plan.named_contact_id = contact.id
    plan.named_contact_request = None
    plan.named_contact_requested_at = None
    audit.record("named_contact.change", plan.patient_id, f"user {contact.id}")
    db.session.commit()


def request_named_contact(plan: CarePlan, reason: str, seen_version: int | None) -> None:
    """Send or change the request; ``EditConflict`` if the plan changed since the form opened."""
    fields = ["named_contact_request"]
    check_version(plan, seen_version, fields)
    with one_transaction(conflict_on(plan, fields)):
        plan.named_contact_request = reason
        plan.named_contact_requested_at = utcnow()
        db.session.flush()
        audit.record("named_contact.request", plan.patient_id, "named contact request")
