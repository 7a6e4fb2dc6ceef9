"""One description of the parts of a plan that are proposed between meetings and agreed at the
review: for each, its model, its audit names, and its fields with their labels and rules.

The person's own forms (``portal.section_forms``), the review meeting (which kinds it asks
about, what a professional may amend, how each decision is audited), the version snapshot and
its comparison, the crisis pages, the PDF, the FHIR export and the compliance check read their
lists from here, so adding a field to a section is one change here plus a migration
(``tests/test_sections.py`` follows every described field to each of them).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from portal import labels
from portal.limits import (
    CONTACT_DETAIL_LIMIT,
    CONTACT_NAME_LIMIT,
    CRISIS_ACTIONS_LIMIT,
    CRISIS_SIGNS_LIMIT,
    CRISIS_WHO_LIMIT,
    LOCATION_LIMIT,
    MEDICINES_LIMIT,
    USUAL_STATE_LIMIT,
)
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
class Asked:
    """How the person's own form (patient, carer, professional with the patient) asks for a
    field: it speaks to them ("Why it matters to me"), where the meeting speaks of them."""

    label: Any
    too_long: Any = None  # the message past the field's limit ("%(max)d" is the limit)
    required: Any = None  # the message when it is left empty (None: it may be)


@dataclass(frozen=True)
class FieldRule:
    """How a field is typed and checked, on the person's own form and where a professional
    amends it at the meeting: one widget and one limit for both."""

    widget: Widget
    limit: int | None = None  # characters, for text
    required: Any = None  # the meeting's message when a field that must be filled is empty
    asked: Asked | None = None  # None: not on the person's own form (decided at the review)


def _own_words(label, too_long, limit: int) -> FieldRule:
    """A paragraph in the person's own words, optional, asked under its own label."""
    return FieldRule(Widget.TEXT, limit, asked=Asked(label, too_long))


def _line(label, too_long, limit: int) -> FieldRule:
    """One optional line of text, asked under ``label``."""
    return FieldRule(Widget.LINE, limit, asked=Asked(label, too_long))


FIELD_RULES = {
    "text": FieldRule(
        Widget.TEXT,
        TEXT_LIMIT,
        asked=Asked(
            _l("In your own words"),
            _l("This must be %(max)d characters or fewer"),
            _l("Write something before saving, or go back to the plan"),
        ),
    ),
    "title": FieldRule(
        Widget.LINE,
        SHORT_LIMIT,
        _l("Enter what the goal is"),
        Asked(
            _l("What I want to achieve"),
            _l("What you want to achieve must be %(max)d characters or fewer"),
            _l("Enter what you want to achieve"),
        ),
    ),
    "why_it_matters": _own_words(
        _l("Why it matters to me"), _l("Why it matters must be %(max)d characters or fewer"),
        TEXT_LIMIT,
    ),
    "steps": _own_words(
        _l("The steps, and who will help"), _l("The steps must be %(max)d characters or fewer"),
        TEXT_LIMIT,
    ),
    "target_date": FieldRule(Widget.DATE, asked=Asked(_l("Target date"))),
    "status": FieldRule(Widget.CHOICE),
    "level": FieldRule(
        Widget.CHOICE,
        required=_l("Choose how urgent this is"),
        asked=Asked(_l("How urgent is it?"), required=_l("Choose how urgent it is")),
    ),
    "signs": FieldRule(
        Widget.TEXT,
        CRISIS_SIGNS_LIMIT,
        _l("Enter the signs to look for"),
        Asked(
            _l("Signs to look for"),
            _l("Signs to look for must be %(max)d characters or fewer"),
            _l("Enter the signs to look for"),
        ),
    ),
    "actions": FieldRule(
        Widget.TEXT,
        CRISIS_ACTIONS_LIMIT,
        _l("Enter what to do"),
        Asked(
            _l("What to do"),
            _l("What to do must be %(max)d characters or fewer"),
            _l("Enter what to do"),
        ),
    ),
    "who_to_call": _line(
        _l("Who to contact (optional)"),
        _l("Who to contact must be %(max)d characters or fewer"),
        CRISIS_WHO_LIMIT,
    ),
    "mobility": _own_words(
        _l("Mobility"), _l("Mobility must be %(max)d characters or fewer"), USUAL_STATE_LIMIT
    ),
    "breathing": _own_words(
        _l("Breathing"), _l("Breathing must be %(max)d characters or fewer"), USUAL_STATE_LIMIT
    ),
    "memory_understanding": _own_words(
        _l("Memory and understanding"),
        _l("Memory and understanding must be %(max)d characters or fewer"),
        USUAL_STATE_LIMIT,
    ),
    "usual_readings": _own_words(
        _l("Usual readings"),
        _l("Usual readings must be %(max)d characters or fewer"),
        USUAL_STATE_LIMIT,
    ),
    "communication": _own_words(
        _l("Communication"),
        _l("Communication must be %(max)d characters or fewer"),
        USUAL_STATE_LIMIT,
    ),
    "medicines": _own_words(
        _l("Medicines"), _l("Medicines must be %(max)d characters or fewer"), MEDICINES_LIMIT
    ),
    "allergies": _own_words(
        _l("Allergies"), _l("Allergies must be %(max)d characters or fewer"), MEDICINES_LIMIT
    ),
    "respect_form_location": _line(
        _l("Where the ReSPECT form is kept"),
        _l("Where the ReSPECT form is kept must be %(max)d characters or fewer"),
        LOCATION_LIMIT,
    ),
    "dnacpr_location": _line(
        _l("Where the DNACPR decision is kept"),
        _l("Where the DNACPR decision is kept must be %(max)d characters or fewer"),
        LOCATION_LIMIT,
    ),
    "lpa_location": _line(
        _l("Where the lasting power of attorney is kept"),
        _l("Where the lasting power of attorney is kept must be %(max)d characters or fewer"),
        LOCATION_LIMIT,
    ),
    "rescue_medication_location": _line(
        _l("Where the rescue medication is kept"),
        _l("Where the rescue medication is kept must be %(max)d characters or fewer"),
        LOCATION_LIMIT,
    ),
    "kind": FieldRule(
        Widget.CHOICE,
        required=_l("Choose the type of contact"),
        asked=Asked(_l("Who is this?"), required=_l("Choose who this contact is")),
    ),
    "name": FieldRule(
        Widget.LINE,
        CONTACT_NAME_LIMIT,
        _l("Enter the contact's name"),
        Asked(
            _l("Name"),
            _l("Name must be %(max)d characters or fewer"),
            _l("Enter the name of the person or service"),
        ),
    ),
    "relationship_to_patient": _line(
        _l("Relationship (optional)"),
        _l("Relationship must be %(max)d characters or fewer"),
        CONTACT_DETAIL_LIMIT,
    ),
    "phone": FieldRule(
        Widget.PHONE,
        required=_l("Enter the contact's phone number"),
        asked=Asked(_l("Phone number"), required=_l("Enter a phone number")),
    ),
    "when_to_call": _line(
        _l("When to call (optional)"),
        _l("When to call must be %(max)d characters or fewer"),
        CONTACT_DETAIL_LIMIT,
    ),
}

# The codes and their words for each choice a professional may amend.
CHOICES = {
    "level": (CrisisLevel, labels.CRISIS_LEVELS),
    "kind": (ContactKind, labels.CONTACT_KINDS),
}
