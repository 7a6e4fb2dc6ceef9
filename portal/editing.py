"""Saving changes to plan content as proposals, without lost updates.

Every form that edits a ``Reviewable`` item carries the version it was read at. A save at a
stale version raises ``EditConflict``: the view shows the saved text beside what the person
typed (kept in the form) and lets them save again knowingly.
"""

from dataclasses import dataclass

from sqlalchemy.orm.exc import StaleDataError

from portal import audit
from portal.extensions import db
from portal.i18n import current_language
from portal.models import User


@dataclass
class EditConflict(Exception):
    """Somebody saved the item after this form was opened."""

    current: dict  # field -> the text now saved
    version: int  # the version to carry in the form for a deliberate second save


def check_version(item, seen_version: int | None, fields: list[str]) -> None:
    if seen_version is None or item.version != seen_version:
        raise EditConflict({f: getattr(item, f) for f in fields}, item.version)


def save_proposal(
    item,
    changes: dict,
    seen_version: int | None,
    user: User,
    patient_id: int,
    kind: str,
    agreed: bool = False,
    action: str | None = None,
) -> None:
    """Apply ``changes`` to a reviewable item and audit it; commits.

    Changes by patients and carers stay proposals until agreed at review (``agreed=False``);
    a professional agreeing at the meeting passes ``agreed=True``. ``action`` names the audit
    event when "create" or "edit" would hide what happened (``withdraw``).
    """
    if item.id is not None:
        check_version(item, seen_version, list(changes))
    for field, value in changes.items():
        setattr(item, field, value)
    item.pending_review = not agreed
    item.updated_by_id = user.id
    if not agreed and set(changes) - {"status"}:  # a status change alone leaves the text as written
        item.language = current_language()
    db.session.add(item)
    db.session.flush()
    verb = action or ("create" if item.version == 1 else "edit")
    audit.record(f"{kind}.{verb}", patient_id, f"{kind} {item.id}")
    try:
        db.session.commit()
    except StaleDataError:  # a concurrent save slipped in between the check and the write
        db.session.rollback()
        fresh = db.session.get(type(item), item.id, populate_existing=True)
        raise EditConflict({f: getattr(fresh, f) for f in changes}, fresh.version) from None
