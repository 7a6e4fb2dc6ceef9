"""Goal changes as proposals: who may touch which goal, and what each change does."""

from datetime import UTC, datetime

from flask import abort
from sqlalchemy import select

from portal.editing import save_proposal
from portal.extensions import db
from portal.limits import check_room
from portal.models import CarePlan, Goal, GoalStatus, User

# A goal still being worked on can be changed or withdrawn; an achieved, not achieved or
# withdrawn goal is a closed record until the review meeting reopens it.
OPEN = frozenset({GoalStatus.PROPOSED, GoalStatus.AGREED})


class GoalClosed(Exception):
    """The goal was closed (withdrawn, achieved...) after the form was opened."""


def goal_for(patient_id: int, goal_id: int) -> Goal:
    """The goal if it is in this patient's plan; 404 for any other id, forged ones included."""
    goal = db.session.scalar(
        select(Goal)
        .join(CarePlan, Goal.plan_id == CarePlan.id)
        .where(Goal.id == goal_id, CarePlan.patient_id == patient_id)
    )
    if goal is None:
        abort(404)
    return goal


def add_goal(
    plan_id: int, changes: dict, user: User, patient_id: int, with_patient: bool = False
) -> Goal:
    """A new goal as a proposal, or agreed as written with the patient (``change_goal``);
    raises ``PlanFull`` when the plan holds the most it may."""
    check_room(Goal, plan_id)
    goal = Goal(plan_id=plan_id, status=GoalStatus.PROPOSED, proposed_by_id=user.id)
    if with_patient:
        changes = {**changes, **_agreed_by(user)}
    save_proposal(goal, changes, None, user, patient_id, "goal", with_patient)
    return goal


def _agreed_by(user: User) -> dict:
    """What a goal written with the patient in clinic is saved with: agreed by her, now."""
    return {"status": GoalStatus.AGREED, "agreed_by_id": user.id, "agreed_at": datetime.now(UTC)}


def unchanged(goal: Goal, changes: dict) -> bool:
    return all(getattr(goal, field) == value for field, value in changes.items())


def change_goal(
    goal: Goal,
    changes: dict,
    seen_version: int | None,
    user: User,
    patient_id: int,
    with_patient: bool = False,
) -> None:
    """Propose new wording; an agreed goal stays agreed but is marked as changed.

    A professional writing with the patient in clinic (``with_patient``) saves it agreed as
    written instead, as the review meeting would: agreed by her, now, in a new agreed version.
    """
    if goal.status not in OPEN:
        raise GoalClosed
    if with_patient:
        changes = {**changes, **_agreed_by(user)}
    save_proposal(goal, changes, seen_version, user, patient_id, "goal", with_patient)


def withdraw_goal(goal: Goal, seen_version: int | None, user: User, patient_id: int) -> None:
    """Propose to withdraw: the goal stays on the plan, marked, until the review agrees."""
    if goal.status not in OPEN:
        raise GoalClosed
    save_proposal(
        goal,
        {"status": GoalStatus.WITHDRAWN},
        seen_version,
        user,
        patient_id,
        "goal",
        action="withdraw",
    )


def keep_goal(goal: Goal, seen_version: int | None, user: User, patient_id: int) -> None:
    """Take back a proposal to withdraw: the goal returns to agreed if it ever was."""
    if goal.status != GoalStatus.WITHDRAWN or not goal.pending_review:
        raise GoalClosed
    status = GoalStatus.AGREED if goal.agreed_at else GoalStatus.PROPOSED
    save_proposal(goal, {"status": status}, seen_version, user, patient_id, "goal", action="keep")
