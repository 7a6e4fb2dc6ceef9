"""Importing a plan from another system as proposals to review with the patient.

Nothing is trusted: size, JSON shape (a repeated key is refused), FHIR R4 structure, coded
values, the patient's identity (NHS number, date of birth and family name must all agree) and
every text length are checked before anything is written; a refusal says which resource and
which field. What the file would add, change and leave out is worked out first (``preview``)
and shown to the professional; ``commit`` works it out again and writes it in one transaction.

Entered-in-error, revoked and withdrawn content is skipped. Each imported resource is linked
to what it became here (``ImportLink``), by its business identifier or, without one, by its
content: importing the same file again changes nothing, and an item deleted or asked to be
removed here is never brought back. A crisis step the sender's patient asked to remove (a
``cancelled`` activity in a ``proposal`` CarePlan) is not imported either.
"""

import base64
import binascii
import calendar
import codecs
import hashlib
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from fhir.resources.R4B.bundle import Bundle
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.limits import LIMITS, PlanFull, has_room
from portal.models import (
    CarePlan,
    CareTeamMember,
    Condition,
    ConditionProposal,
    Contact,
    ContactKind,
    CrisisStep,
    Goal,
    GoalStatus,
    NeedsSection,
    Patient,
    ProposalStatus,
    User,
    UsualState,
    Wish,
)
from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT
from portal.nhs_number import normalise
from portal.portability import fhir_codes as codes
from portal.portability import terminology as term
from portal.portability import valuesets as vs
from portal.portability.models import ImportLink

MAX_BYTES = 512 * 1024
MAX_ENTRIES = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# NHS number trace statuses that mean the sender could not confirm whose number it is.
_UNTRACED = frozenset({"03", "04", "05", "06"})
_GONE = frozenset({"entered-in-error", "revoked"})


class ImportRefused(Exception):
    """The file was refused; ``str(e)`` is a message for the person who sent it."""


class ItemKind(StrEnum):
    GOAL = "goal"
    CRISIS_STEP = "crisis_step"
    NEED = "need"
    WISH = "wish"
    USUAL_STATE = "usual_state"
    CONTACT = "contact"
    CARE_TEAM = "care_team"
    CONDITION = "condition"
    CONSENT = "consent"
    OTHER = "other"


class Outcome(StrEnum):
    ADD = "add"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    IGNORE = "ignore"


class Reason(StrEnum):
    ENTERED_IN_ERROR = "entered_in_error"
    CLOSED = "closed"
    REMOVAL_ASKED = "removal_asked"
    REMOVED_HERE = "removed_here"
    DECLINED_HERE = "declined_here"
    NOT_AGREED = "not_agreed"
    NO_PHONE = "no_phone"
    UNKNOWN_CONDITION = "unknown_condition"
    CONSENT = "consent"
    NOT_SUPPORTED = "not_supported"


KIND_LABELS = {
    ItemKind.GOAL: _l("Goal"),
    ItemKind.CRISIS_STEP: _l("If things get worse"),
    ItemKind.NEED: _l("About me: the whole person"),
    ItemKind.WISH: _l("Wishes and preferences"),
    ItemKind.USUAL_STATE: _l("Usual state of health"),
    ItemKind.CONTACT: _l("Who to call"),
    ItemKind.CARE_TEAM: _l("Care team"),
    ItemKind.CONDITION: _l("Long-term condition"),
    ItemKind.CONSENT: _l("Consent to share"),
    ItemKind.OTHER: _l("Other"),
}
OUTCOME_LABELS = {
    Outcome.ADD: _l("Will be added"),
    Outcome.CHANGE: _l("Will be changed"),
    Outcome.UNCHANGED: _l("Already here"),
    Outcome.IGNORE: _l("Left out"),
}
REASON_LABELS = {
    Reason.ENTERED_IN_ERROR: _l("Marked in the file as entered in error or revoked."),
    Reason.CLOSED: _l("No longer current in the file (withdrawn, stopped or resolved)."),
    Reason.REMOVAL_ASKED: _l("Asked to be removed, so it is not brought back."),
    Reason.REMOVED_HERE: _l("Removed from this plan since it was last imported."),
    Reason.DECLINED_HERE: _l("Turned down here before, so it is not proposed again."),
    Reason.NOT_AGREED: _l("A proposal not yet agreed in the sending system."),
    Reason.NO_PHONE: _l("No phone number to call."),
    Reason.UNKNOWN_CONDITION: _l("Not one of the long-term conditions this portal records."),
    Reason.CONSENT: _l("Consent to share is asked for again here."),
    Reason.NOT_SUPPORTED: _l("This portal does not import this kind of entry."),
}


