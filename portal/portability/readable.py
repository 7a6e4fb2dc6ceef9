"""The subject access copy a person can read: what ``personal_data`` holds, in labelled sections.

The JSON file stays the complete, machine-readable copy. This one is for reading: every record
of every part ``subject_access`` exports, each stored field with a label and its value in the
reader's language (codes as words, dates as dates), the patient's own words marked with the
language they were written in. Internal record numbers, secrets and bookkeeping (row versions,
list positions) are left to the JSON; ``SHOWN`` lists what each record shows, so a new column
is either given a label here or is deliberately left out (tests/test_subject_access_copy.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext, ngettext, pgettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload

from portal import labels
from portal.contingency.held_apart import hold_apart
from portal.extensions import db
from portal.i18n import format_date, format_datetime
from portal.lifecycle import item_label
from portal.models import AuditEvent, CarePlan, Patient
from portal.nhs_number import formatted as format_nhs_number
from portal.portability.subject_access import PATIENT_PARTS, PLAN_PARTS, SECRET_COLUMNS
from portal.versions.labels import FIELDS


@dataclass(frozen=True)
class Item:
    label: str
    value: str
    language: str | None = None  # set for the patient's (or carer's) own words


@dataclass(frozen=True)
class Entry:
    title: str
    items: list[Item]


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    entries: list[Entry]


# Labels of stored fields: the plan's own (as the versions page names them), and the rest.
LABELS = {
    **FIELDS,
    "nhs_number": _l("NHS number"),
    "given_name": _l("Given name"),
    "family_name": _l("Family name"),
    "date_of_birth": _l("Date of birth"),
    "sex": _l("Sex"),
    "ethnicity_category": _l("Ethnic group"),
    "preferred_language": _l("Preferred language"),
    "interpreter_needed": _l("Interpreter needed"),
    "interpreter_language": _l("Interpreter language"),
    "communication_needs": _l("Communication needs"),
    "print_size": _l("Print of your plan"),
    "initial_assessment_date": _l("Initial assessment"),
    "care_team_consent": _l("Do you agree to share your care plan with your care team?"),
    "role": _l("Role"),
    "display_name": _l("Name"),
    "preferred_locale": _l("Language"),
    "mfa_enabled": _l("Two-step verification"),
    "last_login_at": _l("Last signed in"),
    "named_contact_request": _l("Why would you like a different named contact?"),
    "paper_copy_given_on": _l("Paper copy given"),
    "patient_feedback": _l("The patient's feedback on the plan"),
    "agreed_version": _l("Agreed version"),
    "updated_at": _l("Last changed"),
    "written_with_patient": _l("Written with the patient"),
    "language": _l("Language"),
    "agreed_at": _l("Agreed"),
    "questions": _l("Questions I want to ask"),
    "what_changed": _l("What has changed since my last review"),
    "how_i_feel": _l("How I feel about my health"),
    "value": _l("Result"),
    "taken_on": _l("Date the test was taken"),
    "explanation": _l("What it means, in plain language"),
    "availability": _l("When they can be reached"),
    "scheduled_for": _l("Booked for"),
    "location": _l("Where"),
    "held_on": _l("Date the meeting was held"),
    "attendees": _l("Who attended"),
    "notes": _l("Notes"),
    "invited_email": _l("Email address"),
    "invitation_language": _l("Which language should the invitation email be in?"),
    "scope": _l("What they can see"),
    "invitation_expires_at": _l("Invitation link works until"),
    "accepted_at": _l("Accepted"),
    "expires_on": _l("End date"),
    "revoked_at": _l("Stopped"),
    "share_with_care_team": _l("Do you agree to share your care plan with your care team?"),
    "note": _l("Notes"),
    "comment": _l("Comment"),
    "created_at": _l("When"),
    "involved": labels.SURVEY_STATEMENTS["involved"],
    "agreed_plan": labels.SURVEY_STATEMENTS["agreed_plan"],
    "confidence": labels.SURVEY_STATEMENTS["confidence"],
    "opens_at": _l("Opens at"),
    "closes_at": _l("Closes at"),
    "weekdays_only": _l("Open on weekdays only (Monday to Friday)"),
    "call_service": _l("Who to call"),
    "subject": _l("Subject"),
    "awaiting_reply_since": _l("Waiting since"),
    "closed_at": _l("Closed"),
    "outcome": _l("Outcome"),
    "outcome_language": _l("Language"),
    "urgent": _l("Urgent follow-up"),
    "method": _l("How did they tell you?"),
    "held_by": _l("How was the meeting held? (optional)"),
    "interpreter_used": _l("An interpreter was used"),
    "team_contact": _l("When they are away"),
    "emergency_access": _l("Urgent care can open your crisis plan."),
    "status": _l("Status"),
    "ends_on": _l("End date"),
    "consent_method": _l("How did they tell you?"),
    "ended_at": _l("Stopped"),
    "reason": _l("Why do you need to see this crisis plan?"),
    "reason_text": _l("In your own words"),
    "expires_at": _l("Until"),
}

# Fields left to the JSON copy: record numbers and links between records, secrets, and
# bookkeeping that says nothing about the person (row versions, list order, plan state codes).
LEFT_TO_JSON = frozenset(
    {"id", "version", "position", "snapshot", "number", "detail", "action", "occurred_at"}
) | SECRET_COLUMNS

# Own words: shown with the language they were written in.
OWN_WORDS = frozenset(
    {
        "text", "title", "why_it_matters", "steps", "questions", "what_changed", "how_i_feel",
        "signs", "actions", "who_to_call", "mobility", "breathing", "memory_understanding",
        "usual_readings", "communication", "medicines", "allergies", "respect_form_location",
        "dnacpr_location", "lpa_location", "rescue_medication_location",
        "relationship_to_patient", "when_to_call", "comment", "named_contact_request",
        "subject", "body",
    }
)  # fmt: skip

# Coded values in words, by field (per model where the same name means different things).
CODED: dict[str, Callable] = {
    "sex": lambda v: labels.SEXES.get(v, v),
    "ethnicity_category": labels.ethnicity,
    "preferred_language": labels.language,
    "preferred_locale": labels.language,
    "interpreter_language": labels.language,
    "language": labels.language,
    "invitation_language": labels.language,
    "role": lambda v: labels.ROLES.get(v, v),
    "scope": lambda v: labels.SCOPES.get(v, v),
    "level": lambda v: labels.CRISIS_LEVELS.get(v, v),
    "nhs_number": format_nhs_number,
    "review_interval_months": lambda v: ngettext("%(num)d month", "%(num)d months", v),
}
# How a consent decision reached the portal, and how a meeting was held, in words.
_CONSENT_METHODS = {
    "online": _l("Online"),
    "in_person": _l("In person or by phone"),
    "paper": _l("On a signed paper form"),
}
_MEETING_MODES = {
    "face_to_face": _l("Face to face"),
    "phone": _l("By phone"),
    "video": _l("By video call"),
}
CODED_BY_MODEL: dict[tuple[str, str], Callable] = {
    ("ConsentRecord", "method"): lambda v: _CONSENT_METHODS.get(v, v),
    ("ReviewMeeting", "held_by"): lambda v: _MEETING_MODES.get(v, v),
    ("Contact", "kind"): lambda v: labels.CONTACT_KINDS.get(v, v),
    ("CareTeamMembership", "status"): lambda v: labels.MEMBERSHIP_STATUSES.get(v, v),
    ("CareTeamMembership", "consent_method"): lambda v: _CONSENT_METHODS.get(v, v),
    ("EmergencyAccess", "reason"): lambda v: labels.EMERGENCY_REASONS.get(v, v),
    ("Patient", "print_size"): lambda v: labels.PRINT_SIZES.get(v, v),
}
# Plan and meeting state codes and similar need no reading: other fields say the same.
SKIP_BY_MODEL = frozenset(
    {
        ("CarePlan", "status"),
        ("CarePlan", "preferred_format"),
        ("ReviewMeeting", "status"),
        ("NeedsSection", "domain"),  # the entry's title
        ("Wish", "kind"),  # the entry's title
        ("Contact", "kind"),  # the entry's title
        ("CrisisStep", "level"),  # the entry's title
        ("User", "role"),
        ("User", "active"),
        ("User", "can_audit"),
        ("User", "password_changed_at"),
        ("Patient", "created_at"),
        ("User", "created_at"),
        ("CarePlan", "created_at"),
        ("Goal", "created_at"),
        ("SharedResult", "created_at"),
        ("ReviewMeeting", "created_at"),
        ("CarePlan", "named_contact_requested_at"),
        ("Conversation", "about_kind"),  # the conversation names what it is about
        ("Conversation", "last_message_at"),  # each message keeps its own time
        ("Patient", "nhs_number_status"),  # a register code, in the JSON copy
    }
)


def shown_columns(model) -> list[str]:
    """The stored fields a record of ``model`` shows, in the table's order."""
    name = model.__name__
    return [
        column.key
        for column in inspect(model).column_attrs
        if column.key not in LEFT_TO_JSON
        and not column.key.endswith("_id")
        and (name, column.key) not in SKIP_BY_MODEL
    ]


