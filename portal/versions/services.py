"""Snapshots of the agreed plan, and the differences between two of them.

A ``PlanVersion`` is the plan as agreed at one review meeting, stored as plain JSON so that it
reads the same years later whatever happens to the live rows. Versions are written once: the
guard at the bottom of this module refuses any update or delete of a stored version.

The snapshot holds only *agreed* content. An item still waiting for review keeps, in the new
snapshot, the text it had in the previous one (or is left out if it was never agreed).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import bindparam, event, inspect, select

from portal.extensions import db
from portal.models import (
    CarePlan,
    CrisisLevel,
    Domain,
    GoalStatus,
    PlanVersion,
    ReviewMeeting,
    User,
    WishKind,
)
from portal.models.base import utcnow
from portal.sections import SECTIONS

SNAPSHOT_FORMAT = 1

# What each section of a snapshot holds for one item, in display order.
FIELDS: dict[str, tuple[str, ...]] = {
    **{section.key: section.fields for section in SECTIONS},
    "named_contact": ("name", "job_title", "organisation", "phone", "email"),
    "review": (
        "last_review_date",
        "next_review_date",
        "review_interval_months",
        "complex_needs",
        "contingency_reviewed_on",
    ),
    "patient_feedback": ("text",),
}

# Sections holding many items (keyed), and those holding one (or none).
COLLECTIONS = ("needs", "goals", "wishes", "crisis_steps", "contacts")
SECTIONS = (
    "needs",
    "goals",
    "wishes",
    "crisis_steps",
    "usual_state",
    "contacts",
    "named_contact",
    "review",
    "patient_feedback",
)
DATE_FIELDS = frozenset(
    {"target_date", "last_review_date", "next_review_date", "contingency_reviewed_on"}
)
# Not shown as changes: bookkeeping that travels with an item.
_META = ("language", "position")


def _plain(value: Any) -> Any:
    """JSON-safe value: dates and times as ISO strings, ``None`` kept."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def item_values(section: str, item) -> dict:
    """The snapshot entry for one live row of ``section``."""
    values = {f: _plain(getattr(item, f)) for f in FIELDS[section]}
    values["language"] = getattr(item, "language", None)
    if section in ("crisis_steps", "contacts"):
        values["position"] = item.position
    # Kept with the agreed version so the agreed step still rings the agreed contact, and the
    # agreed contact keeps its hours, while a change to them waits for review.
    if section == "crisis_steps":
        values["call"] = item.call
    if section == "contacts":
        values["hours"] = [_plain(item.opens_at), _plain(item.closes_at), item.weekdays_only]
    return values


def item_key(section: str, item) -> str:
    """How an item is found again in another snapshot."""
    if section == "needs":
        return item.domain
    if section == "wishes":
        return item.kind
    return str(item.id)


def live_items(plan: CarePlan, section: str, removed: frozenset[int] | None = None) -> list:
    """The section's rows, without any deleted in this transaction (a declined new proposal):
    a loaded collection keeps them until it is read again, which would cost a query each.
    ``removed``: ``removed_now(plan)``, when the caller reads several sections."""
    removed = removed_now(plan) if removed is None else removed
    return [item for item in getattr(plan, section) if not _gone(item, removed)]


def removed_now(plan: CarePlan) -> frozenset[int]:
    """The ``id()`` of every row deleted in the plan's session and not yet flushed."""
    session = inspect(plan).session
    return frozenset(id(row) for row in session.deleted) if session else frozenset()


def _gone(item, removed: frozenset[int]) -> bool:
    return id(item) in removed or inspect(item).was_deleted  # before or after the flush


def _named_contact(user: User | None) -> dict | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "name": user.display_name,
        "job_title": user.job_title or "",
        "organisation": user.organisation.name if user.organisation else "",
        "phone": user.phone or "",
        "email": user.email,
    }