@dataclass
class Change:
    """One thing the file holds, and what importing it would do."""

    kind: ItemKind
    outcome: Outcome
    label: str
    reason: Reason | None = None
    apply: Callable[[], object] | None = field(default=None, repr=False)
    link_keys: list[tuple[str, str]] = field(default_factory=list, repr=False)
    content_hash: str = ""
    link: ImportLink | None = field(default=None, repr=False)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS[self.reason]) if self.reason else ""


@dataclass
class ImportPlan:
    changes: list[Change]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.changes if c.outcome == outcome)

    @property
    def digest(self) -> str:
        """Fingerprint of what would happen: a confirmation of a different outcome is refused."""
        rows = [(c.kind, c.outcome, c.label, c.reason or "") for c in self.changes]
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


# --- reading the file -----------------------------------------------------------------------


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _where(data: dict, loc: tuple) -> tuple[str, str]:
    """Where a validation error is: ``("Goal (entry 4)", "target.dueDate")``."""
    parts = [p for p in loc if isinstance(p, str | int)]
    resource = "Bundle"
    if len(parts) >= 3 and parts[0] == "entry" and isinstance(parts[1], int):
        try:
            kind = data["entry"][parts[1]]["resource"]["resourceType"]
        except (KeyError, IndexError, TypeError):
            kind = "resource"
        resource = f"{str(kind)[:40]} (entry {parts[1] + 1})"
        parts = parts[3:] if parts[2] == "resource" else parts[2:]
    path = ".".join(str(p) for p in parts if isinstance(p, str) and p not in {"root"})
    return resource, path[:120] or "-"


def parse(raw: bytes) -> dict:
    """The file as a dict, or ``ImportRefused`` naming what is wrong."""
    if len(raw) > MAX_BYTES:
        raise ImportRefused(_("The file is too large. The largest file you can import is 512 KB."))
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        raise ImportRefused(
            _(
                "The file repeats the key “%(key)s” in one object, so what it means is unclear.",
                key=_CONTROL.sub("", duplicate.key)[:60],
            )
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ImportRefused(_("The file is not a FHIR JSON file.")) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ImportRefused(_("The file is not a FHIR Bundle."))
    entries = data.get("entry", [])
    if isinstance(entries, list) and len(entries) > MAX_ENTRIES:
        raise ImportRefused(_("The file has too many entries."))
    try:
        Bundle.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0] if error.errors() else {"loc": ()}
        resource, path = _where(data, tuple(first.get("loc") or ()))
        raise ImportRefused(
            _(
                "The file does not follow the FHIR R4 format: %(resource)s, %(field)s.",
                resource=resource,
                field=path,
            )
        ) from None
    except (ValueError, TypeError, RecursionError, KeyError, AttributeError):
        raise ImportRefused(_("The file does not follow the FHIR R4 format.")) from None
    problems = codes.problems(data)
    if problems:
        raise ImportRefused(
            _(
                "The file uses codes that are not allowed in FHIR R4: %(codes)s.",
                codes=", ".join(p[:80] for p in problems[:3]),
            )
        )
    return data


def _text(value, limit: int, where: str = "", what: str = "") -> str:
    text = _CONTROL.sub("", value if isinstance(value, str) else "").strip()
    if len(text) > limit:
        raise ImportRefused(
            _(
                "%(resource)s, %(field)s: the text is longer than %(limit)d characters.",
                resource=where or "Bundle",
                field=what or "-",
                limit=limit,
            )
        )
    return text


def partial_date(value) -> date | None:
    """A FHIR date, which may be a year or a year and month: read as the end of that period."""
    if not isinstance(value, str | date):
        return None
    if isinstance(value, date):
        return value
    try:
        if re.fullmatch(r"\d{4}", value):
            return date(int(value), 12, 31)
        if re.fullmatch(r"\d{4}-\d{2}", value):
            year, month = int(value[:4]), int(value[5:])
            return date(year, month, calendar.monthrange(year, month)[1])
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class Resolver:
    """Finds the resource a reference points at: ``urn:uuid:``, relative or absolute."""

    def __init__(self, entries: list[tuple[str, dict]]):
        self.by_url: dict[str, dict] = {}
        self.by_type_id: dict[tuple[str, str], dict] = {}
        for url, resource in entries:
            if url:
                self.by_url[url] = resource
            if isinstance(resource.get("id"), str):
                self.by_type_id[(resource.get("resourceType"), resource["id"])] = resource

    def get(self, reference, container: dict | None = None) -> dict | None:
        """``container``: the resource holding the reference, for ``#id`` (contained)."""
        ref = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(ref, str):
            return None
        if ref.startswith("#") and container is not None:
            return next(
                (
                    r
                    for r in container.get("contained") or []
                    if isinstance(r, dict) and r.get("id") == ref[1:]
                ),
                None,
            )
        if ref in self.by_url:
            return self.by_url[ref]
        parts = ref.split("/_history/")[0].rstrip("/").split("/")
        if len(parts) >= 2:
            return self.by_type_id.get((parts[-2], parts[-1]))
        return None


def _concept_text(concept) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    return ""