# Flags that only say something when they are set.
ONLY_WHEN_SET = frozenset(
    {"agreed_version", "written_with_patient"}
)


def _value(obj, column: str) -> str:
    raw = getattr(obj, column)
    if raw is None or raw == "" or (column in ONLY_WHEN_SET and not raw):
        return ""
    convert = CODED_BY_MODEL.get((type(obj).__name__, column)) or CODED.get(column)
    if convert is not None:
        return str(convert(raw))
    if isinstance(raw, bool):
        return gettext("Yes") if raw else gettext("No")
    if isinstance(raw, datetime):
        return format_datetime(raw)
    if isinstance(raw, date):
        return format_date(raw)
    return str(raw)


# Where a plan item stands is said once, in the words of every page (``portal.lifecycle``),
# instead of these stored flags and codes.
STANDING = frozenset({"pending_review", "removal_proposed", "status"})


def _items(obj, change=None) -> list[Item]:
    """``change``: a crisis item's change waiting apart, which says whether it was added."""
    items = []
    columns = shown_columns(type(obj))
    if "pending_review" in columns:
        columns = [c for c in columns if c not in STANDING]
        items.append(Item(str(LABELS["status"]), item_label(obj, change=change).text))
    for column in columns:
        value = _value(obj, column)
        if not value:
            continue
        language = getattr(obj, "language", None) if column in OWN_WORDS else None
        items.append(Item(str(LABELS[column]), value, language))
    return items


