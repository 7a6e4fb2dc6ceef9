"""Register work behind the pages: the upload kept between preview and confirmation, the
import itself, the corrections file, and the list of people on the register."""

import contextlib
import csv
import functools
import io
import json
import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select, update

from portal import audit, jobs, nhs_number
from portal.extensions import db
from portal.models import ImportStatus, Organisation, Patient, RegisterEntry, RegisterImport
from portal.models.base import utcnow
from portal.models.register import RegisterRejection
from portal.pagination import paginate
from portal.register import csvfile
from portal.register.importer import Outcome, run_import
from portal.register.rows import clean

PER_PAGE = 25
SHOWN_REJECTIONS = 100  # on the page; the download has them all


def _upload_dir() -> Path:
    path = Path(current_app.config["REGISTER_UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stored(record: RegisterImport) -> Path | None:
    if not record.stored_as:
        return None
    path = _upload_dir() / record.stored_as
    return path if path.is_file() else None


def _forget_file(record: RegisterImport) -> None:
    if path := _stored(record):
        path.unlink(missing_ok=True)
    record.stored_as = None


def _counts(record: RegisterImport, outcome: Outcome) -> None:
    for name in ("rows", "new", "updated", "transferred", "unchanged", "left", "rejected"):
        setattr(record, name, getattr(outcome, name))
    db.session.execute(delete(RegisterRejection).where(RegisterRejection.import_id == record.id))
    if outcome.rejections:
        db.session.execute(
            insert(RegisterRejection),
            [
                {
                    "import_id": record.id,
                    "line": r.line,
                    "reason": str(r.reason),
                    "cells": json.dumps(r.cells, ensure_ascii=False) if r.cells else "",
                }
                for r in outcome.rejections
            ],
        )


def preview(upload, organisation: Organisation, user_id: int) -> RegisterImport:
    """Keep the uploaded file and queue its check (a dry run, nothing written) on the job
    queue: a large register is never read inside the request. The page shows the counts when
    the check is done.

    Earlier previews of the organisation that were never confirmed are dropped with their files.
    """
    for old in db.session.scalars(
        select(RegisterImport).where(
            RegisterImport.organisation_id == organisation.id,
            RegisterImport.status == ImportStatus.PREVIEWED,
            RegisterImport.stored_as.is_not(None),
        )
    ):
        _forget_file(old)
    stored_as = secrets.token_hex(16) + ".csv"
    upload.save(_upload_dir() / stored_as)
    record = RegisterImport(
        organisation_id=organisation.id,
        uploaded_by_id=user_id,
        filename=clean(upload.filename)[:200],  # as sent by the browser: no control characters
        stored_as=stored_as,
        status=ImportStatus.CHECKING,
    )
    db.session.add(record)
    db.session.flush()
    audit.record("register.preview", detail=f"import {record.id}", actor_id=user_id)
    jobs.defer(db.session, "register.check", record.id)
    db.session.commit()
    return record


def _in_uploaders_language(job):
    """Rejection reasons and file problems are kept in the uploader's language; a worker has
    no request to choose it from."""

    @functools.wraps(job)
    def wrapped(import_id: int, *args):
        from flask_babel import force_locale

        from portal.notifications.messages import links_context

        record = db.session.get(RegisterImport, import_id)
        uploader = record.uploaded_by if record else None
        with links_context(), force_locale((uploader and uploader.preferred_locale) or "en"):
            return job(import_id, *args)

    return wrapped


@jobs.job("register.check")
@_in_uploaders_language
def check(import_id: int) -> None:
    """The preview: the whole file run through the import and rolled back; its counts kept."""
    record = db.session.get(RegisterImport, import_id)
    path = _stored(record) if record and record.status == ImportStatus.CHECKING else None
    if path is None:
        return
    organisation = db.session.get(Organisation, record.organisation_id)
    try:
        with path.open("rb") as stream:
            outcome = run_import(
                stream, organisation, actor_id=record.uploaded_by_id, progress=_tracker(record)
            )
            stream.seek(0)
            columns, _lines = csvfile.read(stream)
        problem = None
    except csvfile.FileProblem as refused:
        outcome, columns, problem = None, [], str(refused.message)
    db.session.rollback()  # a preview changes nothing
    record = db.session.get(RegisterImport, import_id)
    record.columns = json.dumps(columns)
    if outcome is None:
        record.status, record.problem = ImportStatus.FAILED, problem
        _forget_file(record)
    else:
        record.status = ImportStatus.PREVIEWED
        _counts(record, outcome)
    db.session.commit()


def confirm(record: RegisterImport, user_id: int) -> bool:
    """Queue the import of the previewed file; False when it is no longer waiting (already
    confirmed, done, or gone). One conditional UPDATE, so a double click imports once."""
    if _stored(record) is None:
        return False
    claimed = db.session.execute(
        update(RegisterImport)
        .where(RegisterImport.id == record.id, RegisterImport.status == ImportStatus.PREVIEWED)
        .values(status=ImportStatus.IMPORTING)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    jobs.defer(db.session, "register.run", record.id, user_id)
    db.session.commit()
    return True


@jobs.job("register.run")
@_in_uploaders_language
def run(import_id: int, user_id: int) -> None:
    """Import a confirmed file for real, in one transaction (a failure changes nothing)."""
    record = db.session.get(RegisterImport, import_id, populate_existing=True)
    path = _stored(record) if record and record.status == ImportStatus.IMPORTING else None
    if path is None:
        return
    organisation = db.session.get(Organisation, record.organisation_id)
    try:
        with path.open("rb") as stream:
            outcome = run_import(stream, organisation, actor_id=user_id, progress=_tracker(record))
    except csvfile.FileProblem as refused:
        db.session.rollback()
        record = db.session.get(RegisterImport, import_id)
        record.status, record.problem = ImportStatus.FAILED, str(refused.message)
    else:
        _counts(record, outcome)
        record.status = ImportStatus.COMPLETED
        record.completed_at = utcnow()
    _forget_file(record)
    db.session.commit()


# --- progress, for the page while a worker checks or imports ------------------------------

PROGRESS_SECONDS = 3600


def _progress_store():
    """The broker's Redis, which the workers and web servers share; without one the job runs
    in the web process and no progress is shown."""
    url = current_app.config.get("CELERY_BROKER_URL") or ""
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _tracker(record: RegisterImport):
    """A ``run_import`` progress callback keeping the share of the file read so far."""
    store, path = _progress_store(), _stored(record)
    size = path.stat().st_size if path else 0
    key = f"portal:register-import:{record.id}:{record.status}"

    def tracked(bytes_read: int) -> None:
        if store is None or not size:
            return
        with contextlib.suppress(Exception):  # progress is a courtesy; the import goes on
            store.set(key, min(100, 100 * bytes_read // size), ex=PROGRESS_SECONDS)

    return tracked


def progress(record: RegisterImport) -> int | None:
    """Per cent of the file read by the worker, when known."""
    store = _progress_store()
    if store is None:
        return None
    try:
        value = store.get(f"portal:register-import:{record.id}:{record.status}")
    except Exception:  # noqa: BLE001 - Redis down: the page still answers
        return None
    return int(value) if value is not None else None


def import_for(import_id: int, organisation_id: int | None) -> RegisterImport | None:
    record = db.session.get(RegisterImport, import_id)
    if record is None or record.organisation_id != organisation_id:
        return None
    return record


def rejections(record: RegisterImport, limit: int | None = SHOWN_REJECTIONS):
    query = (
        select(RegisterRejection)
        .where(RegisterRejection.import_id == record.id)
        .order_by(RegisterRejection.line)
    )
    return db.session.scalars(query.limit(limit) if limit else query)


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rejections_csv(record: RegisterImport) -> str:
    """The rejected rows with their line and reason, to correct in the next export."""
    columns = json.loads(record.columns or "[]")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["line", "problem", *columns])
    for rejection in rejections(record, limit=None):
        cells = json.loads(rejection.cells) if rejection.cells else []
        writer.writerow(
            [rejection.line, *(spreadsheet_safe(str(v)) for v in (rejection.reason, *cells))]
        )
    return out.getvalue()


def recent_imports(organisation_id: int, limit: int = 10) -> list[RegisterImport]:
    return list(
        db.session.scalars(
            select(RegisterImport)
            .where(RegisterImport.organisation_id == organisation_id)
            .order_by(RegisterImport.id.desc())
            .limit(limit)
        )
    )


def register_size(organisation_id: int) -> tuple[int, int]:
    """People on the register now, and people who have left it."""
    on, left = db.session.execute(
        select(
            func.count().filter(RegisterEntry.left_on.is_(None)),
            func.count().filter(RegisterEntry.left_on.is_not(None)),
        )
        .select_from(RegisterEntry)
        .join(Patient, Patient.id == RegisterEntry.patient_id)
        .where(Patient.organisation_id == organisation_id)
    ).one()
    return on, left


def people(organisation_id: int, search: str, page: int):
    """The organisation's register, by family name; ``search`` is a name or an NHS number."""
    query = (
        select(Patient)
        .join(RegisterEntry, RegisterEntry.patient_id == Patient.id)
        .where(Patient.organisation_id == organisation_id)
        .order_by(Patient.family_name, Patient.given_name, Patient.id)
    )
    if search:
        digits = nhs_number.normalise(search)
        like = "%" + search.replace("\\", "").replace("%", "").replace("_", "") + "%"
        query = query.where(
            or_(
                Patient.nhs_number == digits,
                Patient.family_name.ilike(like),
                Patient.given_name.ilike(like),
            )
        )
    return paginate(query, page, PER_PAGE)


def entry(patient_id: int) -> RegisterEntry | None:
    return db.session.get(RegisterEntry, patient_id)
