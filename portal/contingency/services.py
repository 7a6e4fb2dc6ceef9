"""Loading and changing the contingency plan: crisis steps, usual state, contacts, care team.

Patients and carers change crisis content as proposals (``portal.editing.save_proposal``): the
crisis page and sheet show them at once, but apart from the agreed plan and labelled as not yet
checked by the care team (``portal.contingency.held_apart``), because an untested instruction
must never read as agreed. The care team is kept by professionals and is not a proposal.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from portal import audit
from portal.editing import (
    ItemGone,
    agree_as_written,
    check_version,
    conflict_on,
    one_transaction,
    save_proposal,
)
from portal.extensions import db
from portal.limits import LIMITS, check_room
from portal.loading import CONTINGENCY, load_for
from portal.models import (
    CarePlan,
    CareTeamMember,
    Contact,
    CrisisLevel,
    CrisisStep,
    User,
    UsualState,
)
from portal.sections import BY_MODEL

# Emergencies first: a carer reading in a hurry must meet the 999 step before anything else.
LEVEL_ORDER = (CrisisLevel.RED, CrisisLevel.AMBER, CrisisLevel.GREEN)

# Audit kinds, as they appear in the patient's audit trail ("crisis_step 12").
KINDS = {model: BY_MODEL[model].audit_name for model in (CrisisStep, UsualState, Contact)}

MEMBER_FIELDS = ("name", "role", "organisation", "phone", "email", "availability")

# What a person writes in each removable item (shown side by side on a conflict).
CONTENT = {model: BY_MODEL[model].fields for model in (CrisisStep, Contact)}


def practice_now() -> datetime:
    """Wall-clock time at the practice (Europe/London): whether a contact is open now."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.now(zone).replace(tzinfo=None)


def steps_by_level(steps: list[CrisisStep]) -> list[tuple[CrisisLevel, list[CrisisStep]]]:
    return [(level, [s for s in steps if s.level == level]) for level in LEVEL_ORDER]


def load_contingency(patient_id: int) -> CarePlan | None:
    """The plan with its crisis steps, usual state and contacts, in a fixed number of queries."""
    return load_for(CONTINGENCY, patient_id)


def load_care_team(patient_id: int) -> CarePlan | None:
    return db.session.scalars(
        select(CarePlan)
        .where(CarePlan.patient_id == patient_id)
        .options(
            joinedload(CarePlan.named_contact).joinedload(User.organisation),
            selectinload(CarePlan.care_team),
        )
    ).first()


def plan_for(patient_id: int) -> CarePlan:
    plan = db.session.scalar(select(CarePlan).where(CarePlan.patient_id == patient_id))
    if plan is None:
        abort(404)
    return plan


def item_of(model, item_id: int, plan: CarePlan):
    """One item of this plan; 404 for an id from someone else's plan, as for a missing one."""
    item = db.session.scalar(select(model).where(model.id == item_id, model.plan_id == plan.id))
    if item is None:
        abort(404)
    return item


def next_position(model, plan: CarePlan) -> int:
    last = db.session.scalar(select(func.max(model.position)).where(model.plan_id == plan.id))
    return 0 if last is None else last + 1


def new_item(model, plan: CarePlan):
    """A new crisis step, contact or care team member, placed after the plan's others."""
    return model(plan_id=plan.id, position=next_position(model, plan))


def propose(
    item,
    changes: dict,
    seen_version: int | None,
    user: User,
    patient_id: int,
    with_patient: bool = False,
) -> None:
    """Save a patient's or carer's change as a proposal, or a professional's written with the
    patient as agreed (``with_patient``); raises ``EditConflict`` when stale.

    Editing an item whose removal was proposed keeps it: the newest wish is to have it.
    A new step or contact raises ``PlanFull`` when the plan holds the most it may.
    """
    if item.id is None and type(item) in LIMITS:
        check_room(type(item), item.plan_id)
    if hasattr(item, "removal_proposed") and item.id is not None:
        changes = {**changes, "removal_proposed": False}
    find = None
    if isinstance(item, UsualState):  # two first saves at once: the second sees the first's

        def find():
            return db.session.scalar(select(UsualState).where(UsualState.plan_id == item.plan_id))

    save_proposal(
        item,
        changes,
        seen_version,
        user,
        patient_id,
        KINDS[type(item)],
        with_patient=with_patient,
        find=find,
    )


def never_agreed(item) -> bool:
    """Proposed, and not changed by anyone since: it cannot have been agreed at a review.

    Any later save (an edit, or a professional agreeing it) raises ``version``, so a draft at
    version 1 is certainly nobody's agreed plan.
    """
    return item.pending_review and item.version == 1


def propose_removal(
    item, seen_version: int | None, user: User, patient_id: int, with_patient: bool = False
) -> bool:
    """Remove a crisis step or contact; True if deleted, False if kept as a pending removal.

    A draft that was never agreed, or anything a professional removes with the patient, is
    deleted at once. Anything else stays, marked, until the professional agrees the removal
    at the review; meanwhile the crisis page keeps it in the agreed plan and shows the
    request apart.
    """
    kind = KINDS[type(item)]
    fields = list(CONTENT[type(item)])
    check_version(item, seen_version, fields)
    deleted = with_patient or never_agreed(item)
    plan_id = item.plan_id
    try:
        with one_transaction(conflict_on(item, fields)):
            audit.record(
                f"{kind}.{'delete' if deleted else 'remove'}", patient_id, f"{kind} {item.id}"
            )
            if deleted:
                db.session.delete(item)
                if with_patient:
                    db.session.flush()
                    agree_as_written(plan_id, user, patient_id)
            else:
                item.removal_proposed = True
                item.pending_review = True
                item.updated_by_id = user.id
    except ItemGone:  # removed by someone else meanwhile: what was asked for is done
        return True
    return deleted


def mark_crisis_reviewed(plan: CarePlan, user: User, on: date) -> None:
    """A professional says the crisis plan was gone through: record when and by whom.

    The only way a crisis plan becomes "reviewed"; recording a meeting alone never does it.
    The caller commits (the meeting form records it with the meeting).
    """
    plan.contingency_reviewed_on = on
    plan.contingency_reviewed_by_id = user.id
    audit.record("contingency.review", plan.patient_id, f"reviewed {on.isoformat()}")


def save_member(
    member: CareTeamMember, data: dict, seen_version: int | None, patient_id: int
) -> None:
    """Add or change a care team member (professionals only; not a proposal).

    Raises ``EditConflict`` when another professional saved the member since the form was read.
    """
    creating = member.id is None
    if creating:
        check_room(CareTeamMember, member.plan_id)
    else:
        check_version(member, seen_version, list(data))
    with one_transaction(conflict_on(member, data)):
        for field, value in data.items():
            setattr(member, field, value)
        db.session.add(member)
        db.session.flush()
        verb = "create" if creating else "edit"
        audit.record(f"care_team_member.{verb}", patient_id, f"care_team_member {member.id}")


def delete_member(member: CareTeamMember, seen_version: int | None, patient_id: int) -> None:
    """Remove a member as they were shown; ``EditConflict`` if they were changed meanwhile."""
    check_version(member, seen_version, list(MEMBER_FIELDS))
    try:
        with one_transaction(conflict_on(member, MEMBER_FIELDS)):
            audit.record("care_team_member.delete", patient_id, f"care_team_member {member.id}")
            db.session.delete(member)
    except ItemGone:  # removed by someone else meanwhile
        pass