def _codes_of(concept, system: str | None = None) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [
        c.get("code")
        for c in concept.get("coding") or []
        if c.get("code") and (system is None or c.get("system") == system)
    ]


def _language(resource: dict) -> str | None:
    code = resource.get("language")
    if not isinstance(code, str):
        return None
    code = code.replace("-", "_")
    return code if code in LANGUAGES else None


def _identifiers(resource: dict) -> list[tuple[str, str]]:
    found = resource.get("identifier") or []
    found = [found] if isinstance(found, dict) else found
    return [
        (str(i["system"])[:250], str(i["value"])[:250])
        for i in found
        if isinstance(i, dict) and i.get("system") and i.get("value")
    ][:3]


def _limit(entry_code: str) -> int:
    """How long the text of a plan entry may be here (usual-state locations are short)."""
    section, _sep, name = entry_code.partition("-")
    if section == "usual":
        return UsualState.__table__.c[name].type.length or TEXT_LIMIT
    return TEXT_LIMIT


def _hash(*values) -> str:
    return hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()


# --- who the file is about ------------------------------------------------------------------


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_identity(patients: list[dict], patient: Patient) -> None:
    """NHS number, date of birth and family name must all agree with this patient."""
    if len(patients) != 1:
        raise ImportRefused(_("The file must be about one patient. Nothing was imported."))
    resource = patients[0]
    numbers, statuses = set(), set()
    for ident in resource.get("identifier") or []:
        if ident.get("system") == vs.NHS_NUMBER_SYSTEM and isinstance(ident.get("value"), str):
            numbers.add(normalise(ident["value"]))
            for ext in ident.get("extension") or []:
                if ext.get("url") == vs.NHS_NUMBER_VERIFICATION_EXTENSION:
                    statuses.update(_codes_of(ext.get("valueCodeableConcept")))
    if patient.nhs_number not in numbers:
        raise ImportRefused(
            _(
                "The file is for a different patient: the NHS number does not match. "
                "Nothing was imported."
            )
        )
    if statuses & _UNTRACED:
        raise ImportRefused(
            _(
                "The sending system could not confirm this NHS number by a trace (status "
                "%(status)s). Nothing was imported.",
                status=", ".join(sorted(statuses & _UNTRACED)),
            )
        )
    if resource.get("birthDate") != patient.date_of_birth.isoformat():
        raise ImportRefused(
            _(
                "The file is for a different patient: the date of birth does not match. "
                "Nothing was imported."
            )
        )
    families = [n.get("family") for n in resource.get("name") or [] if isinstance(n, dict)]
    if not any(isinstance(f, str) and _same_name(f, patient.family_name) for f in families):
        raise ImportRefused(
            _(
                "The file is for a different patient: the family name does not match. "
                "Nothing was imported."
            )
        )


# --- working out what the file would do -----------------------------------------------------


