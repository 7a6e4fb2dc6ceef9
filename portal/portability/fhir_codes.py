"""Checks every coded value of a bundle against the FHIR value sets the portal relies on."""

from portal.portability import terminology as term
from portal.portability import valuesets as vs

_SIMPLE = {
    ("CarePlan", "status"): vs.CAREPLAN_STATUS,
    ("CarePlan", "intent"): vs.CAREPLAN_INTENT,
    ("Goal", "lifecycleStatus"): vs.GOAL_LIFECYCLE,
    ("CareTeam", "status"): vs.CARETEAM_STATUS,
    ("Consent", "status"): vs.CONSENT_STATUS,
    ("Patient", "gender"): vs.ADMINISTRATIVE_GENDER,
}

_CODED = {
    ("Goal", "achievementStatus"): (vs.GOAL_ACHIEVEMENT_SYSTEM, vs.GOAL_ACHIEVEMENT),
    ("Condition", "clinicalStatus"): (vs.CONDITION_CLINICAL_SYSTEM, vs.CONDITION_CLINICAL),
    ("Consent", "scope"): (vs.CONSENT_SCOPE_SYSTEM, vs.CONSENT_SCOPE),
}


def _codings(concept: dict | None, system: str) -> list[str]:
    return [c.get("code") for c in (concept or {}).get("coding", []) if c.get("system") == system]


def problems(bundle: dict) -> list[str]:
    """Codes outside their value set, as ``Resource.field=value`` strings."""
    found: list[str] = []
    if bundle.get("type") not in vs.BUNDLE_TYPE:
        found.append(f"Bundle.type={bundle.get('type')}")
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        for (rtype, field), allowed in _SIMPLE.items():
            if kind == rtype and field in resource and resource[field] not in allowed:
                found.append(f"{rtype}.{field}={resource[field]}")
        for (rtype, field), (system, allowed) in _CODED.items():
            if kind == rtype:
                found.extend(
                    f"{rtype}.{field}={code}"
                    for code in _codings(resource.get(field), system)
                    if code not in allowed
                )
        if kind == "Consent":
            provision = (resource.get("provision") or {}).get("type")
            if provision is not None and provision not in vs.CONSENT_PROVISION:
                found.append(f"Consent.provision.type={provision}")
        if kind == "CarePlan":
            for activity in resource.get("activity") or []:
                detail = activity.get("detail")
                if detail is None:  # activity.reference: the activity is another resource
                    continue
                if detail.get("status") not in vs.ACTIVITY_STATUS:
                    found.append(f"CarePlan.activity.detail.status={detail.get('status')}")
                found.extend(
                    f"CarePlan.activity.detail.code={c.get('code')}"
                    for c in (detail.get("code") or {}).get("coding") or []
                    if term.is_crisis_level_system(c.get("system"))
                    and c.get("code") not in vs.CRISIS_LEVELS
                )
    return found
