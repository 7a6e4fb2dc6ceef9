"""History of the agreed plan: every version, one version, and what changed between two."""

from flask import abort, render_template, request

from portal import audit
from portal.conversations import services as conversations
from portal.extensions import db
from portal.fields import whole_number
from portal.pages import patient_page
from portal.permissions import Action
from portal.plan_lookup import plan_id_for
from portal.versions import bp
from portal.versions import labels as version_labels
from portal.versions.display import snapshot_value
from portal.versions.services import (
    FIELDS,
    diff,
    get_version,
    history,
    meeting_for_version,
    ordered_keys,
)

bp.add_app_template_global(snapshot_value, "snapshot_value")
bp.add_app_template_global(version_labels, "version_labels")
bp.add_app_template_global(FIELDS, "snapshot_fields")
bp.add_app_template_global(
    lambda section, entries: ordered_keys(section, entries, entries), "snapshot_keys"
)


@bp.route("/patients/<int:patient_id>/versions")
@patient_page(Action.VIEW_PLAN)
def versions(patient_id: int, access):
    plan_id = plan_id_for(patient_id)
    rows = history(plan_id)
    audit.record("versions.view", patient_id, "version history")
    db.session.commit()
    # Closed conversations stay in the plan's history, for those who may read them.
    closed = []
    if access.allows(Action.READ_CONVERSATIONS):
        closed = [c for c in conversations.for_patient(patient_id) if not c.is_open]
    return render_template(
        "versions/history.html",
        access=access,
        patient=access.patient,
        rows=rows,
        closed_conversations=closed,
    )


@bp.route("/patients/<int:patient_id>/versions/<int:number>")
@patient_page(Action.VIEW_PLAN)
def version(patient_id: int, number: int, access):
    found = get_version(plan_id_for(patient_id), number)
    if found is None:
        abort(404)
    meeting = meeting_for_version(found)
    audit.record("version.view", patient_id, f"version {number}")
    db.session.commit()
    # The conversations the meeting's record refers to, for those who may read them (a carer
    # who may only view the plan does not see the patient's messages).
    talked_about = meeting.conversations if meeting else []
    return render_template(
        "versions/version.html",
        access=access,
        patient=access.patient,
        version=found,
        meeting=meeting,
        conversations=talked_about if access.allows(Action.READ_CONVERSATIONS) else [],
    )


def _number(name: str) -> int | None:
    return whole_number(request.args.get(name))


@bp.route("/patients/<int:patient_id>/versions/compare")
@patient_page(Action.VIEW_PLAN)
def compare(patient_id: int, access):
    """Two versions chosen by number; the older is always shown first.

    A read-only GET form (nothing changes), so it carries no CSRF token.
    """
    plan_id = plan_id_for(patient_id)
    rows = history(plan_id)
    numbers = [r.number for r in rows]
    first, second = _number("from"), _number("to")
    if first is None and second is None and len(numbers) >= 2:
        first, second = numbers[1], numbers[0]  # the last two, by default
    error = None
    changes = older = newer = None
    if first is None or second is None:
        error = "missing" if numbers else None
    elif first not in numbers or second not in numbers:
        abort(404)
    elif first == second:
        error = "same"
    else:
        low, high = sorted((first, second))
        older, newer = get_version(plan_id, low), get_version(plan_id, high)
        changes = diff(older.snapshot, newer.snapshot)
        audit.record("versions.compare", patient_id, f"versions {low} and {high}")
        db.session.commit()
    return render_template(
        "versions/compare.html",
        access=access,
        patient=access.patient,
        numbers=numbers,
        first=first,
        second=second,
        error=error,
        older=older,
        newer=newer,
        changes=changes,
    )