def _title(key: str, obj) -> str:
    """What each record is called: its own name where it has one."""
    titles: dict[str, Callable] = {
        "needs": lambda o: labels.DOMAINS.get(o.domain, o.domain),
        "goals": lambda o: o.title,
        "wishes": lambda o: labels.WISHES.get(o.kind, o.kind),
        "shared_results": lambda o: o.name,
        "crisis_steps": lambda o: labels.CRISIS_LEVELS.get(o.level, o.level),
        "contacts": lambda o: f"{o.name} – {labels.CONTACT_KINDS.get(o.kind, o.kind)}",
        "care_team": lambda o: o.name,
        "review_meetings": lambda o: format_date(o.held_on) if o.held_on else _when(o),
        "agreed_versions": lambda o: gettext("Version %(number)s", number=o.number),
        "access_grants": lambda o: o.invited_email,
        "consent_records": lambda o: format_datetime(o.created_at),
        "survey_responses": lambda o: format_datetime(o.created_at),
        "care_team_memberships": lambda o: o.organisation.name,
        "emergency_accesses": lambda o: o.organisation.name,
    }
    make = titles.get(key)
    return str(make(obj)) if make else ""


def _when(meeting) -> str:
    return format_datetime(meeting.scheduled_for) if meeting.scheduled_for else ""


