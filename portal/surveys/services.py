"""Recording survey answers and summarising them for the practice.

Scores are aggregated; comments stay inside the organisation and are shown only to its
professionals, and only from patients who share their plan with the care team.
"""

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.extensions import db
from portal.i18n import current_language
from portal.models import CarePlan, MeetingStatus, Patient, ReviewMeeting, SurveyResponse, User
from portal.reports import suppression

QUESTIONS = ("involved", "agreed_plan", "confidence")
COMMENTS_SHOWN = 100


def held_meeting(patient_id: int, meeting_id: int) -> ReviewMeeting | None:
    """A held meeting on this patient's plan (a forged id of another plan finds nothing)."""
    return db.session.scalar(
        select(ReviewMeeting)
        .join(CarePlan, CarePlan.id == ReviewMeeting.plan_id)
        .where(
            ReviewMeeting.id == meeting_id,
            CarePlan.patient_id == patient_id,
            ReviewMeeting.status == MeetingStatus.HELD,
        )
    )


def response_for(meeting_id: int) -> SurveyResponse | None:
    return db.session.scalar(select(SurveyResponse).where(SurveyResponse.meeting_id == meeting_id))


# Built once: the plan page runs it on every request (see ``portal.loading``).
_LATEST_HELD = (
    select(ReviewMeeting, SurveyResponse.id)
    .outerjoin(SurveyResponse, SurveyResponse.meeting_id == ReviewMeeting.id)
    .where(
        ReviewMeeting.plan_id == bindparam("plan_id"),
        ReviewMeeting.status == MeetingStatus.HELD,
        ReviewMeeting.held_on.is_not(None),
    )
    .order_by(ReviewMeeting.held_on.desc(), ReviewMeeting.id.desc())
    .limit(1)
)


def meeting_awaiting_survey(plan_id: int) -> ReviewMeeting | None:
    """The latest held meeting on the plan, if the patient has not answered its survey yet."""
    row = db.session.execute(_LATEST_HELD, {"plan_id": plan_id}).first()
    if row is None or row[1] is not None:
        return None
    return row[0]


def record(patient: Patient, meeting: ReviewMeeting, answers: dict) -> bool:
    """Save the answers; False if this meeting was answered already (one response each)."""
    db.session.add(
        SurveyResponse(
            meeting_id=meeting.id,
            patient_id=patient.id,
            organisation_id=patient.organisation_id,
            involved=int(answers["involved"]),
            agreed_plan=int(answers["agreed_plan"]),
            confidence=int(answers["confidence"]),
            comment=(answers.get("comment") or "").strip(),
            language=current_language(),
        )
    )
    audit.record("survey.submit", patient.id, f"survey for meeting {meeting.id}")
    try:
        db.session.commit()
    except IntegrityError:  # answered in another tab a moment ago
        db.session.rollback()
        return False
    return True


def organisation_summary(user: User) -> dict:
    """Aggregate scores for the professional's organisation, and its patients' comments.

    Only reads, so the page can run it on the reports replica; the view records the view.
    """
    org_id = user.organisation_id
    columns = [func.count()]
    for key in QUESTIONS:
        score = getattr(SurveyResponse, key)
        columns += [func.coalesce(func.sum(score), 0), func.sum(case((score >= 4, 1), else_=0))]
    n, *sums = db.session.execute(
        select(*columns).where(SurveyResponse.organisation_id == org_id)
    ).one()
    scores = {
        key: {
            "mean": suppression.mean(sums[2 * i], n),
            "agree": suppression.percent(
                suppression.count(int(sums[2 * i + 1] or 0)), suppression.count(n)
            ),
        }
        for i, key in enumerate(QUESTIONS)
    }
    comments = list(
        db.session.execute(
            select(SurveyResponse.created_at, SurveyResponse.comment, SurveyResponse.language)
            .join(Patient, Patient.id == SurveyResponse.patient_id)
            .where(
                SurveyResponse.organisation_id == org_id,
                Patient.organisation_id == org_id,
                Patient.care_team_consent.is_(True),
                SurveyResponse.comment != "",
            )
            .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc())
            .limit(COMMENTS_SHOWN)
        )
    )
    return {"responses": suppression.count(n), "scores": scores, "comments": comments}
