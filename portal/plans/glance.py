"""The top of the plan page: what a person needs to take in at a glance.

A review "due by" is a deadline, not an appointment, so it is written as a month; only a booked
meeting has a day, a time and a place. Prompts that belong to a meeting (its survey, the
results shared for it) leave the top of the plan once that meeting is well past.
"""

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import bindparam, func, select

from portal.extensions import db
from portal.i18n import format_month
from portal.meetings.services import local_today
from portal.models import CarePlan, ReviewMeeting, SharedResult

# How long after a meeting its survey is offered at the top of the plan.
SURVEY_WINDOW = timedelta(days=42)


def review_line(plan: CarePlan, meeting: ReviewMeeting | None) -> str | Markup:
    """"Your review meeting is on ... at ... at Riverside Surgery" or "due by December 2027"."""
    from portal.meetings.views import meeting_time

    if meeting is not None and meeting.scheduled_for is not None:
        when = meeting_time(meeting.scheduled_for)
        if meeting.location:
            # The place is the practice's own words: isolated, so an English address with a
            # room number keeps its order in an Urdu or Arabic sentence.
            place = Markup('<bdi dir="auto">{}</bdi>').format(meeting.location)
            return _filled(_("Your review meeting is on %(when)s at %(place)s."), when, place)
        return _("Your review meeting is on %(when)s.", when=when)
    if plan.next_review_date is None:
        return _("No review date has been set yet.")
    if plan.next_review_date < local_today():
        return _(
            "Your review was due by %(month)s. Contact your care team to book it.",
            month=format_month(plan.next_review_date),
        )
    return _("Your review is due by %(month)s.", month=format_month(plan.next_review_date))


def _filled(sentence: str, when: str, place: Markup) -> Markup:
    """A translated sentence with its values put in, escaped, keeping the place's markup."""
    return Markup(escape(sentence)) % {"when": when, "place": place}  # noqa: S704 - escaped


def survey_still_current(meeting: ReviewMeeting | None, today: date | None = None):
    """The meeting awaiting a survey answer, while it is recent enough to ask about."""
    if meeting is None or meeting.held_on is None:
        return None
    today = today or local_today()
    return meeting if today - meeting.held_on <= SURVEY_WINDOW else None


# Built once: the plan page runs it on every request (see ``portal.loading``).
_RESULTS_SINCE = select(func.count(SharedResult.id)).where(
    SharedResult.plan_id == bindparam("plan_id"), SharedResult.created_at >= bindparam("since")
)
EVER = datetime(1900, 1, 1, tzinfo=UTC)  # before any result: no review yet


def results_for_next_review(plan: CarePlan) -> int:
    """Results shared since the last review: they belong to the meeting still to come."""
    since = EVER
    if plan.last_review_date is not None:
        since = datetime.combine(plan.last_review_date, time.min, tzinfo=UTC)
    return db.session.scalar(_RESULTS_SINCE, {"plan_id": plan.id, "since": since}) or 0