HEADINGS = {
    "needs": _l("The whole person"),
    "goals": _l("My goals"),
    "wishes": _l("My wishes and preferences"),
    "preparations": _l("Getting ready for the review"),
    "shared_results": _l("Results shared before the review"),
    "crisis_steps": _l("If things get worse"),
    "usual_state": _l("Usual state of health"),
    "contacts": _l("Contacts"),
    "care_team": _l("My care team"),
    "review_meetings": _l("Review meetings"),
    "agreed_versions": _l("Agreed versions"),
    "access_grants": _l("Who can see my plan"),
    "consent_records": _l("Sharing with my care team"),
    "survey_responses": _l("Survey answers"),
    "conversations": _l("Conversations with the care team"),
    "care_team_memberships": _l("Teams and professionals in other organisations"),
    "emergency_accesses": _l("Urgent care in an emergency"),
}


def readable_copy(patient: Patient) -> list[Section]:
    """Every part of the right-of-access copy, in the order the JSON file has them."""
    plan = db.session.scalars(select(CarePlan).where(CarePlan.patient_id == patient.id)).first()
    details = _items(patient)
    if patient.conditions:
        conditions = pgettext("separator", ", ").join(
            str(labels.condition(c.code)) for c in patient.conditions
        )
        details.append(Item(gettext("Long-term conditions"), conditions))
    sections = [Section("patient", gettext("My details"), [Entry(patient.full_name, details)])]
    if patient.user:
        account = Entry(patient.user.display_name, _items(patient.user))
        sections.append(Section("account", gettext("Account"), [account]))
    if plan:
        sections.append(Section("care_plan", gettext("My care plan"), [Entry("", _items(plan))]))
    parts = [(key, model, model.plan_id == plan.id) for key, model in PLAN_PARTS.items() if plan]
    parts += [(key, model, model.patient_id == patient.id) for key, model in PATIENT_PARTS.items()]
    changes = {(c.section, c.item.id): c for c in hold_apart(plan).changes} if plan else {}
    for key, model, where in parts:
        records = db.session.scalars(select(model).where(where).order_by(model.id))
        entry = SPECIAL_ENTRIES.get(key) or (
            lambda o, k=key: Entry(_title(k, o), _items(o, changes.get((k, o.id))))
        )
        sections.append(Section(key, str(HEADINGS[key]), [entry(o) for o in records]))
    sections.append(Section("audit_trail", gettext("Who has looked at my plan"), _audit(patient)))
    return sections


def _entry(key: str, obj) -> Entry:
    return Entry(_title(key, obj), _items(obj))


def _conversation_entry(conversation) -> Entry:
    """A conversation: its details, then every message with who wrote it and when."""
    items = _items(conversation)
    for message in conversation.messages:
        who = message.author.display_name if message.author else ""
        label = f"{who} – {format_datetime(message.created_at)}"
        items.append(Item(label, message.body, message.language))
    return Entry(conversation.subject, items)


def _version_entry(version) -> Entry:
    """An agreed version: when and by whom (what it held is the plan of its day, in the JSON
    copy and on the versions page)."""
    items = [Item(gettext("Agreed"), format_datetime(version.agreed_at))]
    if version.agreed_by:
        items.append(Item(gettext("Who"), version.agreed_by.display_name))
    return Entry(gettext("Version %(number)s", number=version.number), items)


def _audit(patient: Patient) -> list[Entry]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.patient_id == patient.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.id)
    )
    return [
        Entry(
            format_datetime(event.occurred_at),
            [
                Item(gettext("Who"), event.actor.display_name if event.actor else ""),
                Item(gettext("What happened"), str(labels.audit_action(event.action))),
            ],
        )
        for event in events
    ]


def _meeting_entry(meeting) -> Entry:
    """A review meeting, with the conversations its record refers to."""
    entry = _entry("review_meetings", meeting)
    if meeting.conversations:
        subjects = "; ".join(c.subject for c in meeting.conversations)
        entry.items.append(Item(gettext("Conversations talked about"), subjects))
    return entry


SPECIAL_ENTRIES: dict[str, Callable] = {
    "agreed_versions": _version_entry,
    "review_meetings": _meeting_entry,
    "conversations": _conversation_entry,
}
