"""SMART on FHIR scopes: which resource types a token may read, and for whom.

``patient/<Type>.read`` reads the one patient chosen at launch, ``user/<Type>.read`` whatever
the signed-in person may see, ``system/<Type>.read`` whatever the organisation's care team may
see. ``<Type>`` may be ``*``. SMART v2's ``.rs`` (read and search), ``.r`` and ``.s`` are
understood too; nothing here ever allows a change. Who may see which patient is still decided
by ``portal.permissions``: a scope only narrows it.
"""

import re
from dataclasses import dataclass

_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]{1,40})\.(read|rs|r|s)")
# Scopes that are not about resources: the launch context, and OpenID's.
CONTEXT_SCOPES = frozenset({"launch/patient", "openid", "fhirUser"})


@dataclass(frozen=True)
class Scope:
    context: str  # patient, user or system
    kind: str  # a resource type or "*"
    read: bool
    search: bool


def parse(scope: str) -> Scope | None:
    match = _SCOPE.fullmatch(scope)
    if match is None:
        return None
    context, kind, ops = match.groups()
    return Scope(context, kind, ops in ("read", "rs", "r"), ops in ("read", "rs", "s"))


def covers(granted: Scope, wanted: Scope) -> bool:
    return (
        granted.context == wanted.context
        and granted.kind in ("*", wanted.kind)
        and (granted.read or not wanted.read)
        and (granted.search or not wanted.search)
    )


def allowed_of(registered: str, requested: str) -> str:
    """The requested scopes a client's registration covers (the others are dropped)."""
    have = [s for s in (parse(r) for r in registered.split()) if s]
    kept = []
    for scope in (requested or "").split():
        wanted = parse(scope)
        if (
            scope in CONTEXT_SCOPES
            and scope in registered.split()
            or wanted
            and any(covers(g, wanted) for g in have)
        ):
            kept.append(scope)
    return " ".join(dict.fromkeys(kept))


def permits(granted: str, context: str, kind: str, search: bool) -> bool:
    """Whether ``granted`` scopes let a token of this context read (or search) ``kind``."""
    wanted = Scope(context, kind, read=not search, search=search)
    return any(covers(s, wanted) for s in (parse(g) for g in granted.split()) if s)
