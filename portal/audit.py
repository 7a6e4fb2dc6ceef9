"""Audit trail writes. Events are only ever added, never changed or removed."""

from flask import has_request_context
from flask_login import current_user

from portal.extensions import db
from portal.models import AuditEvent


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
