"""The commissioner's monthly report: aggregate counts in SQL, published through suppression.

Every figure about people divides by the same people (``compliance.registered_sql``): those on
their practice's register on the day, leavers not counted, once the practice has imported a
register; before that, those recorded in the portal by then (``Patient.created_at``). "Meets
the requirements" is ``portal.compliance``.

Everything is counted by the database (one statement over the evidence rows, grouped by
organisation once per breakdown, plus one each for surveys and audits); Python only adds up
the grouped rows. An ended month that has been summarised (``portal.reports.summary``) is read
from its stored rows instead, which is fast whatever the number of patients and keeps the month
as it stood then. The ``Report`` returned holds published values only, so nothing downstream
can show a raw count.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, func, literal_column, or_, select, text, union_all

from portal import labels
from portal.compliance import (
    NEW_PATIENT_DAYS,
    as_of_sql,
    end_of,
    evidence,
    meets_sql,
    months_before,
    register_kept_sql,
    registered_sql,
    within_days_sql,
)
from portal.extensions import db
from portal.models import (
    Goal,
    GoalStatus,
    MonthlySummary,
    MonthlySummaryCell,
    Organisation,
    PlanAudit,
    PlanAuditItem,
    SurveyResponse,
)
from portal.models import patient_conditions as pc
from portal.reports import suppression
from portal.reports.trajectory import stored, target

# What the report divides by: the people on the practices' registers (leavers not counted) for
# an organisation that has imported one, the people recorded in the portal for one that has
# not; "mixed" when the organisations counted are of both kinds.
REGISTER, PORTAL, MIXED = "register", "portal", "mixed"
DENOMINATORS = {
    REGISTER: _l(
        "Every figure about people counts those on the practices' long-term conditions "
        "registers on the day; people who have left a register are not counted."
    ),
    PORTAL: _l(
        "No register has been imported yet: every figure about people counts those recorded "
        "in the portal."
    ),
    MIXED: _l(
        "Every figure about people counts those on the practices' long-term conditions "
        "registers on the day (people who have left a register are not counted); organisations "
        "that have not imported a register yet are counted from the people recorded in the "
        "portal."
    ),
}

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
    calculated_at: datetime | None = None  # when the stored summary was made; None: live
    own_trajectory: bool = False  # targets set by commissioners, not Appendix 2
    denominator: str = PORTAL  # REGISTER, PORTAL or MIXED: what every figure divides by
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
    def denominator_text(self):
        return DENOMINATORS[self.denominator]

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


def cells_sql(month: date, organisation_id: int | None, today: date, only=None):
    """Every raw count of the month as rows (organisation, dimension, key, people, compliant).

    One statement: ``ev`` (the evidence) and ``facts`` (who is on the register at the month
    end, and whether their plan met the requirements) are each worked out once and grouped by
    organisation for every breakdown. ``only`` limits it to some dimensions. The live report
    adds the rows up; ``portal.reports.summary`` stores them as they are.
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
            case((register_kept_sql(ev, day_sql), _const(REGISTER)), else_=_const(PORTAL)).label(
                "basis"
            ),
        )
        .where(registered_sql(ev, day_sql, cutoff))
        .cte("facts")
    )
    people = func.count()
    compliant = func.sum(facts.c.compliant)

    def grouped(dimension: str, key=None, source=facts):
        org = facts.c.organisation_id
        group = [org] if key is None else [org, cast(key, String)]
        key = _const("") if key is None else cast(key, String)
        return _cells(org, dimension, key, people, compliant).select_from(source).group_by(*group)

    goals = Goal.__table__
    branches = {
        "total": grouped("total"),
        "basis": grouped("basis", facts.c.basis),
        "condition": grouped(
            "condition",
            pc.c.condition_code,
            facts.join(pc, pc.c.patient_id == facts.c.patient_id),
        ),
        "age_band": grouped("age_band", facts.c.age_band),
        "sex": grouped("sex", facts.c.sex),
        "ethnicity": grouped("ethnicity", facts.c.ethnicity_category),
        "language": grouped("language", facts.c.preferred_language),
        "goal": _cells(facts.c.organisation_id, "goal", goals.c.status, people, literal_column("0"))
        .select_from(facts.join(goals, goals.c.plan_id == facts.c.plan_id))
        .where(goals.c.created_at < cutoff)
        .group_by(facts.c.organisation_id, goals.c.status),
        "new": _cells(
            ev.c.organisation_id,
            "new",
            _const(""),
            func.count(),
            func.sum(case((within_days_sql(ev), 1), else_=0)),
        )
        .where(
            ev.c.initial_assessment_date.between(month, last_of_month(month)),
            registered_sql(ev, day_sql, cutoff),
        )
        .group_by(ev.c.organisation_id),
    }
    chosen = [branch for name, branch in branches.items() if only is None or name in only]
    if only is None or "month" in only:
        chosen += _earlier_months(ev, month, today)
    return union_all(*chosen)


