"""Translated names for the sections and fields of a plan snapshot."""

from flask_babel import lazy_gettext as _l

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
    "job_title": _l("Role"),
    "organisation": _l("Organisation"),
    "email": _l("Email"),
    "last_review_date": _l("Last review"),
    "next_review_date": _l("Next review due"),
    "review_interval_months": _l("Review every"),
    "complex_needs": _l("Complex needs"),
    "contingency_reviewed_on": _l("Crisis plan last reviewed"),
}

CHANGES = {
    "added": _l("Added"),
    "removed": _l("Removed"),
    "changed": _l("Changed"),
}