class Planner:
    """Reads a parsed bundle against one plan and lists what importing it would do."""

    def __init__(self, plan: CarePlan, data: dict, user: User):
        self.plan = plan
        self.user = user
        self.entries: list[tuple[str, dict]] = []
        for index, entry in enumerate(data.get("entry") or []):
            resource = entry.get("resource") or {}
            self.entries.append((entry.get("fullUrl") or "", resource))
            resource.setdefault("_where", f"{resource.get('resourceType')} (entry {index + 1})")
        self.resolve = Resolver(self.entries)
        self.changes: list[Change] = []
        self.links = {
            (link.system, link.value): link
            for link in db.session.scalars(select(ImportLink).where(ImportLink.plan_id == plan.id))
        }
        self._usual: UsualState | None = plan.usual_state

    def of_type(self, kind: str) -> list[dict]:
        return [r for _url, r in self.entries if r.get("resourceType") == kind]

    # Each candidate: what it is, its keys, its content, how to find an equal item here, and
    # how to write it.
    def consider(
        self,
        kind: ItemKind,
        label: str,
        keys: list[tuple[str, str]],
        content: tuple,
        existing,
        write: Callable[[object | None], object],
    ) -> None:
        content_hash = _hash(kind, *content)
        keys = keys + [(f"content:{kind}", content_hash)]
        link = next((self.links[k] for k in keys if k in self.links), None)
        change = Change(kind, Outcome.ADD, label[:200], link_keys=keys, content_hash=content_hash)
        change.link = link
        if link is not None and link.item_kind == kind:
            item = _load(kind, link.item_id)
            if item is None:
                change.outcome, change.reason = Outcome.IGNORE, Reason.REMOVED_HERE
            elif _taken_off(item):
                change.outcome, change.reason = Outcome.IGNORE, Reason.REMOVAL_ASKED
            elif link.content_hash == content_hash:
                change.outcome = Outcome.UNCHANGED
            else:
                change.outcome = Outcome.CHANGE
                change.apply = lambda: write(item)
        else:
            item, equal = existing()
            if item is not None and _taken_off(item):
                change.outcome, change.reason = Outcome.IGNORE, Reason.REMOVAL_ASKED
            elif item is not None and equal:
                change.outcome = Outcome.UNCHANGED
                change.apply = lambda: item
            elif item is not None:
                change.outcome = Outcome.CHANGE
                change.apply = lambda: write(item)
            else:
                change.apply = lambda: write(None)
        self.changes.append(change)

    def ignore(self, kind: ItemKind, label: str, reason: Reason) -> None:
        self.changes.append(Change(kind, Outcome.IGNORE, (label or "-")[:200], reason))

    def _proposal(self, item, **values):
        for name, value in values.items():
            setattr(item, name, value)
        item.pending_review = True
        item.updated_by_id = self.user.id
        db.session.add(item)
        return item

    # --- goals and the care plan --------------------------------------------------------

    def careplans(self) -> tuple[list[dict], list[dict]]:
        agreed, proposals = [], []
        for careplan in self.of_type("CarePlan"):
            if careplan.get("status") in _GONE:
                self.ignore(
                    ItemKind.OTHER, careplan.get("title") or "CarePlan", Reason.ENTERED_IN_ERROR
                )
            elif careplan.get("intent") == "proposal":
                proposals.append(careplan)
            else:
                agreed.append(careplan)
        return agreed, proposals

    def goals(self, agreed: list[dict], proposals: list[dict]) -> None:
        steps: dict[int, str] = {}
        for careplan in agreed:
            for activity in careplan.get("activity") or []:
                detail = activity.get("detail") or {}
                for ref in detail.get("goal") or []:
                    goal = self.resolve.get(ref)
                    if goal is not None and detail.get("status") not in _GONE:
                        steps[id(goal)] = _text(
                            detail.get("description"),
                            TEXT_LIMIT,
                            careplan["_where"],
                            "activity.detail.description",
                        )
        proposed_only = {
            id(self.resolve.get(ref))
            for careplan in proposals
            for ref in careplan.get("goal") or []
        } - {id(self.resolve.get(ref)) for careplan in agreed for ref in careplan.get("goal") or []}
        for goal in self.of_type("Goal"):
            where = goal["_where"]
            title = _text(
                _concept_text(goal.get("description")), SHORT_LIMIT, where, "description.text"
            )
            lifecycle = goal.get("lifecycleStatus")
            if id(goal) in proposed_only:
                self.ignore(ItemKind.GOAL, title, Reason.NOT_AGREED)
                continue
            if lifecycle == "entered-in-error":
                self.ignore(ItemKind.GOAL, title, Reason.ENTERED_IN_ERROR)
                continue
            if lifecycle in ("cancelled", "rejected"):
                self.ignore(ItemKind.GOAL, title, Reason.CLOSED)
                continue
            status = GoalStatus.PROPOSED
            if lifecycle == "completed":
                achieved = _codes_of(goal.get("achievementStatus"))
                status = (
                    GoalStatus.NOT_ACHIEVED
                    if set(achieved) & {"not-achieved", "not-attainable", "no-progress"}
                    else GoalStatus.ACHIEVED
                )
            notes = " ".join(
                str(n.get("text") or "") for n in goal.get("note") or [] if isinstance(n, dict)
            )
            values = {
                "title": title or str(_("Goal")),
                "why_it_matters": _text(notes, TEXT_LIMIT, where, "note.text"),
                "steps": steps.get(id(goal), ""),
                "target_date": next(
                    (
                        partial_date(t.get("dueDate"))
                        for t in goal.get("target") or []
                        if t.get("dueDate")
                    ),
                    None,
                ),
                "status": status,
                "language": _language(goal),
            }

            def existing(values=values):
                found = next((g for g in self.plan.goals if g.title == values["title"]), None)
                return found, found is not None and all(
                    getattr(found, k) == v for k, v in values.items() if k != "language"
                )

            def write(item, values=values):
                item = item or Goal(plan_id=self.plan.id, proposed_by_id=self.user.id)
                return self._proposal(item, **values)

            self.consider(
                ItemKind.GOAL,
                values["title"],
                _identifiers(goal),
                tuple(values.values()),
                existing,
                write,
            )

    def crisis_steps(self, agreed: list[dict], proposals: list[dict]) -> None:
        def content(detail: dict, where: str) -> dict:
            level = next(
                (
                    c.get("code")
                    for c in (detail.get("code") or {}).get("coding") or []
                    if term.is_crisis_level_system(c.get("system"))
                ),
                None,
            )
            signs = " ".join(
                str(r.get("text") or "")
                for r in detail.get("reasonCode") or []
                if isinstance(r, dict)
            )
            performers = detail.get("performer") or []
            return {
                "level": level,
                "signs": _text(signs, TEXT_LIMIT, where, "activity.detail.reasonCode.text"),
                "actions": _text(
                    detail.get("description"), TEXT_LIMIT, where, "activity.detail.description"
                ),
                "who_to_call": _text(
                    performers[0].get("display") if performers else "",
                    200,
                    where,
                    "activity.detail.performer.display",
                ),
            }

        removals = set()
        for careplan in proposals:
            for activity in careplan.get("activity") or []:
                detail = activity.get("detail") or {}
                values = content(detail, careplan["_where"])
                if values["level"] and detail.get("status") in ("cancelled", "stopped"):
                    removals.add((values["level"], values["signs"], values["actions"]))
                elif values["level"]:
                    self.ignore(ItemKind.CRISIS_STEP, values["signs"], Reason.NOT_AGREED)
        position = len(self.plan.crisis_steps)
        for careplan in agreed:
            for activity in careplan.get("activity") or []:
                detail = activity.get("detail")
                if not isinstance(detail, dict):
                    label = (activity.get("reference") or {}).get("display") or (
                        activity.get("reference") or {}
                    ).get("reference", "")
                    self.ignore(ItemKind.OTHER, str(label), Reason.NOT_SUPPORTED)
                    continue
                values = content(detail, careplan["_where"])
                if not values["level"]:
                    if detail.get("kind") == "Appointment":
                        self.ignore(
                            ItemKind.OTHER,
                            str(detail.get("description") or ""),
                            Reason.NOT_SUPPORTED,
                        )
                    continue
                label = values["signs"] or values["actions"] or values["level"]
                if detail.get("status") in ("entered-in-error",):
                    self.ignore(ItemKind.CRISIS_STEP, label, Reason.ENTERED_IN_ERROR)
                    continue
                if detail.get("status") in ("cancelled", "stopped", "completed"):
                    self.ignore(ItemKind.CRISIS_STEP, label, Reason.CLOSED)
                    continue
                if (values["level"], values["signs"], values["actions"]) in removals:
                    self.ignore(ItemKind.CRISIS_STEP, label, Reason.REMOVAL_ASKED)
                    continue

                def existing(values=values):
                    found = next(
                        (
                            s
                            for s in self.plan.crisis_steps
                            if (s.level, s.signs, s.actions)
                            == (values["level"], values["signs"], values["actions"])
                        ),
                        None,
                    )
                    return found, found is not None and found.who_to_call == values["who_to_call"]

                def write(item, values=values, position=position):
                    item = item or CrisisStep(plan_id=self.plan.id, position=position)
                    return self._proposal(item, **values)

                position += 1
                self.consider(
                    ItemKind.CRISIS_STEP, label, [], tuple(values.values()), existing, write
                )

    # --- the person's own words --------------------------------------------------------

    def usual_state_row(self) -> UsualState:
        if self._usual is None:
            self._usual = UsualState(plan_id=self.plan.id)
            db.session.add(self._usual)
        return self._usual

    def entries_in_own_words(self) -> None:
        for observation in self.of_type("Observation"):
            code = next(
                (
                    c.get("code")
                    for c in (observation.get("code") or {}).get("coding") or []
                    if term.is_plan_entry_system(c.get("system"))
                ),
                None,
            )
            if code not in term.PLAN_ENTRIES:
                label = _concept_text(observation.get("code")) or "Observation"
                self.ignore(ItemKind.OTHER, label, Reason.NOT_SUPPORTED)
                continue
            where = observation["_where"]
            text = _text(observation.get("valueString"), _limit(code), where, "valueString")
            label = f"{term.PLAN_ENTRIES[code]}: {text}"
            if observation.get("status") in ("entered-in-error", "cancelled"):
                self.ignore(ItemKind.OTHER, label, Reason.ENTERED_IN_ERROR)
                continue
            if not text:
                continue
            section, key = code.split("-", 1)
            language = _language(observation)
            if section == "usual":
                self.usual_field(key, text, label, _identifiers(observation), language)
                continue
            model, kind, column = (
                (NeedsSection, ItemKind.NEED, "domain")
                if section == "need"
                else (Wish, ItemKind.WISH, "kind")
            )
            rows = self.plan.needs if model is NeedsSection else self.plan.wishes

            def existing(key=key, text=text, rows=rows, column=column):
                found = next((r for r in rows if getattr(r, column) == key), None)
                return found, found is not None and found.text == text

            def write(item, key=key, text=text, model=model, column=column, language=language):
                item = item or model(plan_id=self.plan.id, **{column: key})
                return self._proposal(item, text=text, language=language)

            self.consider(kind, label, _identifiers(observation), (key, text), existing, write)

    def usual_field(self, name: str, text: str, label: str, keys, language=None, append=False):
        def existing():
            row = self.plan.usual_state
            if row is None:
                return None, False
            current = getattr(row, name) or ""
            return row, (text in current) if append else current == text

        def write(_item):
            row = self.usual_state_row()
            current = getattr(row, name) or ""
            value = f"{current}\n{text}".strip() if append and current else text
            return self._proposal(row, **{name: value[:TEXT_LIMIT]}, language=language)

        self.consider(ItemKind.USUAL_STATE, label, keys, (name, text), existing, write)

    def medicines_and_allergies(self) -> None:
        """Offered into the usual state of health as proposals, in words."""
        for statement in self.of_type("MedicationStatement"):
            name = _concept_text(statement.get("medicationCodeableConcept"))
            medication = self.resolve.get(statement.get("medicationReference"), statement)
            if not name and medication:
                name = _concept_text(medication.get("code"))
            dosage = " ".join(
                str(d.get("text") or "")
                for d in statement.get("dosage") or []
                if isinstance(d, dict)
            )
            text = _text(f"{name} {dosage}".strip(), 500, statement["_where"], "medication")
            if statement.get("status") in ("entered-in-error",):
                self.ignore(ItemKind.USUAL_STATE, text, Reason.ENTERED_IN_ERROR)
            elif statement.get("status") in ("stopped", "not-taken", "completed"):
                self.ignore(ItemKind.USUAL_STATE, text, Reason.CLOSED)
            elif text:
                self.usual_field("medicines", text, text, _identifiers(statement), append=True)
        for allergy in self.of_type("AllergyIntolerance"):
            text = _text(_concept_text(allergy.get("code")), 500, allergy["_where"], "code")
            verification = _codes_of(allergy.get("verificationStatus"))
            clinical = _codes_of(allergy.get("clinicalStatus"))
            if set(verification) & {"entered-in-error", "refuted"}:
                self.ignore(ItemKind.USUAL_STATE, text, Reason.ENTERED_IN_ERROR)
            elif set(clinical) & {"inactive", "resolved"}:
                self.ignore(ItemKind.USUAL_STATE, text, Reason.CLOSED)
            elif text:
                self.usual_field("allergies", text, text, _identifiers(allergy), append=True)

    # --- conditions, contacts, care team, consent --------------------------------------

    def conditions(self) -> None:
        patient = self.plan.patient
        earlier: dict[str, set[str]] = {}  # condition code -> what became of its proposals
        for code, status in db.session.execute(
            select(ConditionProposal.condition_code, ConditionProposal.status).where(
                ConditionProposal.patient_id == patient.id
            )
        ):
            earlier.setdefault(code, set()).add(status)
        for condition in self.of_type("Condition"):
            name = _concept_text(condition.get("code"))
            verification = _codes_of(condition.get("verificationStatus"))
            clinical = _codes_of(condition.get("clinicalStatus"))
            if set(verification) & {"entered-in-error", "refuted"}:
                self.ignore(ItemKind.CONDITION, name, Reason.ENTERED_IN_ERROR)
                continue
            if set(clinical) & {"inactive", "resolved", "remission"}:
                self.ignore(ItemKind.CONDITION, name, Reason.CLOSED)
                continue
            portal_code = next(
                (
                    term.SNOMED_TO_CONDITION[c]
                    for c in _codes_of(condition.get("code"), vs.SNOMED)
                    if c in term.SNOMED_TO_CONDITION
                ),
                None,
            )
            if portal_code is None and name == "Stroke and transient ischaemic attack":
                portal_code = "230690007"  # this portal's own row, sent as words
            if portal_code is None:
                self.ignore(ItemKind.CONDITION, name, Reason.UNKNOWN_CONDITION)
                continue
            row = db.session.get(Condition, portal_code)
            before = earlier.setdefault(portal_code, set())
            if any(c.code == portal_code for c in patient.conditions) or (
                ProposalStatus.PROPOSED in before
            ):
                self.changes.append(Change(ItemKind.CONDITION, Outcome.UNCHANGED, row.name))
                continue
            if ProposalStatus.DECLINED in before:
                self.ignore(ItemKind.CONDITION, row.name, Reason.DECLINED_HERE)
                continue

            def propose(code=portal_code):
                """Proposed, for a professional to add to the list or turn down."""
                db.session.add(
                    ConditionProposal(
                        patient_id=patient.id, condition_code=code, proposed_by_id=self.user.id
                    )
                )

            before.add(ProposalStatus.PROPOSED)  # a file naming it twice proposes it once
            self.changes.append(Change(ItemKind.CONDITION, Outcome.ADD, row.name, apply=propose))

    def contacts(self) -> None:
        compositions = self.of_type("Composition")
        contact_orgs = [
            self.resolve.get(entry)
            for composition in compositions[:1]
            for section in composition.get("section") or []
            if section.get("title") == "Contacts"
            for entry in section.get("entry") or []
        ]
        people = [(r, None) for r in self.of_type("RelatedPerson")]
        people += [(r, r) for r in contact_orgs if r and r.get("resourceType") == "Organization"]
        kinds_by_label = {v: k for k, v in term.CONTACT_KINDS.items()}
        for resource, organisation in people:
            where = resource["_where"]
            if organisation is not None:
                name = _text(resource.get("name"), 200, where, "name")
                kind = kinds_by_label.get(
                    _concept_text((resource.get("type") or [{}])[0]), ContactKind.OTHER
                )
                relationship = ""
            else:
                names = resource.get("name") or [{}]
                first = names[0] if isinstance(names[0], dict) else {}
                name = _text(
                    first.get("text")
                    or " ".join([*(first.get("given") or []), first.get("family") or ""]),
                    200,
                    where,
                    "name",
                )
                coded = [c for r in resource.get("relationship") or [] for c in _codes_of(r)]
                kind = (
                    ContactKind.NEXT_OF_KIN
                    if "N" in coded
                    else ContactKind.CARER
                    if "Carer" in coded
                    else ContactKind.OTHER
                )
                relationship = _text(
                    next(
                        (
                            r.get("text")
                            for r in resource.get("relationship") or []
                            if r.get("text")
                        ),
                        "",
                    ),
                    100,
                    where,
                    "relationship.text",
                )
            phone = _text(
                next(
                    (
                        t.get("value")
                        for t in resource.get("telecom") or []
                        if t.get("system") in ("phone", "sms")
                    ),
                    "",
                ),
                40,
                where,
                "telecom.value",
            )
            label = name or relationship or "-"
            if resource.get("active") is False:
                self.ignore(ItemKind.CONTACT, label, Reason.NOT_AGREED)
                continue
            if not phone:
                self.ignore(ItemKind.CONTACT, label, Reason.NO_PHONE)
                continue
            when = next(
                (
                    e.get("valueString")
                    for e in resource.get("extension") or []
                    if term.is_when_to_call_extension(e.get("url"))
                ),
                "",
            )
            values = {
                "kind": kind,
                "name": name or str(term.CONTACT_KINDS.get(kind, "")),
                "relationship_to_patient": relationship,
                "phone": phone,
                "when_to_call": _text(when, 200, where, "extension.valueString"),
            }

            def existing(values=values):
                found = next(
                    (
                        c
                        for c in self.plan.contacts
                        if (c.name, c.phone) == (values["name"], values["phone"])
                    ),
                    None,
                )
                return found, found is not None and found.kind == values["kind"]

            def write(item, values=values):
                item = item or Contact(plan_id=self.plan.id, position=len(self.plan.contacts))
                return self._proposal(item, **values)

            self.consider(
                ItemKind.CONTACT,
                f"{label} {phone}",
                _identifiers(resource),
                tuple(values.values()),
                existing,
                write,
            )

    def care_team(self) -> None:
        for team in self.of_type("CareTeam"):
            if team.get("status") == "entered-in-error":
                self.ignore(
                    ItemKind.CARE_TEAM, team.get("name") or "CareTeam", Reason.ENTERED_IN_ERROR
                )
                continue
            for participant in team.get("participant") or []:
                member = self.resolve.get(participant.get("member"))
                if member is None or member.get("resourceType") not in (
                    "PractitionerRole",
                    "Practitioner",
                ):
                    continue
                where = member["_where"]
                practitioner = (
                    self.resolve.get(member.get("practitioner"))
                    if member.get("resourceType") == "PractitionerRole"
                    else member
                ) or {}
                names = practitioner.get("name") or [{}]
                first = names[0] if isinstance(names[0], dict) else {}
                name = _text(
                    first.get("text")
                    or " ".join([*(first.get("given") or []), first.get("family") or ""])
                    or (participant.get("member") or {}).get("display"),
                    200,
                    where,
                    "name",
                )
                role = _text(
                    _concept_text((participant.get("role") or [None])[0])
                    or _concept_text((member.get("code") or [None])[0]),
                    120,
                    where,
                    "code",
                )
                organisation = member.get("organization") or {}
                org = self.resolve.get(organisation) or {}
                telecom = member.get("telecom") or []
                values = {
                    "name": name or "-",
                    "role": role or str(_("Care team")),
                    "organisation": _text(
                        org.get("name") or organisation.get("display"), 200, where, "organization"
                    ),
                    "phone": _text(
                        next((t.get("value") for t in telecom if t.get("system") == "phone"), ""),
                        40,
                        where,
                        "telecom",
                    ),
                    "email": _text(
                        next((t.get("value") for t in telecom if t.get("system") == "email"), ""),
                        254,
                        where,
                        "telecom",
                    ),
                    "availability": _text(
                        member.get("availabilityExceptions"), 200, where, "availabilityExceptions"
                    ),
                }

                def existing(values=values):
                    found = next(
                        (
                            m
                            for m in self.plan.care_team
                            if (m.name, m.role) == (values["name"], values["role"])
                        ),
                        None,
                    )
                    return found, found is not None and (found.phone, found.email) == (
                        values["phone"],
                        values["email"],
                    )

                def write(item, values=values):
                    item = item or CareTeamMember(
                        plan_id=self.plan.id, position=len(self.plan.care_team)
                    )
                    for key, value in values.items():
                        setattr(item, key, value)
                    db.session.add(item)
                    return item

                self.consider(
                    ItemKind.CARE_TEAM,
                    f"{values['name']}, {values['role']}",
                    _identifiers(member),
                    tuple(values.values()),
                    existing,
                    write,
                )

    def consents(self) -> None:
        for consent in self.of_type("Consent"):
            self.ignore(
                ItemKind.CONSENT,
                _concept_text((consent.get("category") or [None])[0]) or "Consent",
                Reason.CONSENT,
            )

    def build(self) -> ImportPlan:
        agreed, proposals = self.careplans()
        self.goals(agreed, proposals)
        self.crisis_steps(agreed, proposals)
        self.entries_in_own_words()
        self.medicines_and_allergies()
        self.conditions()
        self.contacts()
        self.care_team()
        self.consents()
        return ImportPlan(self.changes)