def snapshot(plan: CarePlan, previous: dict | None = None) -> dict:
    """The agreed plan as a JSON-serialisable dict.

    ``previous`` is the last agreed snapshot: an item still pending review is taken from it
    (the agreed text), or left out when it has never been agreed. Withdrawn goals are no longer
    part of the plan and are left out.
    """
    previous = previous or {}
    result: dict[str, Any] = {"format": SNAPSHOT_FORMAT}
    removed = removed_now(plan)
    for section in COLLECTIONS:
        before = previous.get(section) or {}
        entries: dict[str, dict] = {}
        for item in live_items(plan, section, removed):
            key = item_key(section, item)
            if item.pending_review:
                if key in before:
                    entries[key] = before[key]
                continue
            if section == "goals" and item.status == GoalStatus.WITHDRAWN:
                continue
            entries[key] = item_values(section, item)
        result[section] = entries
    usual = plan.usual_state
    if usual is None or _gone(usual, removed):
        result["usual_state"] = None
    elif usual.pending_review:
        result["usual_state"] = previous.get("usual_state")
    else:
        result["usual_state"] = item_values("usual_state", usual)
    result["named_contact"] = _named_contact(plan.named_contact)
    result["review"] = {f: _plain(getattr(plan, f)) for f in FIELDS["review"]}
    result["patient_feedback"] = plan.patient_feedback or ""
    return result


# --- differences -------------------------------------------------------------------------


@dataclass
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass
class ItemChange:
    """One item added, removed or changed between two snapshots."""

    section: str
    key: str
    change: str  # added / removed / changed
    before: dict | None
    after: dict | None
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def current(self) -> dict:
        return self.after if self.after is not None else (self.before or {})

    @property
    def language(self) -> str | None:
        return self.current.get("language")


def _blank(value: Any) -> bool:
    return value is None or value == ""


# Kept with an item beside its fields (``item_values``) and compared like them, so a change
# to whom a step rings or to a contact's opening hours shows as a change of its own.
COMPARED_EXTRAS: dict[str, tuple[str, ...]] = {"crisis_steps": ("call",), "contacts": ("hours",)}


def _comparable(name: str, value: Any) -> Any:
    """Opening hours with no opening time are no hours at all (also before they were kept)."""
    if name == "hours":
        return list(value) if value and value[0] else None
    return value


def diff_fields(section: str, before: dict | None, after: dict | None) -> list[FieldChange]:
    """Fields whose value differs; an added or removed item lists its non-empty fields."""
    before, after = before or {}, after or {}
    changes = []
    for name in (*FIELDS[section], *COMPARED_EXTRAS.get(section, ())):
        old, new = _comparable(name, before.get(name)), _comparable(name, after.get(name))
        if _blank(old) and _blank(new):
            continue
        if old != new:
            changes.append(FieldChange(name, old, new))
    return changes


def _as_item(section: str, value: Any) -> dict | None:
    if section == "patient_feedback":
        return {"text": value} if value else None
    return value


def ordered_keys(section: str, keys, old: dict, new: dict | None = None) -> list[str]:
    """Keys of one section in the order the plan shows them."""
    new = new or {}
    if section == "needs":
        order = [d.value for d in Domain]
        return sorted(keys, key=lambda k: order.index(k) if k in order else len(order))
    if section == "wishes":
        order = [w.value for w in WishKind]
        return sorted(keys, key=lambda k: order.index(k) if k in order else len(order))
    if section == "crisis_steps":
        levels = [level.value for level in (CrisisLevel.RED, CrisisLevel.AMBER, CrisisLevel.GREEN)]

        def level_then_position(k: str):
            entry = new.get(k) or old.get(k) or {}
            level = entry.get("level")
            rank = levels.index(level) if level in levels else len(levels)
            return (rank, entry.get("position", 0), int(k) if k.isdigit() else 0)

        return sorted(keys, key=level_then_position)
    if section == "contacts":
        return sorted(
            keys,
            key=lambda k: (
                (new.get(k) or old.get(k) or {}).get("position", 0),
                int(k) if k.isdigit() else 0,
            ),
        )
    return sorted(keys, key=lambda k: int(k) if k.isdigit() else 0)


