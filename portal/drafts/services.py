"""Keeping what a person typed when their session ended, for that account only, for a day.

Kept when a form arrives after the idle sign-out (the person pressed save too late), or when
the timeout warning ran out with the page open (the page sends its forms just before).
Secrets are never kept: passwords, security codes, tokens.
"""

import re
from datetime import timedelta

from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict

from portal import jobs
from portal.extensions import db
from portal.models import KeptForm
from portal.models.base import utcnow

KEEP_FOR = timedelta(hours=24)
MAX_FIELDS = 300
MAX_CHARACTERS = 100_000
PATH_LIMIT = 500
SECRET = re.compile(r"csrf|password|code|token|secret|recovery", re.IGNORECASE)


def keepable_path(path: str | None) -> str | None:
    """A page of the portal itself (``/patients/3/review/record``), or None."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path[:PATH_LIMIT]


def _fields(form: MultiDict) -> dict[str, list[str]]:
    kept: dict[str, list[str]] = {}
    total = 0
    for name in list(form.keys())[:MAX_FIELDS]:
        if SECRET.search(name) or name.startswith("_"):
            continue
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        total += sum(len(v) for v in values) + len(name)
        if total > MAX_CHARACTERS:
            break
        kept[name[:200]] = values
    return kept


def keep(user_id: int, path: str | None, form: MultiDict) -> KeptForm | None:
    """Keep the form's fields for the account (replacing what was kept for the same page);
    None when there is nothing worth keeping. Added to the session: the caller commits."""
    path = keepable_path(path)
    fields = _fields(form)
    if path is None or not any(v.strip() for values in fields.values() for v in values):
        return None
    now = utcnow()
    db.session.execute(
        delete(KeptForm).where(
            KeptForm.user_id == user_id, (KeptForm.path == path) | (KeptForm.expires_at < now)
        )
    )
    kept = KeptForm(user_id=user_id, path=path, fields=fields, expires_at=now + KEEP_FOR)
    db.session.add(kept)
    return kept


def has_kept(user_id: int) -> bool:
    return (
        db.session.scalar(
            select(KeptForm.id)
            .where(KeptForm.user_id == user_id, KeptForm.expires_at > utcnow())
            .limit(1)
        )
        is not None
    )


def kept_for(user_id: int, path: str) -> KeptForm | None:
    """What the account kept for this page, if it has not expired."""
    return db.session.scalars(
        select(KeptForm)
        .where(
            KeptForm.user_id == user_id,
            KeptForm.path == path[:PATH_LIMIT],
            KeptForm.expires_at > utcnow(),
        )
        .order_by(KeptForm.id.desc())
        .limit(1)
    ).first()


def discard(user_id: int, kept_id: int) -> str | None:
    """Remove one kept form of the account's own and give its page; None if there is no such
    one. Commits."""
    kept = db.session.get(KeptForm, kept_id)
    if kept is None or kept.user_id != user_id:
        return None
    path = kept.path
    db.session.delete(kept)
    db.session.commit()
    return path


@jobs.job("drafts.clean_up")
def clean_up() -> int:
    """Delete every account's kept forms past their day (nightly): an expired one is never
    offered again, and one whose owner never signs in again would otherwise stay for ever."""
    result = db.session.execute(delete(KeptForm).where(KeptForm.expires_at < utcnow()))
    db.session.commit()
    return result.rowcount
