"""Saving shared content without lost updates, in one transaction per save.

Every form that edits a versioned item carries the version it was read at. A save at a
stale version raises ``EditConflict``: the view shows the saved text beside what the person
typed (kept in the form) and lets them save again knowingly.

``one_transaction`` is the one place a save is committed: services only add and flush inside
it, and a write that slips in between the version check and the commit (a stale version at
flush or commit, or a first save that loses a unique race) rolls the whole save back and
becomes the conflict the caller names, never a 500 and never a half-saved change.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import NotFound

from portal import audit
from portal.extensions import db
from portal.i18n import current_language
from portal.models import CarePlan, User
from portal.versions.services import COLLECTIONS, create_version


@dataclass
class EditConflict(Exception):
    """Somebody saved the item after this form was opened."""

    current: dict  # field -> the text now saved
    version: int  # the version to carry in the form for a deliberate second save


class ItemGone(NotFound):
    """Someone else deleted the item while this form was open: there is nothing to save."""


def check_version(item, seen_version: int | None, fields: list[str]) -> None:
    if seen_version is None or item.version != seen_version:
        raise EditConflict({f: getattr(item, f) for f in fields}, item.version)


@contextmanager
def one_transaction(on_race: Callable[[Exception], Exception | None]) -> Iterator[None]:
    """Commit what the block flushed, once; a concurrent write rolls it all back.

    ``on_race(error)`` is called after the rollback and returns the exception to raise in
    place of the database's (``None`` re-raises it: an integrity error that was no race).
    """
    try:
        yield
        db.session.commit()
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        instead = on_race(error)
        if instead is None:
            raise
        raise instead from None


def conflict_on(item, fields, find: Callable[[], object] | None = None):
    """``on_race`` for a save of ``item``: an ``EditConflict`` showing what is saved now.

    ``find`` reads the row another request created first, for a first save that lost a
    unique race (two first texts for one section). An item deleted meanwhile is ``ItemGone``.
    """
    created = item.id is None
    fields = list(fields)

    def on_race(_error: Exception) -> Exception | None:
        if created:
            saved = find() if find else None
            if saved is None:
                return None
        else:
            saved = db.session.get(type(item), item.id, populate_existing=True)
            if saved is None:
                return ItemGone()
        return EditConflict({f: getattr(saved, f) for f in fields}, saved.version)

    return on_race


def save_proposal(
    item,
    changes: dict,
    seen_version: int | None,
    user: User,
    patient_id: int,
    kind: str,
    with_patient: bool = False,
    action: str | None = None,
    find: Callable[[], object] | None = None,
) -> None:
    """Apply ``changes`` to a reviewable item and audit it; commits.

    Changes by patients and carers stay proposals until agreed at review. A professional
    writing with the patient in clinic (``with_patient``) saves them as agreed, marked as
    written with the patient, and the agreed plan gets a new version holding them, so a later
    proposal is held apart from this text and not from an older one. ``action`` names the
    audit event when "create" or "edit" would hide what happened (``withdraw``). ``find``
    reads the row a concurrent first save created, for items unique per plan (see
    ``conflict_on``).
    """
    created = item.id is None
    if not created:
        check_version(item, seen_version, list(changes))
    with one_transaction(conflict_on(item, changes, find)):
        for field, value in changes.items():
            setattr(item, field, value)
        item.pending_review = not with_patient
        item.written_with_patient = with_patient
        item.updated_by_id = user.id
        if set(changes) - {"status"}:  # a status change alone keeps the language
            item.language = current_language()
        db.session.add(item)
        if created or with_patient:
            # A new item's id for its audit event; the snapshot below reads the save. A
            # change alone is written with its audit event in the commit's one flush.
            db.session.flush()
        verb = action or ("create" if created else "edit")
        audit.record(f"{kind}.{verb}", patient_id, f"{kind} {item.id}")
        if with_patient:
            agree_as_written(item.plan_id, user, patient_id)


def agree_as_written(plan_id: int, user: User, patient_id: int) -> None:
    """Snapshot the agreed plan after a professional wrote part of it with the patient.

    Inside the caller's transaction, after its flush. The plan's row is locked first, so two
    professionals saving at once number their versions one after the other, and the second
    snapshot holds the first one's save.
    """
    # FOR NO KEY UPDATE: the item's own foreign key holds a key-share lock on the plan, which
    # a plain FOR UPDATE would wait for (two writers at once would deadlock).
    plan = db.session.get(
        CarePlan, plan_id, with_for_update={"key_share": True}, populate_existing=True
    )
    db.session.expire(plan, [*COLLECTIONS, "usual_state"])  # read again with this save
    version = create_version(plan, user)
    db.session.flush()
    audit.record("plan_version.with_patient", patient_id, f"version {version.number}")
