"""The commissioner's monthly report: aggregate counts in SQL, published through suppression.

People with a long-term condition are counted from the day they were recorded in the portal
(``Patient.created_at``); "meets the requirements" is ``portal.compliance``.

Everything is counted by the database (one statement over the evidence rows, grouped once per
breakdown, plus one each for surveys and audits); Python only reads the grouped rows. The
``Report`` returned holds published values only, so nothing downstream can show a raw count.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, func, literal_column, select, text, union_all

from portal import labels
from portal.compliance import (
    NEW_PATIENT_DAYS,
    as_of_sql,
    end_of,
    evidence,
    meets_sql,
    months_before,
    registered_sql,
    within_days_sql,
)
from portal.extensions import db
from portal.models import Goal, GoalStatus, Organisation, PlanAudit, PlanAuditItem, SurveyResponse
from portal.models import patient_conditions as pc
from portal.reports import suppression
from portal.reports.trajectory import target

SERIES_MONTHS = 13  # the chosen month and the 12 before it
WINDOW_MONTHS = 12  # surveys and audits: the 12 months to the end of the chosen month

AGE_BANDS = (  # (lowest age, key, label); the last band has no upper end
    (0, "0-17", _l("Under 18")),
    (18, "18-44", _l("18 to 44")),
    (45, "45-64", _l("45 to 64")),
    (65, "65-74", _l("65 to 74")),
    (75, "75-84", _l("75 to 84")),
    (85, "85+", _l("85 and over")),
)

SURVEY_QUESTIONS = labels.SURVEY_STATEMENTS

BREAKDOWNS = {
    "condition": _l("By long-term condition"),
    "organisation": _l("By organisation"),
    "age_band": _l("By age"),
    "sex": _l("By sex"),
    "ethnicity": _l("By ethnic group"),
    "language": _l("By preferred language"),
}


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def last_of_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def add_months(month: date, months: int) -> date:
    year, index = divmod(month.year * 12 + month.month - 1 + months, 12)
    return date(year, index + 1, 1)


def as_of(month: date, today: date | None = None) -> date:
    """A month is reported as it stood at its last day (or today, for the current month)."""
    return min(last_of_month(month), today or date.today())


@dataclass(frozen=True)
class Row:
    key: str
    label: object
    people: int | None
    compliant: int | None

    @property
    def percent(self) -> float | None:
        return suppression.percent(self.compliant, self.people)


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: object
    rows: list[Row]
    withheld: bool = False  # every group small: not shown, so nobody can be picked out


@dataclass(frozen=True)
class Point:
    month: date
    people: int | None
    compliant: int | None
    target: Decimal | None

    @property
    def percent(self) -> float | None:
        return suppression.percent(self.compliant, self.people)


@dataclass(frozen=True)
class SurveyQuestion:
    key: str
    label: object
    mean: float | None
    agree: int | None  # answered 4 or 5


@dataclass(frozen=True)
class Report:
    """Published figures for one month, for all organisations or one. No raw counts."""

    month: date
    as_of: date
    organisation: str | None
    people: int | None
    compliant: int | None
    target: Decimal | None
    new_patients: int | None
    new_within: int | None
    breakdowns: list[Breakdown]
    series: list[Point]
    goals: list[tuple[str, object, int | None]]
    goals_total: int | None
    survey_from: date
    survey_responses: int | None
    survey: list[SurveyQuestion]
    audited: int | None
    audit_meeting: int | None
    new_patient_days: int = NEW_PATIENT_DAYS

    @property
    def percent(self) -> float | None:
        return suppression.percent(self.compliant, self.people)

    @property
    def difference(self) -> float | None:
        """Share minus target, in percentage points."""
        if self.percent is None or self.target is None:
            return None
        return round(self.percent - float(self.target), 1)

    @property
    def new_percent(self) -> float | None:
        return suppression.percent(self.new_within, self.new_patients)

    @property
    def audit_percent(self) -> float | None:
        return suppression.percent(self.audit_meeting, self.audited)

    def survey_agree_percent(self, question: SurveyQuestion) -> float | None:
        return suppression.percent(question.agree, self.survey_responses)


def organisations() -> list[tuple[int, str]]:
    return list(db.session.execute(select(Organisation.id, Organisation.name).order_by("name")))


# --------------------------------------------------------------------------------------------
# Raw counts (never returned from this module)
# --------------------------------------------------------------------------------------------


def _age_band(ev, day: date):
    whens = []
    for (_low, key, _label), (next_low, _k, _l2) in zip(AGE_BANDS, AGE_BANDS[1:], strict=False):
        # younger than next_low on ``day``: born after ``day`` minus next_low years
        whens.append((ev.c.date_of_birth > months_before(day, 12 * next_low), key))
    return case(*whens, else_=AGE_BANDS[-1][1])


def _const(text: str):
    return literal_column(f"'{text}'", String)  # internal constants only, never user input


def _raw_counts(month: date, organisation_id: int | None, today: date) -> dict:
    """{(dimension, key): (people, compliant)} from one statement.

    ``ev`` (the evidence) and ``facts`` (who is on the register at the month end, and whether
    their plan met the requirements) are each worked out once and grouped for every breakdown.
    """
    ev = evidence(organisation_id).cte("ev")
    day = as_of(month, today)
    day_sql, cutoff, review_after = as_of_sql(day)
    facts = (
        select(
            ev.c.patient_id,
            ev.c.plan_id,
            ev.c.organisation_id,
            ev.c.sex,
            ev.c.ethnicity_category,
            ev.c.preferred_language,
            _age_band(ev, day).label("age_band"),
            case((meets_sql(ev, day_sql, cutoff, review_after), 1), else_=0).label("compliant"),
        )
        .where(registered_sql(ev, cutoff))
        .cte("facts")
    )
    people = func.count()
    compliant = func.sum(facts.c.compliant)

    def grouped(dimension: str, key, source=facts):
        key = cast(key, String)
        return select(_const(dimension), key, people, compliant).select_from(source).group_by(key)

    branches = [
        select(_const("total"), _const(""), people, compliant).select_from(facts),
        grouped(
            "condition",
            pc.c.condition_code,
            facts.join(pc, pc.c.patient_id == facts.c.patient_id),
        ),
        grouped("age_band", facts.c.age_band),
        grouped("sex", facts.c.sex),
        grouped("ethnicity", facts.c.ethnicity_category),
        grouped("language", facts.c.preferred_language),
    ]
    if organisation_id is None:
        branches.append(grouped("organisation", facts.c.organisation_id))
    goals = Goal.__table__
    branches.append(
        select(_const("goal"), goals.c.status, people, literal_column("0"))
        .select_from(facts.join(goals, goals.c.plan_id == facts.c.plan_id))
        .where(goals.c.created_at < cutoff)
        .group_by(goals.c.status)
    )
    branches.append(
        select(
            _const("new"),
            _const(""),
            func.count(),
            func.sum(case((within_days_sql(ev), 1), else_=0)),
        )
        .select_from(ev)
        .where(ev.c.initial_assessment_date.between(month, last_of_month(month)))
    )
    for i in range(SERIES_MONTHS - 1, -1, -1):
        point = add_months(month, -i)
        m_day, m_cutoff, m_review_after = as_of_sql(as_of(point, today))
        m_register = registered_sql(ev, m_cutoff)
        m_meets = meets_sql(ev, m_day, m_cutoff, m_review_after)
        branches.append(
            select(
                _const("month"),
                _const(point.strftime("%Y-%m")),
                func.sum(case((m_register, 1), else_=0)),
                func.sum(case((m_register & m_meets, 1), else_=0)),
            ).select_from(ev)
        )
    if db.session.get_bind().dialect.name == "postgresql":
        # Compiling this one-off statement costs more than it saves; for this transaction only.
        db.session.execute(text("SET LOCAL jit = off"))
    rows = db.session.execute(union_all(*branches))
    return {(dim, key): (int(n or 0), int(m or 0)) for dim, key, n, m in rows}


def _survey_counts(start: date, day: date, organisation_id: int | None) -> dict:
    q = SurveyResponse
    columns = [func.count()]
    for key in SURVEY_QUESTIONS:
        score = getattr(q, key)
        columns += [func.coalesce(func.sum(score), 0), func.sum(case((score >= 4, 1), else_=0))]
    query = select(*columns).where(
        q.created_at >= end_of(start - timedelta(days=1)), q.created_at < end_of(day)
    )
    if organisation_id is not None:
        query = query.where(q.organisation_id == organisation_id)
    n, *sums = db.session.execute(query).one()
    return {"n": int(n)} | {
        key: (int(sums[2 * i] or 0), int(sums[2 * i + 1] or 0))
        for i, key in enumerate(SURVEY_QUESTIONS)
    }


def _audit_counts(start: date, day: date, organisation_id: int | None) -> tuple[int, int]:
    query = (
        select(
            func.count(),
            func.sum(case((PlanAuditItem.meets_requirements.is_(True), 1), else_=0)),
        )
        .select_from(PlanAuditItem)
        .join(PlanAudit, PlanAudit.id == PlanAuditItem.audit_id)
        .where(
            PlanAuditItem.meets_requirements.is_not(None),
            PlanAudit.created_at >= end_of(start - timedelta(days=1)),
            PlanAudit.created_at < end_of(day),
        )
    )
    if organisation_id is not None:
        query = query.where(PlanAudit.organisation_id == organisation_id)
    checked, meeting = db.session.execute(query).one()
    return int(checked), int(meeting or 0)


# --------------------------------------------------------------------------------------------
# Publishing
# --------------------------------------------------------------------------------------------


def _label(dimension: str, key: str, names: dict[str, str]):
    if dimension == "condition":
        return labels.condition(key)
    if dimension == "organisation":
        return names.get(key, key)
    if dimension == "age_band":
        return next(label for _low, k, label in AGE_BANDS if k == key)
    if dimension == "sex":
        return labels.SEXES.get(key, key)
    if dimension == "ethnicity":
        return labels.ethnicity(key)
    if dimension == "language":
        return labels.language(key)
    return key


def _publish_breakdown(dimension: str, raw: dict, names: dict[str, str]) -> Breakdown:
    cells = {key: counts for (dim, key), counts in raw.items() if dim == dimension}
    if dimension == "age_band":
        order = [k for _low, k, _label in AGE_BANDS if k in cells]
    else:
        order = sorted(cells, key=lambda k: str(_label(dimension, k, names)).casefold())
    total_people, total_compliant = raw.get(("total", ""), (0, 0))
    partition = dimension != "condition"  # people may have several conditions
    people = suppression.breakdown(
        {k: cells[k][0] for k in order}, total_people, partition=partition
    )
    if people is None:
        return Breakdown(dimension, BREAKDOWNS[dimension], [], withheld=True)
    compliant = suppression.breakdown(
        {k: cells[k][1] for k in order},
        total_compliant,
        partition=partition,
        hide=[k for k in order if people[k] is None and cells[k][1]],
    )
    if compliant is None:
        return Breakdown(dimension, BREAKDOWNS[dimension], [], withheld=True)
    rows = [Row(k, _label(dimension, k, names), people[k], compliant[k]) for k in order]
    return Breakdown(dimension, BREAKDOWNS[dimension], rows)


def monthly_report(month: date, organisation_id: int | None = None, today=None) -> Report:
    """The published report for ``month`` (any day in it), for one organisation or all."""
    today = today or date.today()
    month = first_of_month(month)
    day = as_of(month, today)
    names = {str(i): name for i, name in organisations()}
    raw = _raw_counts(month, organisation_id, today)
    window_start = add_months(month, -(WINDOW_MONTHS - 1))
    survey = _survey_counts(window_start, day, organisation_id)
    checked, meeting = _audit_counts(window_start, day, organisation_id)

    total = raw.get(("total", ""), (0, 0))
    new = raw.get(("new", ""), (0, 0))
    dimensions = [d for d in BREAKDOWNS if d != "organisation" or organisation_id is None]
    goal_cells = {str(s): raw.get(("goal", str(s)), (0, 0))[0] for s in GoalStatus}
    goals_total = sum(goal_cells.values())
    published_goals = suppression.breakdown(goal_cells, goals_total)
    if published_goals is None:  # every status small: show none of them, nor their total
        published_goals, goals_total = dict.fromkeys(goal_cells), None
    series = []
    for i in range(SERIES_MONTHS - 1, -1, -1):
        point = add_months(month, -i)
        n, m = raw.get(("month", point.strftime("%Y-%m")), (0, 0))
        series.append(Point(point, suppression.count(n), suppression.count(m), target(point)))
    n_responses = survey["n"]
    questions = [
        SurveyQuestion(
            key,
            label,
            suppression.mean(survey[key][0], n_responses),
            suppression.count(survey[key][1]) if suppression.count(n_responses) else None,
        )
        for key, label in SURVEY_QUESTIONS.items()
    ]
    return Report(
        month=month,
        as_of=day,
        organisation=names.get(str(organisation_id)) if organisation_id is not None else None,
        people=suppression.count(total[0]),
        compliant=suppression.count(total[1]),
        target=target(month),
        new_patients=suppression.count(new[0]),
        new_within=suppression.count(new[1]),
        breakdowns=[_publish_breakdown(d, raw, names) for d in dimensions],
        series=series,
        goals=[(str(s), labels.GOAL_STATUSES[s], published_goals[str(s)]) for s in GoalStatus],
        goals_total=suppression.count(goals_total) if goals_total is not None else None,
        survey_from=window_start,
        survey_responses=suppression.count(n_responses),
        survey=questions,
        audited=suppression.count(checked),
        audit_meeting=suppression.count(meeting),
    )
