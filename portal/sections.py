"""One description of the parts of a plan that are proposed between meetings and agreed at the
review: for each, its model, its audit names, and its fields with their labels.

The review meeting (which kinds it asks about, what a professional may amend, how each
decision is audited), the version snapshot and its comparison, the crisis pages and the
compliance check read their lists from here, so adding a field to a section is one change
here plus a migration.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from portal import labels
from portal.models import (
    Contact,
    ContactKind,
    CrisisLevel,
    CrisisStep,
    Goal,
    NeedsSection,
    UsualState,
    Wish,
)
from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT

# The usual state of health in the person's own words, and where key documents are kept.
USUAL_STATE_DESCRIPTIONS = (
    "mobility",
    "breathing",
    "memory_understanding",
    "usual_readings",
    "communication",
    "medicines",
    "allergies",
)
DOCUMENT_LOCATIONS = (
    "respect_form_location",
    "dnacpr_location",
    "lpa_location",
    "rescue_medication_location",
)


@dataclass(frozen=True)
class Section:
    key: str  # the snapshot's section and the review page's kind: "goals"
    model: type
    # What the audit trail calls one item when it is proposed or changed ("goal 12") and when
    # the meeting decides on it ("goal.agree"). Needs were named differently in the two
    # places from the start; both names are kept so the existing trail reads on.
    audit_name: str
    review_audit_name: str
    fields: tuple[str, ...]  # what an agreed version keeps of one item, in display order
    amendable: tuple[str, ...]  # what a professional may amend at the review meeting


SECTIONS = (
    Section("needs", NeedsSection, "needs", "needs_section", ("text",), ("text",)),
    Section(
        "goals",
        Goal,
        "goal",
        "goal",
        ("title", "why_it_matters", "steps", "target_date", "status"),
        ("title", "why_it_matters", "steps", "target_date"),
    ),
    Section("wishes", Wish, "wish", "wish", ("text",), ("text",)),
    Section(
        "crisis_steps",
        CrisisStep,
        "crisis_step",
        "crisis_step",
        ("level", "signs", "actions", "who_to_call"),
        ("level", "signs", "actions", "who_to_call"),
    ),
    Section(
        "usual_state",
        UsualState,
        "usual_state",
        "usual_state",
        USUAL_STATE_DESCRIPTIONS + DOCUMENT_LOCATIONS,
        USUAL_STATE_DESCRIPTIONS + DOCUMENT_LOCATIONS,
    ),
    Section(
        "contacts",
        Contact,
        "contact",
        "contact",
        ("kind", "name", "relationship_to_patient", "phone", "when_to_call"),
        ("kind", "name", "relationship_to_patient", "phone", "when_to_call"),
    ),
)
BY_KEY = {section.key: section for section in SECTIONS}
BY_MODEL = {section.model: section for section in SECTIONS}

# Every field's label, as the review pages, version comparison and PDF show it.
FIELD_LABELS = {
    "text": _l("In their own words"),
    "title": _l("What I want to achieve"),
    "why_it_matters": _l("Why it matters"),
    "steps": _l("Steps and who helps"),
    "target_date": _l("Target date"),
    "status": _l("Status"),
    "level": _l("How urgent"),
    "signs": _l("Signs to look for"),
    "actions": _l("What to do"),
    "who_to_call": _l("Who to call"),
    "mobility": _l("Mobility"),
    "breathing": _l("Breathing"),
    "memory_understanding": _l("Memory and understanding"),
    "usual_readings": _l("Usual readings"),
    "communication": _l("Communication"),
    "medicines": _l("Medicines"),
    "allergies": _l("Allergies"),
    "respect_form_location": _l("ReSPECT form is kept"),
    "dnacpr_location": _l("DNACPR decision is kept"),
    "lpa_location": _l("Lasting power of attorney is kept"),
    "rescue_medication_location": _l("Rescue medication is kept"),
    "kind": _l("Type of contact"),
    "name": _l("Name"),
    "relationship_to_patient": _l("Relationship"),
    "phone": _l("Phone"),
    "when_to_call": _l("When to call"),
}


class Widget(StrEnum):
    LINE = "line"  # one line of text
    TEXT = "text"  # a paragraph or more
    DATE = "date"  # the NHS.UK three-box date input
    CHOICE = "choice"  # one of a set of codes
    PHONE = "phone"  # the shared phone field


@dataclass(frozen=True)
class FieldRule:
    """How a field is typed and checked where a professional amends it at the meeting."""

    widget: Widget
    limit: int | None = None  # characters, for text
    required: Any = None  # the message when a field that must be filled is left empty


FIELD_RULES = {
    "text": FieldRule(Widget.TEXT, TEXT_LIMIT),
    "title": FieldRule(Widget.LINE, SHORT_LIMIT, _l("Enter what the goal is")),
    "why_it_matters": FieldRule(Widget.TEXT, TEXT_LIMIT),
    "steps": FieldRule(Widget.TEXT, TEXT_LIMIT),
    "target_date": FieldRule(Widget.DATE),
    "status": FieldRule(Widget.CHOICE),
    "level": FieldRule(Widget.CHOICE, required=_l("Choose how urgent this is")),
    "signs": FieldRule(Widget.TEXT, TEXT_LIMIT, _l("Enter the signs to look for")),
    "actions": FieldRule(Widget.TEXT, TEXT_LIMIT, _l("Enter what to do")),
    "who_to_call": FieldRule(Widget.LINE, SHORT_LIMIT),
    **{name: FieldRule(Widget.TEXT, TEXT_LIMIT) for name in USUAL_STATE_DESCRIPTIONS},
    **{name: FieldRule(Widget.LINE, SHORT_LIMIT) for name in DOCUMENT_LOCATIONS},
    "kind": FieldRule(Widget.CHOICE, required=_l("Choose the type of contact")),
    "name": FieldRule(Widget.LINE, SHORT_LIMIT, _l("Enter the contact's name")),
    "relationship_to_patient": FieldRule(Widget.LINE, 100),
    "phone": FieldRule(Widget.PHONE, required=_l("Enter the contact's phone number")),
    "when_to_call": FieldRule(Widget.LINE, SHORT_LIMIT),
}

# The codes and their words for each choice a professional may amend.
CHOICES = {
    "level": (CrisisLevel, labels.CRISIS_LEVELS),
    "kind": (ContactKind, labels.CONTACT_KINDS),
}
