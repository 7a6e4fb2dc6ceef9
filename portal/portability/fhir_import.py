"""Importing a plan from another system as proposals to review with the patient.

Nothing is trusted: size, JSON shape, FHIR structure, coded values, the patient's identity and
every text length are checked before anything is written, and the whole import is one
transaction, so a refused file changes nothing.
"""

import json
import re
from dataclasses import dataclass
from datetime import date

from fhir.resources.R4B.bundle import Bundle
from flask_babel import gettext as _
from pydantic import ValidationError

from portal import audit
from portal.extensions import db
from portal.limits import (
    CRISIS_ACTIONS_LIMIT,
    CRISIS_SIGNS_LIMIT,
    CRISIS_WHO_LIMIT,
    PlanFull,
    has_room,
)
from portal.models import CarePlan, CrisisStep, Goal, User
from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT
from portal.portability import fhir_codes as codes
from portal.portability import valuesets as vs

MAX_BYTES = 512 * 1024
MAX_ENTRIES = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

FHIR_TO_GOAL_STATUS = {
    "proposed": "proposed",
    "planned": "proposed",
    "accepted": "proposed",
    "active": "proposed",
    "on-hold": "proposed",
    "completed": "achieved",
    "cancelled": "withdrawn",
    "rejected": "withdrawn",
    "entered-in-error": "withdrawn",
}


class ImportRefused(Exception):
    """The file was refused; ``str(e)`` is a message for the person who sent it."""


@dataclass
class ImportResult:
    goals: int
    crisis_steps: int


def _text(value, limit: int) -> str:
    text = _CONTROL.sub("", value or "").strip()
    if len(text) > limit:
        raise ImportRefused(
            _("A text in the file is longer than %(limit)d characters.", limit=limit)
        )
    return text


def _parse(raw: bytes) -> dict:
    if len(raw) > MAX_BYTES:
        raise ImportRefused(_("The file is too large. The largest file you can import is 512 KB."))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ImportRefused(_("The file is not a FHIR JSON file.")) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ImportRefused(_("The file is not a FHIR Bundle.")) from None
    if len(data.get("entry") or []) > MAX_ENTRIES:
        raise ImportRefused(_("The file has too many entries."))
    try:
        Bundle.model_validate(data)
    except (ValidationError, ValueError, TypeError, RecursionError):
        raise ImportRefused(_("The file does not follow the FHIR R4 format.")) from None
    if codes.problems(data):
        raise ImportRefused(_("The file uses codes that are not allowed in FHIR R4."))
    return data


def _resources(data: dict) -> dict[str, list[tuple[str, dict]]]:
    by_type: dict[str, list[tuple[str, dict]]] = {}
    for entry in data.get("entry") or []:
        resource = entry.get("resource") or {}
        by_type.setdefault(resource.get("resourceType"), []).append(
            (entry.get("fullUrl", ""), resource)
        )
    return by_type


def _check_patient(by_type, nhs_number: str) -> None:
    patients = by_type.get("Patient", [])
    numbers = {
        ident.get("value")
        for _url, p in patients
        for ident in p.get("identifier") or []
        if ident.get("system") == vs.NHS_NUMBER_SYSTEM
    }
    if len(patients) != 1 or numbers != {nhs_number}:
        raise ImportRefused(_("The file is for a different patient. Nothing was imported."))


def _goal_status(goal: dict) -> str:
    status = FHIR_TO_GOAL_STATUS[goal["lifecycleStatus"]]
    achievement = (goal.get("achievementStatus") or {}).get("coding") or []
    if status == "achieved" and any(c.get("code") == "not-achieved" for c in achievement):
        return "not_achieved"
    return status


def _due(goal: dict) -> date | None:
    for target in goal.get("target") or []:
        if target.get("dueDate"):
            return date.fromisoformat(str(target["dueDate"]))
    return None


def import_bundle(plan: CarePlan, raw: bytes, user: User) -> ImportResult:
    data = _parse(raw)
    by_type = _resources(data)
    _check_patient(by_type, plan.patient.nhs_number)
    careplans = by_type.get("CarePlan", [])
    if len(careplans) != 1:
        raise ImportRefused(_("The file must hold exactly one care plan."))
    careplan = careplans[0][1]
    steps_by_goal: dict[str, str] = {}
    crisis: list[CrisisStep] = []
    proposal = {"pending_review": True, "updated_by_id": user.id}
    for activity in careplan.get("activity") or []:
        detail = activity.get("detail") or {}
        levels = [
            c.get("code")
            for c in (detail.get("code") or {}).get("coding", [])
            if c.get("system") == vs.CRISIS_LEVEL_SYSTEM
        ]
        if levels:
            signs = " ".join(r.get("text", "") for r in detail.get("reasonCode") or [])
            performers = detail.get("performer") or []
            crisis.append(
                CrisisStep(
                    plan_id=plan.id,
                    level=levels[0],
                    signs=_text(signs, CRISIS_SIGNS_LIMIT),
                    actions=_text(detail.get("description"), CRISIS_ACTIONS_LIMIT),
                    who_to_call=_text(
                        performers[0].get("display") if performers else "", CRISIS_WHO_LIMIT
                    ),
                    position=len(crisis),
                    **proposal,
                )
            )
        else:
            for goal_ref in detail.get("goal") or []:
                steps_by_goal[goal_ref.get("reference", "")] = _text(
                    detail.get("description"), TEXT_LIMIT
                )
    goals = []
    for url, resource in by_type.get("Goal", []):
        notes = " ".join(n.get("text", "") for n in resource.get("note") or [])
        goals.append(
            Goal(
                plan_id=plan.id,
                title=_text((resource.get("description") or {}).get("text"), SHORT_LIMIT)
                or _("Goal"),
                why_it_matters=_text(notes, TEXT_LIMIT),
                steps=steps_by_goal.get(url, ""),
                target_date=_due(resource),
                status=_goal_status(resource),
                proposed_by_id=user.id,
                **proposal,
            )
        )
    for model, adding in ((Goal, goals), (CrisisStep, crisis)):
        if adding and not has_room(model, plan.id, len(adding)):
            raise ImportRefused(PlanFull(model).message)  # nothing was imported
    db.session.add_all(goals + crisis)
    audit.record("fhir.import", plan.patient_id, f"{len(goals)} goals, {len(crisis)} crisis steps")
    db.session.commit()
    return ImportResult(len(goals), len(crisis))
