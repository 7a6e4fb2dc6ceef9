"""The open preparation for the next review, saving it safely, and what is left to do.

A plan has one open preparation (no meeting yet); recording the review meeting attaches it to
that meeting and the next save starts a new one.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import func, select

from portal import audit
from portal.editing import EditConflict, check_version, conflict_on, one_transaction
from portal.extensions import db
from portal.i18n import current_language
from portal.models import AuditEvent, CarePlan, Domain, Preparation, User, WishKind
from portal.preparation import forms

# The steps a person marks done themselves ("I have checked my goals"); recorded in the audit
# trail as ``preparation.done`` with the step's key, so no step is ticked by merely landing on
# a page or finished only by changing something. Said by mistake, it is taken back with
# ``preparation.undone``: the later of the two counts.
MARKABLE = forms.MARKABLE
OPTIONAL = ("wishes", "needs")
DONE_ACTION = "preparation.done"
UNDONE_ACTION = "preparation.undone"

COMPLETED = "completed"
IN_PROGRESS = "in_progress"
NOT_STARTED = "not_started"


class PreparationClosed(Exception):
    """The preparation the form was opened on now belongs to a recorded meeting."""


def open_preparation(plan_id: int) -> Preparation | None:
    return db.session.scalars(
        select(Preparation)
        .where(Preparation.plan_id == plan_id, Preparation.meeting_id.is_(None))
        .order_by(Preparation.id)
    ).first()


def _current(prep: Preparation, fields) -> dict:
    return {f: getattr(prep, f) for f in fields}


def save_preparation(
    plan: CarePlan,
    opened_id: int | None,
    changes: dict,
    seen_version: int | None,
    user: User,
    patient_id: int,
) -> Preparation:
    """Save the open preparation, refusing a stale version like any other shared text."""
    prep = open_preparation(plan.id)
    if opened_id is not None and (prep is None or prep.id != opened_id):
        raise PreparationClosed
    if prep is None:
        # Hold the plan row while creating, so two first saves cannot both start one.
        db.session.execute(select(CarePlan.id).where(CarePlan.id == plan.id).with_for_update())
        prep = open_preparation(plan.id)
        if prep is not None:
            raise EditConflict(_current(prep, changes), prep.version)
        prep = Preparation(plan_id=plan.id)
        db.session.add(prep)
    else:
        check_version(prep, seen_version, list(changes))
    with one_transaction(conflict_on(prep, changes)):
        for field, value in changes.items():
            setattr(prep, field, value)
        prep.language = current_language()
        prep.updated_by_id = user.id
        db.session.flush()
        verb = "create" if prep.version == 1 else "edit"
        audit.record(f"preparation.{verb}", patient_id, f"preparation {prep.id}")
    return prep


@dataclass(frozen=True)
class TaskState:
    status: str
    done: int = 0
    total: int = 0


def _by_count(done: int, total: int) -> TaskState:
    status = COMPLETED if done == total else IN_PROGRESS if done else NOT_STARTED
    return TaskState(status, done, total)


def task_states(plan: CarePlan, prep: Preparation | None, user: User) -> dict[str, TaskState]:
    """How far each step of getting ready has gone, from what is saved.

    A step is completed when the person asking has said so since the last review. Until then
    it is in progress once begun: the plan or crisis plan opened, a goal changed, a wish or an
    about-me section written. The questions count by how many of the three boxes are written.
    """
    query = (
        select(AuditEvent.action, AuditEvent.detail, func.max(AuditEvent.id))
        .where(
            AuditEvent.patient_id == plan.patient_id,
            AuditEvent.actor_id == user.id,
            AuditEvent.action.in_(("plan.view", "crisis.view", DONE_ACTION, UNDONE_ACTION)),
        )
        .group_by(AuditEvent.action, AuditEvent.detail)
    )
    if plan.last_review_date:
        since = datetime.combine(plan.last_review_date, time.min, tzinfo=UTC)
        query = query.where(AuditEvent.occurred_at >= since)
    latest = {(action, detail): last for action, detail, last in db.session.execute(query)}
    read = {action for action, _ in latest}
    said = {
        detail
        for (action, detail), last in latest.items()
        if action == DONE_ACTION and last > latest.get((UNDONE_ACTION, detail), 0)
    }
    goal_changes = sum(1 for g in plan.goals if g.pending_review)
    wishes = sum(1 for w in plan.wishes if w.text and w.kind in set(WishKind))
    needs = sum(1 for n in plan.needs if n.text and n.domain in set(Domain))
    notes = sum(1 for f in ("questions", "what_changed", "how_i_feel") if prep and getattr(prep, f))
    begun = {
        "plan": "plan.view" in read,
        "goals": bool(goal_changes),
        "wishes": bool(wishes),
        "needs": bool(needs),
        "crisis": "crisis.view" in read,
    }
    counts = {"goals": (goal_changes, 0), "wishes": (wishes, len(WishKind))}
    counts["needs"] = (needs, len(Domain))
    states = {}
    for key in MARKABLE:
        status = COMPLETED if key in said else IN_PROGRESS if begun[key] else NOT_STARTED
        states[key] = TaskState(status, *counts.get(key, (0, 0)))
    states["notes"] = _by_count(notes, 3)
    return states


def mark_done(plan: CarePlan, task: str, user: User) -> None:
    """The person says a step is done; it stays done until the next review is recorded."""
    if task not in MARKABLE:
        raise ValueError(task)
    audit.record(DONE_ACTION, plan.patient_id, task)


def mark_not_done(plan: CarePlan, task: str, user: User) -> None:
    """The person takes back a step marked done by mistake; it shows as not done again."""
    if task not in MARKABLE:
        raise ValueError(task)
    audit.record(UNDONE_ACTION, plan.patient_id, task)