def diff(old: dict | None, new: dict) -> list[ItemChange]:
    """Per-item changes from ``old`` to ``new``, section by section in plan order."""
    old = old or {}
    changes: list[ItemChange] = []
    for section in SECTIONS:
        if section in COLLECTIONS:
            before_items = old.get(section) or {}
            after_items = new.get(section) or {}
            keys = set(before_items) | set(after_items)
            pairs = [
                (k, before_items.get(k), after_items.get(k))
                for k in ordered_keys(section, keys, before_items, after_items)
            ]
        else:
            pairs = [("", _as_item(section, old.get(section)), _as_item(section, new.get(section)))]
        for key, before, after in pairs:
            fields = diff_fields(section, before, after)
            if not fields:
                continue
            if before is None:
                kind = "added"
            elif after is None:
                kind = "removed"
            else:
                kind = "changed"
            changes.append(ItemChange(section, key, kind, before, after, fields))
    return changes


# --- stored versions ---------------------------------------------------------------------


def latest_version(plan_id: int) -> PlanVersion | None:
    return db.session.scalars(
        select(PlanVersion)
        .where(PlanVersion.plan_id == plan_id)
        .order_by(PlanVersion.number.desc())
        .limit(1)
    ).first()


# Built once: the plan page runs it on every request (see ``portal.loading``).
_LATEST_VERSION = (
    select(PlanVersion.number, PlanVersion.agreed_at)
    .where(PlanVersion.plan_id == bindparam("plan_id"))
    .order_by(PlanVersion.number.desc())
    .limit(1)
)


def version_summary(plan_id: int) -> tuple[int, datetime] | None:
    """(number, agreed_at) of the latest version, without loading its snapshot."""
    row = db.session.execute(_LATEST_VERSION, {"plan_id": plan_id}).first()
    return (row.number, row.agreed_at) if row else None


def get_version(plan_id: int, number: int) -> PlanVersion | None:
    return db.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id, PlanVersion.number == number)
    ).first()


@dataclass
class VersionRow:
    number: int
    agreed_at: datetime
    agreed_by: str | None
    meeting: ReviewMeeting | None


def history(plan_id: int) -> list[VersionRow]:
    """Every agreed version, newest first, with the meeting that agreed it (two queries)."""
    rows = db.session.execute(
        select(PlanVersion.id, PlanVersion.number, PlanVersion.agreed_at, User.display_name)
        .outerjoin(User, User.id == PlanVersion.agreed_by_id)
        .where(PlanVersion.plan_id == plan_id)
        .order_by(PlanVersion.number.desc())
    ).all()
    meetings = {
        m.plan_version_id: m
        for m in db.session.scalars(
            select(ReviewMeeting).where(
                ReviewMeeting.plan_id == plan_id, ReviewMeeting.plan_version_id.is_not(None)
            )
        )
    }
    return [VersionRow(r.number, r.agreed_at, r.display_name, meetings.get(r.id)) for r in rows]


def meeting_for_version(version: PlanVersion) -> ReviewMeeting | None:
    return db.session.scalars(
        select(ReviewMeeting).where(ReviewMeeting.plan_version_id == version.id)
    ).first()


# ``create_version``'s default: the latest version is read for it.
READ_LATEST = object()


def create_version(
    plan: CarePlan,
    user: User | None,
    agreed_at: datetime | None = None,
    previous: PlanVersion | None | object = READ_LATEST,
):
    """Snapshot the agreed plan as the next version and record its number on the plan.

    ``previous`` is the latest version when the caller has read it already (``None``: there
    is none yet), saving a second read of its snapshot. The snapshot is built from the loaded
    rows, changed in memory or flushed; the unique (plan, number) constraint stops two
    recordings from writing the same number.
    """
    if previous is READ_LATEST:
        previous = latest_version(plan.id)
    version = PlanVersion(
        plan_id=plan.id,
        number=(previous.number if previous else 0) + 1,
        snapshot=snapshot(plan, previous.snapshot if previous else None),
        agreed_at=agreed_at or utcnow(),
        agreed_by_id=user.id if user else None,
    )
    db.session.add(version)
    plan.agreed_version = version.number
    return version


class VersionImmutable(Exception):
    """Raised when anything tries to change or delete a stored plan version."""


@event.listens_for(PlanVersion, "before_update")
@event.listens_for(PlanVersion, "before_delete")
def _refuse_change(_mapper, _connection, target: PlanVersion) -> None:
    raise VersionImmutable(f"plan version {target.id} is write-once")
