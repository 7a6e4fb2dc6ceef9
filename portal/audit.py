"""Audit trail writes. Events are only ever added, never changed or removed.

The rule is enforced here, not just followed: a session that tries to flush a changed or
deleted ``AuditEvent``, or to run an ORM ``update()``/``delete()`` on the table, raises
``AuditTampering`` before anything reaches the database.
"""

from flask import current_app, g, has_app_context, has_request_context
from flask_login import current_user
from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from portal import audit_actions
from portal.extensions import db
from portal.models import AuditEvent
from portal.models.base import utcnow

# Built once: every page view runs this same statement, so it is compiled only once.
_INSERT_EVENT = insert(AuditEvent.__table__)
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")


class AuditTampering(RuntimeError):
    """Something tried to change or remove an audit event."""


def acting_organisation(patient_id: int | None) -> int | None:
    """The organisation the signed-in person reached this patient through in this request."""
    known = g.get("patient_access") if has_app_context() else None
    if patient_id is None or known is None or known[1].patient.id != patient_id:
        return None
    return known[1].organisation_id


def record(
    action: str,
    patient_id: int | None = None,
    detail: str = "",
    actor_id=None,
    organisation_id: int | None = None,
) -> None:
    """Add an audit event to the current transaction (committed with the request's work).

    ``detail`` names what was touched (``goal 12``), never its content: the log carries no
    health data. ``action`` must be a name in ``portal.audit_actions``. The organisation the
    actor acted for is named too (by default the one their access to the patient came from).
    """
    audit_actions.check(action)
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    db.session.add(
        AuditEvent(
            actor_id=actor_id,
            patient_id=patient_id,
            action=action,
            detail=detail[:200],
            organisation_id=organisation_id or acting_organisation(patient_id),
        )
    )


def record_view(action: str, patient_id: int, detail: str = "") -> None:
    """Record that the signed-in person looked at a patient's record: one INSERT, no ORM object.

    For views that change nothing else in their transaction. With
    ``AUDIT_VIEW_ASYNC_COMMIT`` on, PostgreSQL does not wait for this transaction's log to reach
    disk before answering (``synchronous_commit = off``, for this transaction only): a crash
    could lose the last fraction of a second of view events, never a change to a plan.
    """
    audit_actions.check(action)
    db.session.execute(
        _INSERT_EVENT,
        {
            "occurred_at": utcnow(),
            "actor_id": current_user.id,
            "patient_id": patient_id,
            "action": action,
            "detail": detail[:200],
            "organisation_id": acting_organisation(patient_id),
        },
    )
    asynchronous = current_app.config["AUDIT_VIEW_ASYNC_COMMIT"]
    if asynchronous and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_ASYNC_COMMIT)


def _refuse_changes(session: Session, _flush_context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditTampering("audit events cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AuditTampering("audit events cannot be changed")


def _refuse_bulk_changes(state) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is AuditEvent for mapper in state.all_mappers
    ):
        raise AuditTampering("audit events cannot be changed or deleted")


if not event.contains(Session, "before_flush", _refuse_changes):
    event.listen(Session, "before_flush", _refuse_changes)
    event.listen(Session, "do_orm_execute", _refuse_bulk_changes)
