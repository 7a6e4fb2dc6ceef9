"""Bringing a register file into the portal: new people added, changes applied, leavers marked.

One transaction per import: this module never commits, the caller commits when the import
finished and rolls back otherwise (a dry run always rolls back), so a failed import changes
nothing. Rows are read one at a time and written in batches of ``BATCH``; what is kept for
the whole file is one NHS number and one id per person (to find duplicates and leavers).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select, update

from portal import audit, nhs_number
from portal.extensions import db
from portal.models import AuditEvent, NhsNumberStatus, Organisation, Patient, patient_conditions
from portal.models.base import utcnow
from portal.models.register import RegisterEntry
from portal.register import csvfile
from portal.register.rows import RegisterRow, RowProblem, check

BATCH = 1000
CELLS_KEPT = 4000  # characters of a rejected row kept for the corrections file

# What an optional value of the file sets on the patient, and its value for a new patient.
PATIENT_FIELDS = {
    "initial_assessment_date": ("initial_assessment_date", None),
    "ethnicity": ("ethnicity_category", "not_stated"),
    "preferred_language": ("preferred_language", "en"),
    "interpreter_needed": ("interpreter_needed", False),
    "communication_needs": ("communication_needs", None),
    "nhs_number_status": ("nhs_number_status", NhsNumberStatus.NOT_TRACED),
}
ENTRY_FIELDS = ("existing_plan_reviewed_on", "email", "mobile", "postcode")


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: object  # lazy translated text
    cells: list[str] | None


@dataclass
class Outcome:
    """What an import did (or, in a dry run, would do)."""

    rows: int = 0
    new: int = 0
    updated: int = 0
    transferred: int = 0
    unchanged: int = 0
    left: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


class _Run:
    def __init__(self, organisation: Organisation, today: date, actor_id: int | None):
        self.organisation = organisation
        self.today = today
        self.actor_id = actor_id
        self.outcome = Outcome()
        self.first_line: dict[str, int] = {}  # NHS number -> line it first appeared on
        self.present: set[int] = set()  # patient ids on this register in the file
        # Valid NHS numbers of rejected rows: still in the file, so not leavers.
        self.held_back: set[str] = set()
        self.events: list[dict] = []

    def reject(self, line: int, reason, cells: list[str] | None) -> None:
        kept = None
        if cells is not None and sum(len(c) for c in cells) <= CELLS_KEPT:
            kept = cells
        self.outcome.rejections.append(Rejection(line, reason, kept))

    def event(self, action: str, patient_id: int, detail: str = "") -> None:
        self.events.append(
            {
                "occurred_at": utcnow(),
                "actor_id": self.actor_id,
                "patient_id": patient_id,
                "action": action,
                "detail": detail,
            }
        )

    def flush_events(self) -> None:
        if self.events:
            db.session.execute(insert(AuditEvent), self.events)
            self.events = []


def run_import(
    stream: BinaryIO,
    organisation: Organisation,
    actor_id: int | None = None,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Read ``stream`` into ``organisation``'s register; raises ``csvfile.FileProblem``.

    ``progress`` is called after each batch with the bytes read so far. The caller commits.
    """
    run = _Run(organisation, today or date.today(), actor_id)
    tracker = csvfile.Progress()
    columns, lines = csvfile.read(stream, tracker)
    column_set = set(columns)
    batch: list[tuple[int, RegisterRow, list[str]]] = []
    for line in lines:
        run.outcome.rows += 1
        row = _checked(run, line, columns, column_set)
        if row is not None:
            batch.append((line.number, row, line.cells))
        if len(batch) >= BATCH:
            _apply(run, batch)
            batch = []
            if progress:
                progress(tracker.bytes_read)
    _apply(run, batch)
    _mark_leavers(run)
    run.flush_events()
    o = run.outcome
    audit.record(
        "register.import",
        detail=(
            f"organisation {organisation.id}: {o.new} new, {o.updated} updated, "
            f"{o.unchanged} unchanged, {o.left} left, {o.rejected} rejected"
        ),
        actor_id=actor_id,
    )
    if progress:
        progress(tracker.bytes_read)
    return o


