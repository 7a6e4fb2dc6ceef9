"""The agreed crisis plan, and the changes nobody in the care team has checked yet, apart.

A crisis step typed by a carer may be clinically wrong ("if oxygen under 88%, ring 111
first"). Until a professional accepts it (at the review meeting, or at once from the worklist:
``meetings.crisis_changes``), the crisis page, the crisis sheet and the whole-plan PDF
show the plan as last agreed (from the latest ``PlanVersion`` snapshot, or the live row when it
has no change waiting) and list every change waiting for review in a separate block that says
who made it and when. Nothing unreviewed is ever shown as part of an agreed plan version.
"""

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from types import SimpleNamespace

from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    AccessGrant,
    CarePlan,
    Contact,
    CrisisLevel,
    CrisisStep,
    User,
    UsualState,
)
from portal.versions.services import FIELDS, latest_version


class ChangeKind(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVAL = "removal"  # asked to be removed


@dataclass(frozen=True)
class UnreviewedChange:
    """One change waiting for a professional: what, how, by whom (with relationship), when."""

    section: str  # crisis_steps / contacts / usual_state
    change: ChangeKind
    item: object  # the live row, as the patient or carer left it
    by_name: str
    by_relationship: str
    on: datetime
    changed_fields: tuple[str, ...] = ()  # usual state: only what differs from the agreed text


@dataclass(frozen=True)
class HeldApart:
    steps: list  # agreed crisis steps (live rows or snapshot entries), in order
    contacts: list  # agreed contacts
    usual: object | None  # the agreed usual state
    changes: list[UnreviewedChange]
    agreed_version: int  # the plan version the agreed part belongs to (0: never agreed)


def _agreed_entry(section: str, values: dict, key: str, contacts: dict[int, Contact]):
    """A snapshot entry shaped like a live row, for the templates.

    A step keeps the agreed "who to call" (``contacts``: the plan's live contacts by id); a
    contact is an unsaved ``Contact``, so its opening hours work as on a live one.
    """
    fields = {f: values.get(f) or "" for f in FIELDS[section]}
    common = {"language": values.get("language"), "position": values.get("position", 0)}
    if section == "contacts":
        opens, closes, weekdays_only = values.get("hours") or (None, None, False)
        return Contact(
            **fields,
            **common,
            opens_at=time.fromisoformat(opens) if opens else None,
            closes_at=time.fromisoformat(closes) if closes else None,
            weekdays_only=bool(weekdays_only),
            pending_review=False,
            removal_proposed=False,
        )
    extra = {}
    if section == "crisis_steps":
        chosen = CrisisStep()
        chosen.call = values.get("call") or ""
        extra = {
            "call_service": chosen.call_service,
            "call_contact": contacts.get(chosen.call_contact_id),
        }
    return SimpleNamespace(
        id=None,
        key=key,
        pending_review=False,
        removal_proposed=False,
        **common,
        **fields,
        **extra,
    )


def _relationships(patient_id: int, users: set[int]) -> dict[int, str]:
    """The words each carer's grant gives for how they are related to the patient."""
    if not users:
        return {}
    rows = db.session.execute(
        select(AccessGrant.grantee_id, AccessGrant.relationship_to_patient).where(
            AccessGrant.patient_id == patient_id, AccessGrant.grantee_id.in_(users)
        )
    )
    return {grantee: words for grantee, words in rows if words}


_SECTIONS = ("crisis_steps", "contacts", "usual_state")
_LEVELS = (CrisisLevel.RED, CrisisLevel.AMBER, CrisisLevel.GREEN)


def _reading_order(change: "UnreviewedChange") -> tuple:
    level = getattr(change.item, "level", None)
    rank = _LEVELS.index(level) if level in _LEVELS else len(_LEVELS)
    return (
        _SECTIONS.index(change.section),
        rank,
        change.item.position if rank < 3 else 0,
        change.item.id,
    )


def hold_apart(plan: CarePlan) -> HeldApart:
    """Split the live contingency plan into the agreed plan and the changes awaiting review."""
    usual = plan.usual_state
    waiting = [i for i in [*plan.crisis_steps, *plan.contacts, usual] if i and i.pending_review]
    previous = latest_version(plan.id) if waiting else None  # read only when it is needed
    snapshot = previous.snapshot if previous else {}
    by_id = {c.id: c for c in plan.contacts}
    pending: list[tuple[str, object]] = []
    agreed: dict[str, list] = {"crisis_steps": [], "contacts": []}
    for section in agreed:
        agreed_items = snapshot.get(section) or {}
        for item in getattr(plan, section):
            if not item.pending_review:
                agreed[section].append(item)
                continue
            pending.append((section, item))
            before = agreed_items.get(str(item.id))
            if before is not None:
                agreed[section].append(_agreed_entry(section, before, str(item.id), by_id))
            elif item.removal_proposed:  # agreed before any snapshot was kept: as it stands
                agreed[section].append(item)
        agreed[section].sort(key=lambda i: (i.position, i.id or 0))
    agreed_usual = usual
    usual_changed: tuple[str, ...] = ()
    if usual is not None and usual.pending_review:
        pending.append(("usual_state", usual))
        before = snapshot.get("usual_state")
        agreed_usual = _agreed_entry("usual_state", before, "usual", by_id) if before else None
        usual_changed = tuple(
            f
            for f in FIELDS["usual_state"]
            if (getattr(usual, f) or "") != ((before or {}).get(f) or "")
        )

    updaters = {item.updated_by_id for _s, item in pending if item.updated_by_id}
    relationships = _relationships(plan.patient_id, updaters)
    changes = []
    for section, item in pending:
        if getattr(item, "removal_proposed", False):
            kind = ChangeKind.REMOVAL
        elif section == "usual_state":
            kind = ChangeKind.CHANGED if agreed_usual is not None else ChangeKind.ADDED
        else:
            before = (snapshot.get(section) or {}).get(str(item.id))
            kind = ChangeKind.CHANGED if before is not None else ChangeKind.ADDED
        by: User | None = item.updated_by
        changes.append(
            UnreviewedChange(
                section=section,
                change=kind,
                item=item,
                by_name=by.display_name if by else "",
                by_relationship=relationships.get(item.updated_by_id, ""),
                on=item.updated_at,
                changed_fields=usual_changed if section == "usual_state" else (),
            )
        )
    # As the agreed plan reads: emergency steps first, then contacts, then the usual state.
    changes.sort(key=_reading_order)
    return HeldApart(
        steps=agreed["crisis_steps"],
        contacts=agreed["contacts"],
        usual=agreed_usual,
        changes=changes,
        agreed_version=plan.agreed_version,
    )


@dataclass(frozen=True)
class AwaitingReview:
    """A crisis change waiting for a professional, for a worklist."""

    patient_id: int
    section: str
    item_id: int
    changed_at: datetime
    changed_by_id: int | None


def crisis_changes_awaiting_review(patient_ids: list[int] | None = None) -> list[AwaitingReview]:
    """Every crisis step, contact and usual state changed by a patient or carer and not yet
    reviewed, oldest first (a worklist shows these above everything else)."""
    found: list[AwaitingReview] = []
    for section, model in (
        ("crisis_steps", CrisisStep),
        ("contacts", Contact),
        ("usual_state", UsualState),
    ):
        query = (
            select(CarePlan.patient_id, model.id, model.updated_at, model.updated_by_id)
            .join(CarePlan, CarePlan.id == model.plan_id)
            .where(model.pending_review.is_(True))
        )
        if patient_ids is not None:
            query = query.where(CarePlan.patient_id.in_(patient_ids))
        rows = db.session.execute(query)
        found += [AwaitingReview(p, section, i, at, by) for p, i, at, by in rows]
    return sorted(found, key=lambda a: a.changed_at)