def _taken_off(item) -> bool:
    """Asked to be removed here (a crisis step, a contact) or a goal withdrawn here."""
    if isinstance(item, Goal):
        return item.status == GoalStatus.WITHDRAWN
    return bool(getattr(item, "removal_proposed", False))


_MODELS = {
    ItemKind.GOAL: Goal,
    ItemKind.CRISIS_STEP: CrisisStep,
    ItemKind.NEED: NeedsSection,
    ItemKind.WISH: Wish,
    ItemKind.USUAL_STATE: UsualState,
    ItemKind.CONTACT: Contact,
    ItemKind.CARE_TEAM: CareTeamMember,
}


def _load(kind: str, item_id: int | None):
    model = _MODELS.get(kind)
    if model is None or item_id is None:
        return None
    return db.session.get(model, item_id)


# --- the two steps --------------------------------------------------------------------------


def preview(plan: CarePlan, raw: bytes, user: User) -> ImportPlan:
    """What importing ``raw`` would add, change and leave out; writes nothing."""
    data = parse(raw)
    check_identity(
        [
            r.get("resource") or {}
            for r in data.get("entry") or []
            if (r.get("resource") or {}).get("resourceType") == "Patient"
        ],
        plan.patient,
    )
    with db.session.no_autoflush:
        result = Planner(plan, data, user).build()
    _check_limits(plan, result)
    return result


