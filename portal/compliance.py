"""Whether a care plan meets the contract requirements (section 7) on a given day.

One definition in two forms that must agree (a test generates plans and compares them):

- ``assess(plan, meetings, consents, day)`` reads a loaded plan: used by sample audits and
  anywhere one plan is looked at;
- ``criteria_sql(ev, ...)`` is the same rule as SQL over one row of ``evidence()`` per patient,
  used by the commissioner's aggregates so no patient is ever looped over in Python.

The rules, each as of the end of ``day`` (timestamps are compared in UK time):

- whole_person: every one of the nine whole-person domains has some text (requirement 1);
- feedback: a review meeting was held on or before the day with the patient's feedback
  recorded (requirement 2);
- agreed_goal: at least one goal was agreed with the patient (``agreed_at`` on or before the
  day; still agreed, or since achieved or not achieved, but not withdrawn) (requirement 3);
- contingency: at least one crisis step, a usual state of health with something written in it,
  and the contingency plan reviewed in the 12 months up to the day (requirement 4);
- consent: a consent decision about sharing with the care team was recorded, either way
  (requirement 5);
- copy: the patient has a portal account, or a paper copy was given on or before the day
  (requirement 6);
- named_contact: the plan names a contact (requirement 7).

A plan created after the day does not count. The model keeps no history for the needs text,
crisis steps, usual state, named contact or portal account, so those are read as they stand
now; everything with a date is read as of the day. The commissioner's report keeps each ended
month's counts as they stood when it was summarised (``portal.reports.summary``).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, String, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, and_, exists, or_

from portal.models import (
    CarePlan,
    ConsentRecord,
    CrisisStep,
    Domain,
    Goal,
    GoalStatus,
    MeetingStatus,
    NeedsSection,
    Patient,
    RegisterEntry,
    ReviewMeeting,
    UsualState,
    patient_conditions,
)
from portal.models.base import UTCDateTime
from portal.sections import USUAL_STATE_DESCRIPTIONS

UK = ZoneInfo("Europe/London")
DOMAINS = tuple(Domain)
# A goal that went through agreement with the patient, whatever became of it since.
AGREED_GOAL_STATUSES = (GoalStatus.AGREED, GoalStatus.ACHIEVED, GoalStatus.NOT_ACHIEVED)
USUAL_STATE_FIELDS = USUAL_STATE_DESCRIPTIONS
CONTINGENCY_REVIEW_MONTHS = 12
NEW_PATIENT_DAYS = 28

CRITERIA = {
    "whole_person": _l("Whole-person needs considered (all nine areas written)"),
    "feedback": _l("Review meeting held with the patient's feedback recorded"),
    "agreed_goal": _l("At least one goal agreed with the patient"),
    "contingency": _l(
        "Contingency plan with a crisis step and usual state of health, "
        "reviewed in the last 12 months"
    ),
    "consent": _l("Consent decision about sharing recorded"),
    "copy": _l("Patient can see the plan online or has a paper copy"),
    "named_contact": _l("Named contact given"),
}


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, or the last day of that month if it is shorter."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def end_of(day: date) -> datetime:
    """The instant the day ends in the UK: timestamps before it count as on or before ``day``."""
    return datetime.combine(day + timedelta(days=1), time(), UK)


@dataclass(frozen=True)
class AsOf:
    """The moments a report on ``day`` compares dates and timestamps with."""

    day: date

    @property
    def cutoff(self) -> datetime:
        return end_of(self.day)

    @property
    def review_after(self) -> date:
        return months_before(self.day, CONTINGENCY_REVIEW_MONTHS)


# --------------------------------------------------------------------------------------------
# The rule on one loaded plan
# --------------------------------------------------------------------------------------------

_BLANKS = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def has_text(value: str | None) -> bool:
    """Something other than spaces, tabs and line breaks (the SQL twin is ``has_text_sql``)."""
    return bool(value and value.translate(_BLANKS).strip(" "))


def assess(plan: CarePlan, meetings, consents, day: date) -> dict[str, bool]:
    """Each criterion for ``plan`` at the end of ``day``.

    ``plan`` needs its needs, goals, crisis steps, usual state and patient loaded (as
    ``load_plan`` does); ``meetings`` are the plan's review meetings and ``consents`` the
    patient's consent records (``load_evidence`` fetches both for many plans at once).
    """
    when = AsOf(day)
    texts = {section.domain: section.text for section in plan.needs}
    usual = plan.usual_state
    reviewed = plan.contingency_reviewed_on
    return {
        "whole_person": all(has_text(texts.get(domain)) for domain in DOMAINS),
        "feedback": any(
            m.status == MeetingStatus.HELD
            and m.held_on is not None
            and m.held_on <= day
            and has_text(m.patient_feedback)
            for m in meetings
        ),
        "agreed_goal": any(
            g.status in AGREED_GOAL_STATUSES
            and g.agreed_at is not None
            and g.agreed_at < when.cutoff
            for g in plan.goals
        ),
        "contingency": bool(plan.crisis_steps)
        and usual is not None
        and has_text("".join(getattr(usual, f) or "" for f in USUAL_STATE_FIELDS))
        and reviewed is not None
        and when.review_after < reviewed <= day,
        "consent": any(c.created_at < when.cutoff for c in consents),
        "copy": plan.patient.user_id is not None
        or (plan.paper_copy_given_on is not None and plan.paper_copy_given_on <= day),
        "named_contact": plan.named_contact_id is not None,
    }


def meets(plan: CarePlan, meetings, consents, day: date) -> bool:
    """The plan existed at the end of ``day`` and met every criterion."""
    return plan.created_at < end_of(day) and all(assess(plan, meetings, consents, day).values())


# --------------------------------------------------------------------------------------------
# The same rule in SQL, over one row of evidence per patient with a long-term condition
# --------------------------------------------------------------------------------------------


class days_after(ColumnElement):  # noqa: N801 - reads like the SQL it stands for
    """``date + n days`` on SQLite and PostgreSQL (``n`` is a Python int, written inline)."""

    type = Date()
    inherit_cache = False

    def __init__(self, column, days: int):
        self.column = column
        self.days = int(days)


@compiles(days_after, "sqlite")
def _days_after_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.column, **kw)}, '+{element.days} days')"


@compiles(days_after)
def _days_after_default(element, compiler, **kw):
    return f"({compiler.process(element.column, **kw)} + {element.days})"


class trim_blanks(ColumnElement):  # noqa: N801 - reads like the SQL it stands for
    """The text without leading and trailing spaces, tabs and line breaks."""

    type = String()
    inherit_cache = False

    def __init__(self, column):
        self.column = column


@compiles(trim_blanks, "postgresql")
def _trim_blanks_postgresql(element, compiler, **kw):
    return f"btrim({compiler.process(element.column, **kw)}, E' \\t\\n\\r')"


@compiles(trim_blanks)
def _trim_blanks_default(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    return f"trim({column}, ' ' || char(9) || char(10) || char(13))"


def has_text_sql(column) -> ColumnElement[bool]:
    """``has_text`` in SQL."""
    return trim_blanks(column) != ""


def has_condition():
    return exists().where(patient_conditions.c.patient_id == Patient.id)


def evidence(organisation_id: int | None = None):
    """One row per patient with a long-term condition (or on a practice's register of them):
    the facts the criteria are read from, and the patient's place on the register.

    Each child table is scanned once and grouped by plan (no per-patient lookups), so the
    aggregates over it stay fast with a million patients.
    """
    needs = (
        select(NeedsSection.plan_id, func.count().label("n"))
        .where(NeedsSection.domain.in_([str(d) for d in DOMAINS]), has_text_sql(NeedsSection.text))
        .group_by(NeedsSection.plan_id)
        .subquery("ev_needs")
    )
    meetings = (
        select(
            ReviewMeeting.plan_id,
            func.min(ReviewMeeting.held_on).label("first_held_on"),
            func.min(
                case((has_text_sql(ReviewMeeting.patient_feedback), ReviewMeeting.held_on))
            ).label("first_feedback_on"),
        )
        .where(ReviewMeeting.status == MeetingStatus.HELD, ReviewMeeting.held_on.is_not(None))
        .group_by(ReviewMeeting.plan_id)
        .subquery("ev_meetings")
    )
    goals = (
        select(Goal.plan_id, func.min(Goal.agreed_at).label("first_agreed_at"))
        .where(Goal.status.in_([str(s) for s in AGREED_GOAL_STATUSES]), Goal.agreed_at.is_not(None))
        .group_by(Goal.plan_id)
        .subquery("ev_goals")
    )
    consents = (
        select(ConsentRecord.patient_id, func.min(ConsentRecord.created_at).label("first_at"))
        .group_by(ConsentRecord.patient_id)
        .subquery("ev_consents")
    )
    steps = select(CrisisStep.plan_id).group_by(CrisisStep.plan_id).subquery("ev_steps")
    usual_text = getattr(UsualState, USUAL_STATE_FIELDS[0])
    for field in USUAL_STATE_FIELDS[1:]:
        usual_text = usual_text + getattr(UsualState, field)
    usual = select(UsualState.plan_id).where(has_text_sql(usual_text)).subquery("ev_usual")
    # Each organisation's register, from the earliest day anyone on it was registered.
    registers = (
        select(Patient.organisation_id, func.min(RegisterEntry.registered_on).label("since"))
        .join(RegisterEntry, RegisterEntry.patient_id == Patient.id)
        .group_by(Patient.organisation_id)
        .subquery("ev_registers")
    )

    query = (
        select(
            Patient.id.label("patient_id"),
            Patient.organisation_id,
            Patient.sex,
            Patient.ethnicity_category,
            Patient.preferred_language,
            Patient.date_of_birth,
            Patient.created_at.label("registered_at"),
            RegisterEntry.registered_on,
            RegisterEntry.left_on,
            registers.c.since.label("register_since"),
            Patient.initial_assessment_date,
            Patient.user_id,
            CarePlan.id.label("plan_id"),
            CarePlan.created_at.label("plan_created_at"),
            CarePlan.named_contact_id,
            CarePlan.paper_copy_given_on,
            CarePlan.contingency_reviewed_on,
            needs.c.n.label("needs_written"),
            meetings.c.first_held_on,
            meetings.c.first_feedback_on,
            goals.c.first_agreed_at,
            consents.c.first_at.label("first_consent_at"),
            steps.c.plan_id.label("step_plan_id"),
            usual.c.plan_id.label("usual_plan_id"),
        )
        .select_from(Patient)
        .outerjoin(CarePlan, CarePlan.patient_id == Patient.id)
        .outerjoin(RegisterEntry, RegisterEntry.patient_id == Patient.id)
        .outerjoin(registers, registers.c.organisation_id == Patient.organisation_id)
        .outerjoin(needs, needs.c.plan_id == CarePlan.id)
        .outerjoin(meetings, meetings.c.plan_id == CarePlan.id)
        .outerjoin(goals, goals.c.plan_id == CarePlan.id)
        .outerjoin(consents, consents.c.patient_id == Patient.id)
        .outerjoin(steps, steps.c.plan_id == CarePlan.id)
        .outerjoin(usual, usual.c.plan_id == CarePlan.id)
        # On a long-term conditions register, or recorded with a condition in the portal.
        .where(or_(RegisterEntry.patient_id.is_not(None), has_condition()))
    )
    if organisation_id is not None:
        query = query.where(Patient.organisation_id == organisation_id)
    return query


def as_of_sql(day: date) -> tuple:
    """``day``, the end of it and the start of the review window as typed SQL literals."""
    when = AsOf(day)
    return (
        literal(day, Date()),
        literal(when.cutoff, UTCDateTime()),
        literal(when.review_after, Date()),
    )


def criteria_sql(ev, day, cutoff, review_after) -> dict[str, ColumnElement[bool]]:
    """``assess`` in SQL over evidence rows ``ev``; the moments may be literals or columns."""
    return {
        "whole_person": func.coalesce(ev.c.needs_written, 0) == len(DOMAINS),
        "feedback": ev.c.first_feedback_on <= day,
        "agreed_goal": ev.c.first_agreed_at < cutoff,
        "contingency": and_(
            ev.c.step_plan_id.is_not(None),
            ev.c.usual_plan_id.is_not(None),
            ev.c.contingency_reviewed_on > review_after,
            ev.c.contingency_reviewed_on <= day,
        ),
        "consent": ev.c.first_consent_at < cutoff,
        "copy": or_(ev.c.user_id.is_not(None), ev.c.paper_copy_given_on <= day),
        "named_contact": ev.c.named_contact_id.is_not(None),
    }


def meets_sql(ev, day, cutoff, review_after) -> ColumnElement[bool]:
    """``meets`` in SQL: the plan existed by the end of the day and met every criterion."""
    return and_(
        ev.c.plan_created_at < cutoff,
        *criteria_sql(ev, day, cutoff, review_after).values(),
    )


def register_kept_sql(ev, day) -> ColumnElement[bool]:
    """The patient's organisation had imported a register by ``day`` (someone on it was
    registered by then): from that day its people are counted from the register."""
    return ev.c.register_since <= day


def registered_sql(ev, day, cutoff) -> ColumnElement[bool]:
    """Counted on ``day``: on the practice's register that day (leavers not counted) once the
    practice has a register; before that, recorded in the portal by the end of the day."""
    on_register = and_(ev.c.registered_on <= day, or_(ev.c.left_on.is_(None), ev.c.left_on > day))
    return case((register_kept_sql(ev, day), on_register), else_=ev.c.registered_at < cutoff)


def within_days_sql(ev, days: int = NEW_PATIENT_DAYS) -> ColumnElement[bool]:
    """The plan was first agreed at a held review meeting within ``days`` of assessment."""
    return ev.c.first_held_on <= days_after(ev.c.initial_assessment_date, days)


def load_evidence(plan_ids) -> dict[int, tuple[CarePlan, list, list]]:
    """Plans with what ``assess`` reads, for many plans in four queries whatever their number."""
    from sqlalchemy.orm import joinedload, selectinload

    from portal.extensions import db

    plans = db.session.scalars(
        select(CarePlan)
        .where(CarePlan.id.in_(list(plan_ids)))
        .options(
            joinedload(CarePlan.patient),
            selectinload(CarePlan.needs),
            selectinload(CarePlan.goals),
            selectinload(CarePlan.crisis_steps),
            selectinload(CarePlan.usual_state),
        )
    ).unique()
    found = {plan.id: (plan, [], []) for plan in plans}
    if not found:
        return {}
    for meeting in db.session.scalars(
        select(ReviewMeeting).where(ReviewMeeting.plan_id.in_(list(found)))
    ):
        found[meeting.plan_id][1].append(meeting)
    by_patient = {plan.patient_id: plan.id for plan, _m, _c in found.values()}
    for consent in db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.patient_id.in_(list(by_patient)))
    ):
        found[by_patient[consent.patient_id]][2].append(consent)
    return found