def _checked(run: _Run, line: csvfile.Line, columns, column_set) -> RegisterRow | None:
    if line.cells is None:
        run.reject(line.number, line.problem, None)
        return None
    cells = line.cells
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
        run.reject(line.number, _l("The row has more values than the first row has columns"), cells)
        return None
    try:
        row = check(dict(zip(columns, cells, strict=False)), column_set, run.today)
    except RowProblem as problem:
        run.reject(line.number, problem.message, cells)
        at = columns.index("nhs_number")
        number = nhs_number.normalise(cells[at] if at < len(cells) else "")
        if nhs_number.is_valid(number):
            run.held_back.add(number)
        return None
    first = run.first_line.get(row.nhs_number)
    if first is not None:
        run.reject(line.number, _l("The NHS number is already on line %(line)d", line=first), cells)
        return None
    run.first_line[row.nhs_number] = line.number
    return row


def _apply(run: _Run, batch: list[tuple[int, RegisterRow, list[str]]]) -> None:
    if not batch:
        return
    numbers = [row.nhs_number for _, row, _ in batch]
    # Plain columns, not objects: an unchanged row (most of a re-import) loads nothing more.
    existing = {
        found.nhs_number: found
        for found in db.session.execute(
            select(
                Patient.id,
                Patient.nhs_number,
                Patient.organisation_id,
                Patient.date_of_birth,
                RegisterEntry.patient_id.label("entry_id"),
                RegisterEntry.fingerprint,
                RegisterEntry.left_on,
            )
            .outerjoin(RegisterEntry, RegisterEntry.patient_id == Patient.id)
            .where(Patient.nhs_number.in_(numbers))
        )
    }
    new_rows = []
    for line, row, cells in batch:
        found = existing.get(row.nhs_number)
        if found is None:
            new_rows.append(row)
            continue
        run.present.add(found.id)
        if found.date_of_birth != row.date_of_birth:
            # The same NHS number with another date of birth: a typing error, or not this person.
            run.reject(
                line,
                _l("The NHS number is held for someone with a different date of birth"),
                cells,
            )
            continue
        fingerprint = row.fingerprint()
        if (
            found.entry_id is not None
            and found.organisation_id == run.organisation.id
            and found.fingerprint == fingerprint
            and found.left_on is None
        ):
            run.outcome.unchanged += 1
            continue
        patient = db.session.get(Patient, found.id)
        entry = db.session.get(RegisterEntry, found.id) if found.entry_id else None
        _update(run, patient, entry, row, fingerprint)
    _insert(run, new_rows)
    run.flush_events()


def _insert(run: _Run, rows: list[RegisterRow]) -> None:
    if not rows:
        return
    now = utcnow()
    patients = []
    for row in rows:
        values = {
            "organisation_id": run.organisation.id,
            "nhs_number": row.nhs_number,
            "given_name": row.given_name,
            "family_name": row.family_name,
            "date_of_birth": row.date_of_birth,
            "sex": row.sex,
            # Implied consent to share with the practice care team for direct care, until the
            # patient says otherwise.
            "care_team_consent": True,
            "created_at": now,
        }
        for name, (attribute, default) in PATIENT_FIELDS.items():
            value = getattr(row, name)
            values[attribute] = default if value is None else value
        patients.append(values)
    ids = {
        number: pid
        for pid, number in db.session.execute(
            insert(Patient).returning(Patient.id, Patient.nhs_number), patients
        )
    }
    entries, links = [], []
    for row in rows:
        pid = ids[row.nhs_number]
        run.present.add(pid)
        entries.append(
            {
                "patient_id": pid,
                "registered_on": row.registered_on,
                "fingerprint": row.fingerprint(),
                "added_at": now,
                "updated_at": now,
                **{name: getattr(row, name) for name in ENTRY_FIELDS},
            }
        )
        links += [{"patient_id": pid, "condition_code": code} for code in row.conditions]
        run.event("register.added", pid, f"organisation {run.organisation.id}")
    db.session.execute(insert(RegisterEntry), entries)
    db.session.execute(insert(patient_conditions), links)
    run.outcome.new += len(rows)