def _earlier_months(ev, month: date, today: date) -> list:
    """The uptake of the 12 months before, each as read at its end: one pass over ``ev``
    grouped by organisation, then a row per month."""
    points = [add_months(month, -i) for i in range(SERIES_MONTHS - 1, 0, -1)]
    sums = []
    for i, point in enumerate(points):
        day, cutoff, review_after = as_of_sql(as_of(point, today))
        register = registered_sql(ev, day, cutoff)
        meets = register & meets_sql(ev, day, cutoff, review_after)
        sums.append(func.sum(case((register, 1), else_=0)).label(f"people_{i}"))
        sums.append(func.sum(case((meets, 1), else_=0)).label(f"compliant_{i}"))
    series = select(ev.c.organisation_id, *sums).group_by(ev.c.organisation_id).cte("series")
    return [
        _cells(
            series.c.organisation_id,
            "month",
            _const(point.strftime("%Y-%m")),
            series.c[f"people_{i}"],
            series.c[f"compliant_{i}"],
        )
        for i, point in enumerate(points)
    ]


def _cells(organisation_id, dimension: str, key, people, compliant):
    return select(
        organisation_id.label("organisation_id"),
        _const(dimension).label("dimension"),
        key.label("key"),
        people.label("people"),
        compliant.label("compliant"),
    )


def no_jit() -> None:
    """PostgreSQL: compiling the one-off counting statement costs more than it saves."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))  # this transaction only


def add_up(rows) -> dict:
    """{(dimension, key): (people, compliant)} over organisations, with each organisation's
    total as its own ``organisation`` cell."""
    raw: dict = {}
    for organisation_id, dimension, key, n, m in rows:
        cells = [(dimension, key)]
        if dimension == "total":
            cells.append(("organisation", str(organisation_id)))
        for cell in cells:
            people, compliant = raw.get(cell, (0, 0))
            raw[cell] = (people + int(n or 0), compliant + int(m or 0))
    return raw


def _raw_counts(month: date, organisation_id: int | None, today: date):
    """The month's raw counts, and its stored summary (``None`` when counted live now).

    A summarised month is read from its stored cells. Each earlier month in the uptake series
    is its own summary's total when it has one, so a month shows the same figure wherever it
    appears; otherwise it is as read with this month (from its stored cells, or live).
    """
    series_start = add_months(month, 1 - SERIES_MONTHS)
    summaries = {
        s.month: s
        for s in db.session.scalars(
            select(MonthlySummary).where(MonthlySummary.month.between(series_start, month))
        )
    }
    stored: dict[date, list] = {}
    if summaries:
        cell = MonthlySummaryCell
        query = select(
            cell.month, cell.organisation_id, cell.dimension, cell.key, cell.people, cell.compliant
        ).where(
            cell.month.in_(list(summaries)), or_(cell.month == month, cell.dimension == "total")
        )
        if organisation_id is not None:
            query = query.where(cell.organisation_id == organisation_id)
        for row in db.session.execute(query):
            stored.setdefault(row[0], []).append(row[1:])
    summary = summaries.get(month)
    if summary is not None:
        raw = add_up(stored.get(month, []))
    else:
        no_jit()
        raw = add_up(db.session.execute(cells_sql(month, organisation_id, today)))
    for point in summaries:
        if point != month:
            total = add_up(stored.get(point, [])).get(("total", ""), (0, 0))
            raw[("month", point.strftime("%Y-%m"))] = total
    return raw, summary


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


def denominator(raw: dict) -> str:
    """What the month's figures divide by, from the organisations' ``basis`` cells (a month
    summarised before they were kept was counted from the portal)."""
    bases = {key for dimension, key in raw if dimension == "basis"}
    if bases == {REGISTER}:
        return REGISTER
    return MIXED if REGISTER in bases else PORTAL


def monthly_report(month: date, organisation_id: int | None = None, today=None) -> Report:
    """The published report for ``month`` (any day in it), for one organisation or all."""
    today = today or date.today()
    month = first_of_month(month)
    names = {str(i): name for i, name in organisations()}
    raw, summary = _raw_counts(month, organisation_id, today)
    day = as_of(month, summary.new_patients_on if summary else today)  # the month so far
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
    set_targets = stored()
    series = []
    for i in range(SERIES_MONTHS - 1, -1, -1):
        point = add_months(month, -i)
        n, m = raw.get(("month", point.strftime("%Y-%m")), (0, 0)) if i else total
        published = (suppression.count(n), suppression.count(m))
        series.append(Point(point, *published, target(point, set_targets)))
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
        target=target(month, set_targets),
        own_trajectory=bool(set_targets),
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
        calculated_at=summary.calculated_at if summary else None,
        denominator=denominator(raw),
    )