def _check_limits(plan: CarePlan, result: "ImportPlan") -> None:
    """An import that would take the plan past a limit (``portal.limits``) imports nothing."""
    for kind, model in _MODELS.items():
        adding = sum(1 for c in result.changes if c.kind == kind and c.outcome == Outcome.ADD)
        if adding and model in LIMITS and not has_room(model, plan.id, adding):
            raise ImportRefused(PlanFull(model).message)


def commit(plan: CarePlan, raw: bytes, user: User, digest: str | None = None) -> ImportPlan:
    """Import ``raw`` as proposals; ``ImportChanged`` if it would now do other than previewed."""
    result = preview(plan, raw, user)
    if digest is not None and digest != result.digest:
        raise ImportChanged(result)
    for change in result.changes:
        if change.apply is None:
            continue
        item = change.apply()
        if change.kind not in _MODELS or item is None:
            continue
        db.session.flush()
        for system, value in change.link_keys:
            link = (
                change.link
                if change.link and (change.link.system, change.link.value) == (system, value)
                else None
            )
            link = link or db.session.scalar(
                select(ImportLink).where(
                    ImportLink.plan_id == plan.id,
                    ImportLink.system == system,
                    ImportLink.value == value,
                )
            )
            if link is None:
                link = ImportLink(plan_id=plan.id, system=system, value=value)
                db.session.add(link)
            link.item_kind, link.item_id, link.content_hash = (
                change.kind,
                item.id,
                change.content_hash,
            )
    audit.record(
        "fhir.import",
        plan.patient_id,
        f"{result.count(Outcome.ADD)} added, {result.count(Outcome.CHANGE)} changed, "
        f"{result.count(Outcome.IGNORE)} left out",
    )
    db.session.commit()
    return result


class ImportChanged(Exception):
    """The plan or the file changed between the preview and the confirmation."""

    def __init__(self, plan: ImportPlan):
        super().__init__("changed")
        self.plan = plan


# The file travels from the preview to the confirmation inside the form, compressed: the
# confirmation parses and checks it again from scratch, so nothing in it is trusted.
def pack(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii")


def unpack(packed: str | None) -> bytes:
    try:
        decompressor = zlib.decompressobj()
        raw = decompressor.decompress(base64.urlsafe_b64decode(packed or ""), MAX_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise ImportRefused(_("The preview could not be read. Choose the file again.")) from None
    if not raw:
        raise ImportRefused(_("The preview could not be read. Choose the file again."))
    return raw