def _update(run: _Run, patient: Patient, entry, row: RegisterRow, fingerprint: str) -> None:
    """A changed row, a person back on the register, or one moving here from another practice."""
    if patient.organisation_id != run.organisation.id:
        old = patient.organisation_id
        patient.organisation_id = run.organisation.id
        run.event("register.transferred_out", patient.id, f"organisation {old}")
        run.event("register.transferred_in", patient.id, f"organisation {run.organisation.id}")
        run.outcome.transferred += 1
    patient.given_name = row.given_name
    patient.family_name = row.family_name
    patient.date_of_birth = row.date_of_birth
    patient.sex = row.sex
    for name, (attribute, _default) in PATIENT_FIELDS.items():
        value = getattr(row, name)
        if value is not None:
            setattr(patient, attribute, value)
    if entry is None:
        entry = RegisterEntry(patient_id=patient.id, added_at=utcnow())
        db.session.add(entry)
    entry.registered_on = row.registered_on
    for name in ENTRY_FIELDS:
        value = getattr(row, name)
        if value is not None:
            setattr(entry, name, value)
    entry.left_on = None
    entry.fingerprint = fingerprint
    entry.updated_at = utcnow()
    set_conditions(patient.id, row.conditions)
    run.event("register.updated", patient.id, f"organisation {run.organisation.id}")
    run.outcome.updated += 1


def set_conditions(patient_id: int, codes) -> None:
    """Replace a patient's conditions with ``codes`` (Appendix 1 codes)."""
    db.session.execute(
        delete(patient_conditions).where(patient_conditions.c.patient_id == patient_id)
    )
    db.session.execute(
        insert(patient_conditions),
        [{"patient_id": patient_id, "condition_code": code} for code in codes],
    )


def _mark_leavers(run: _Run) -> None:
    """Everyone on this register whom the file no longer lists has left it (kept, marked)."""
    on_register = db.session.scalars(
        select(RegisterEntry.patient_id)
        .join(Patient, Patient.id == RegisterEntry.patient_id)
        .where(Patient.organisation_id == run.organisation.id, RegisterEntry.left_on.is_(None))
    ).all()
    held_back = list(run.held_back)
    for start in range(0, len(held_back), BATCH):
        run.present.update(
            db.session.scalars(
                select(Patient.id).where(Patient.nhs_number.in_(held_back[start : start + BATCH]))
            )
        )
    leavers = [pid for pid in on_register if pid not in run.present]
    for start in range(0, len(leavers), BATCH):
        chunk = leavers[start : start + BATCH]
        db.session.execute(
            update(RegisterEntry)
            .where(RegisterEntry.patient_id.in_(chunk))
            .values(left_on=run.today, updated_at=utcnow())
        )
        for pid in chunk:
            run.event("register.left", pid, f"organisation {run.organisation.id}")
        run.flush_events()
    run.outcome.left = len(leavers)


def add_one(row: RegisterRow, organisation: Organisation, actor_id: int | None) -> Outcome:
    """One person added by hand, with the checks of an import (nobody is marked as a leaver).

    The caller commits; ``Outcome.rejections`` holds the reason when the person was refused.
    """
    run = _Run(organisation, date.today(), actor_id)
    run.outcome.rows = 1
    _apply(run, [(0, row, [])])
    return run.outcome


def on_register(nhs: str, organisation_id: int) -> bool:
    """Whether the NHS number is on this organisation's register now."""
    return (
        db.session.scalar(
            select(RegisterEntry.patient_id)
            .join(Patient, Patient.id == RegisterEntry.patient_id)
            .where(
                Patient.nhs_number == nhs,
                Patient.organisation_id == organisation_id,
                RegisterEntry.left_on.is_(None),
            )
        )
        is not None
    )
