"""Register work behind the pages: the upload kept between preview and confirmation, the
import itself, the corrections file, and the list of people on the register."""

import csv
import io
import json
import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select

from portal import audit, nhs_number
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
    """Keep the uploaded file, check it as a dry run (nothing written), and record the counts.

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
    path = _upload_dir() / stored_as
    upload.save(path)
    name = clean(upload.filename)[:200]  # as sent by the browser: no control characters
    organisation_id = organisation.id
    try:
        with path.open("rb") as stream:
            outcome = run_import(stream, organisation, actor_id=user_id)
            stream.seek(0)
            columns, _lines = csvfile.read(stream)
        problem = None
    except csvfile.FileProblem as refused:
        outcome, columns, problem = None, [], str(refused.message)
    db.session.rollback()  # a preview changes nothing
    record = RegisterImport(
        organisation_id=organisation_id,
        uploaded_by_id=user_id,
        filename=name,
        stored_as=stored_as if problem is None else None,
        columns=json.dumps(columns),
        status=ImportStatus.PREVIEWED if problem is None else ImportStatus.FAILED,
        problem=problem,
    )
    db.session.add(record)
    db.session.flush()
    if outcome is not None:
        _counts(record, outcome)
    else:
        path.unlink(missing_ok=True)
    audit.record("register.preview", detail=f"import {record.id}", actor_id=user_id)
    db.session.commit()
    return record


def confirm(record: RegisterImport, user_id: int) -> bool:
    """Import the previewed file for real; False when it is no longer waiting (done, or gone)."""
    path = _stored(record) if record.status == ImportStatus.PREVIEWED else None
    if path is None:
        return False
    organisation = db.session.get(Organisation, record.organisation_id)
    try:
        with path.open("rb") as stream:
            outcome = run_import(stream, organisation, actor_id=user_id)
    except csvfile.FileProblem as refused:
        db.session.rollback()
        record.status, record.problem = ImportStatus.FAILED, str(refused.message)
    else:
        _counts(record, outcome)
        record.status = ImportStatus.COMPLETED
        record.completed_at = utcnow()
    _forget_file(record)
    db.session.commit()
    return True


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
