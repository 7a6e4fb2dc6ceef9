"""Builders for plans that do or do not meet the contract requirements on a given day."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from portal.extensions import db
from portal.models import (
    CarePlan,
    ConsentRecord,
    CrisisStep,
    Domain,
    Goal,
    NeedsSection,
    Organisation,
    Patient,
    ReviewMeeting,
    Role,
    SurveyResponse,
    User,
    UsualState,
    patient_conditions,
)
from tests.factories import make_org, make_patient, make_user

DAY = date(2011, 3, 31)
DIABETES = "73211009"
ASTHMA = "195967001"


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def add_conditions(patient: Patient, *codes: str) -> None:
    db.session.execute(
        insert(patient_conditions),
        [{"patient_id": patient.id, "condition_code": code} for code in codes or (DIABETES,)],
    )


def make_meeting(
    plan: CarePlan, held_on: date | None, feedback: str = "I felt listened to", status="held"
) -> ReviewMeeting:
    meeting = ReviewMeeting(
        plan_id=plan.id, status=status, held_on=held_on, patient_feedback=feedback
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def make_consent(patient: Patient, when: datetime, share: bool = True) -> ConsentRecord:
    record = ConsentRecord(patient_id=patient.id, share_with_care_team=share, created_at=when)
    db.session.add(record)
    db.session.flush()
    return record


def make_survey(
    meeting: ReviewMeeting, patient: Patient, scores=(5, 4, 3), comment="", created_at=None
):
    response = SurveyResponse(
        created_at=created_at or at(DAY - timedelta(days=30)),
        meeting_id=meeting.id,
        patient_id=patient.id,
        organisation_id=patient.organisation_id,
        involved=scores[0],
        agreed_plan=scores[1],
        confidence=scores[2],
        comment=comment,
    )
    db.session.add(response)
    db.session.flush()
    return response


def make_compliant_plan(
    org: Organisation | None = None,
    day: date = DAY,
    nurse: User | None = None,
    conditions: tuple[str, ...] = (DIABETES,),
    **patient_kw,
) -> CarePlan:
    """A patient with a long-term condition and a plan meeting every requirement on ``day``.

    Everything happened 40 to 60 days before ``day``.
    """
    org = org or make_org()
    nurse = nurse or make_user(Role.PROFESSIONAL, org)
    patient_kw.setdefault("created_at", at(day - timedelta(days=60)))
    patient_kw.setdefault("initial_assessment_date", day - timedelta(days=50))
    patient = make_patient(org, **patient_kw)
    add_conditions(patient, *conditions)
    plan = CarePlan(
        patient_id=patient.id,
        named_contact_id=nurse.id,
        created_at=at(day - timedelta(days=45)),
        contingency_reviewed_on=day - timedelta(days=40),
    )
    db.session.add(plan)
    db.session.flush()
    agreed = {"pending_review": False, "updated_by_id": nurse.id}
    for domain in Domain:
        db.session.add(NeedsSection(plan_id=plan.id, domain=domain, text="Written", **agreed))
    db.session.add(
        Goal(
            plan_id=plan.id,
            title="Walk to the shop",
            status="agreed",
            agreed_at=at(day - timedelta(days=40)),
            created_at=at(day - timedelta(days=42)),
            agreed_by_id=nurse.id,
            **agreed,
        )
    )
    db.session.add(CrisisStep(plan_id=plan.id, level="red", signs="Blue lips", actions="Ring 999"))
    db.session.add(UsualState(plan_id=plan.id, mobility="Walks with a stick"))
    db.session.flush()
    make_meeting(plan, day - timedelta(days=40))
    make_consent(patient, at(day - timedelta(days=50)))
    return plan
