"""Audit trail writes. Events are only ever added, never changed or removed.

The rule is enforced here, not just followed: a session that tries to flush a changed or
deleted ``AuditEvent``, or to run an ORM ``update()``/``delete()`` on the table, raises
``AuditTampering`` before anything reaches the database.
"""

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import AuditEvent


class AuditTampering(RuntimeError):
    """Something tried to change or remove an audit event."""


def record(action: str, patient_id: int | None = None, detail: str = "", actor_id=None) -> None:
    """Add an audit event to the current transaction (committed with the request's work).

    ``detail`` names what was touched (``goal 12``), never its content: the log carries no
    health data.
    """
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    db.session.add(
        AuditEvent(actor_id=actor_id, patient_id=patient_id, action=action, detail=detail[:200])
    )


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
