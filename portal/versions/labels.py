"""Translated names for the sections and fields of a plan snapshot."""

from flask_babel import lazy_gettext as _l

from portal.sections import FIELD_LABELS

SECTIONS = {
    "needs": _l("About me: the whole person"),
    "goals": _l("Goals"),
    "wishes": _l("Wishes and preferences"),
    "crisis_steps": _l("If things get worse"),
    "usual_state": _l("Usual state of health"),
    "contacts": _l("Who to call"),
    "named_contact": _l("Named contact"),
    "review": _l("Review dates"),
    "patient_feedback": _l("Feedback on the plan"),
}

FIELDS = {
    **FIELD_LABELS,
    "job_title": _l("Role"),
    "organisation": _l("Organisation"),
    "email": _l("Email"),
    "last_review_date": _l("Last review"),
    "next_review_date": _l("Next review due"),
    "review_interval_months": _l("Review every"),
    "complex_needs": _l("Complex needs"),
    "contingency_reviewed_on": _l("Crisis plan last reviewed"),
    "call": _l("Who to call, chosen from the list"),
    "hours": _l("Opening hours"),
}

CHANGES = {
    "added": _l("Added"),
    "removed": _l("Removed"),
    "changed": _l("Changed"),
}
