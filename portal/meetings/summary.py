"""What the plan page shows about agreement and the next meeting.

Kept apart from ``services`` so the plan page can use it without importing the review logic.
"""

from sqlalchemy import bindparam, select

from portal.extensions import db
from portal.models import CarePlan, MeetingStatus, ReviewMeeting
from portal.versions.services import version_summary

# Built once: the plan page runs it on every request (see ``portal.loading``).
_NEXT_MEETING = (
    select(ReviewMeeting)
    .where(
        ReviewMeeting.plan_id == bindparam("plan_id"),
        ReviewMeeting.status == MeetingStatus.SCHEDULED,
    )
    .order_by(ReviewMeeting.scheduled_for, ReviewMeeting.id)
    .limit(1)
)


def next_meeting(plan_id: int) -> ReviewMeeting | None:
    """The booked (not yet held) meeting, if there is one."""
    return db.session.scalars(_NEXT_MEETING, {"plan_id": plan_id}).first()


def plan_summary(plan: CarePlan) -> dict:
    """The last agreed version and the booked meeting, in two small queries."""
    return {"last_agreed": version_summary(plan.id), "next_meeting": next_meeting(plan.id)}
