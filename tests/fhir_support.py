"""A full plan, agreed at a review, and helpers for the FHIR document and round-trip tests."""

import json
from datetime import UTC, date, datetime

from portal.extensions import db
from portal.models import (
    CareTeamMember,
    Condition,
    ConsentRecord,
    Contact,
    Conversation,
    CrisisStep,
    Message,
    NeedsSection,
    ReviewMeeting,
    SharedResult,
    UsualState,
    Wish,
)
from portal.versions.services import create_version

USUAL = {
    "mobility": "Walks with a stick",
    "breathing": "Breathless on stairs",
    "memory_understanding": "Clear",
    "usual_readings": "Oxygen 92%",
    "communication": "Hard of hearing on the left",
    "medicines": "Salbutamol inhaler",
    "allergies": "Penicillin",
    "respect_form_location": "Kitchen drawer",
    "dnacpr_location": "Fridge door",
    "lpa_location": "With my son",
    "rescue_medication_location": "Bedside table",
}


def export(request_as, user, patient_id, query=""):
    """The plan's FHIR document as JSON, downloaded as ``user``."""
    response = request_as(user, "GET", f"/patients/{patient_id}/plan.fhir.json{query}")
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


def resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def full_plan(cast):
    """Patient A's plan with every part filled in and agreed (version 1)."""
    plan = cast.plan_a
    nurse = cast.users["professional"]
    nurse.phone, nurse.job_title = "01632 960001", "Practice nurse"
    goal = plan.goals[0]
    goal.steps, goal.target_date, goal.language = "Walk with my son", date(2027, 6, 30), "cy"
    for g in plan.goals:
        g.agreed_by_id, g.agreed_at = nurse.id, datetime(2026, 3, 1, 10, tzinfo=UTC)
    plan.needs[0].language = "cy"
    db.session.add(
        NeedsSection(plan_id=plan.id, domain="home", text="Stairs are hard", pending_review=False)
    )
    db.session.add(
        Wish(plan_id=plan.id, kind="end_of_life", text="At home with family", pending_review=False)
    )
    for field, value in USUAL.items():
        setattr(plan.usual_state, field, value)
    db.session.add(
        CrisisStep(
            plan_id=plan.id,
            level="amber",
            signs="Cough with green phlegm",
            actions="Start rescue pack",
            who_to_call="GP practice",
            position=1,
        )
    )
    db.session.add(
        Contact(
            plan_id=plan.id,
            kind="practice",
            name="Home practice",
            phone="01632 960000",
            when_to_call="Weekdays",
            position=1,
        )
    )
    db.session.add(
        CareTeamMember(
            plan_id=plan.id,
            name="Dr Chest",
            role="Respiratory consultant",
            organisation="City hospital",
            phone="01632 960002",
            email="chest@example.org",
            availability="Tuesdays",
        )
    )
    db.session.add(ConsentRecord(patient_id=cast.a.id, share_with_care_team=True))
    db.session.add(
        SharedResult(plan_id=plan.id, name="HbA1c", value="48 mmol/mol", taken_on=date(2026, 2, 1))
    )
    for code in ("13645005", "53741008", "230690007"):
        cast.a.conditions.append(db.session.get(Condition, code))
    db.session.flush()
    for item in [*plan.crisis_steps, *plan.contacts, *plan.needs, *plan.wishes]:
        item.pending_review = False
    plan.usual_state.pending_review = False
    db.session.flush()
    db.session.expire(plan)
    version = create_version(plan, nurse, agreed_at=datetime(2026, 3, 1, 11, tzinfo=UTC))
    db.session.flush()
    db.session.add(
        ReviewMeeting(
            plan_id=plan.id,
            status="held",
            held_on=date(2026, 3, 1),
            location="Home practice",
            plan_version_id=version.id,
            recorded_by_id=nurse.id,
        )
    )
    closed_conversation(cast, plan.goals[0].id)
    db.session.commit()
    return plan


def closed_conversation(cast, goal_id: int | None = None):
    """The patient asked about a goal (in Welsh), the nurse answered and closed it."""
    nurse = cast.users["professional"]
    conversation = Conversation(
        patient_id=cast.a.id,
        started_by_id=cast.a.user_id,
        subject="Walking further",
        about_kind="goal" if goal_id else "none",
        about_id=goal_id,
        status="closed",
        outcome="Physiotherapy referral made",
        closed_by_id=nurse.id,
        closed_at=datetime(2026, 4, 2, 9, tzinfo=UTC),
        last_message_at=datetime(2026, 4, 1, 15, tzinfo=UTC),
    )
    conversation.messages = [
        Message(
            author_id=cast.a.user_id,
            written_as="patient",
            body="A allaf gerdded ymhellach? <b>diolch</b>",
            language="cy",
            created_at=datetime(2026, 4, 1, 9, tzinfo=UTC),
        ),
        Message(
            author_id=nurse.id,
            written_as="professional",
            body="Yes: I have referred you to the physiotherapist.",
            language="en",
            created_at=datetime(2026, 4, 1, 15, tzinfo=UTC),
        ),
    ]
    db.session.add(conversation)
    db.session.flush()
    return conversation


__all__ = ["USUAL", "UsualState", "full_plan"]
