"""The commissioner's report: trajectory, 28-day rule, suppression, outputs and who may see it."""

import csv
import io
import itertools
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from portal.compliance import NEW_PATIENT_DAYS, evidence, within_days_sql
from portal.models import (
    AuditEvent,
    CarePlan,
    Patient,
    PlanAudit,
    PlanAuditItem,
    ReviewMeeting,
    Role,
)
from portal.reports import suppression
from portal.reports.services import monthly_report
from portal.reports.trajectory import target
from tests.compliance_factories import (
    ASTHMA,
    DAY,
    DIABETES,
    at,
    make_compliant_plan,
    make_survey,
)
from tests.factories import CAST_KEYS, make_org, make_user

MARCH = date(2011, 3, 1)
ALL = CAST_KEYS

# Appendix 2 of the commissioning specification, as printed.
APPENDIX_2 = {
    "Mar-10": "50.00",
    "Apr-10": "51.67",
    "May-10": "53.33",
    "Jun-10": "55.00",
    "Jul-10": "56.67",
    "Aug-10": "58.33",
    "Sep-10": "60.00",
    "Oct-10": "61.67",
    "Nov-10": "63.33",
    "Dec-10": "65.00",
    "Jan-11": "66.67",
    "Feb-11": "68.33",
    "Mar-11": "70.00",
    "Apr-11": "71.67",
    "May-11": "73.33",
    "Jun-11": "75.00",
    "Jul-11": "76.67",
    "Aug-11": "78.33",
    "Sep-11": "80.00",
    "Oct-11": "81.67",
    "Nov-11": "83.33",
    "Dec-11": "85.00",
    "Jan-12": "86.67",
    "Feb-12": "88.33",
    "Mar-12": "90.00",
}
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    )
}


pytestmark = pytest.mark.usefixtures("english")


def _month(label: str) -> date:
    name, year = label.split("-")
    return date(2000 + int(year), MONTHS[name], 1)


# --------------------------------------------------------------------------------------------
# Trajectory
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "expected"), APPENDIX_2.items())
def test_trajectory_matches_appendix_2(label, expected):
    assert target(_month(label)) == Decimal(expected)


def test_no_target_before_march_2010_and_90_percent_after_march_2012():
    assert target(date(2010, 2, 1)) is None
    assert target(date(2009, 3, 1)) is None
    assert target(date(2012, 4, 1)) == Decimal("90.00")
    assert target(date(2020, 1, 1)) == Decimal("90.00")


# --------------------------------------------------------------------------------------------
# Suppression
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [(0, 0), (1, None), (7, None), (8, 10), (12, 10), (13, 15), (17, 15), (18, 20), (1003, 1005)],
)
def test_counts_are_hidden_or_rounded(raw, shown):
    assert suppression.count(raw) == shown


def test_no_percentage_or_mean_over_a_hidden_count():
    assert suppression.percent(None, 100) is None
    assert suppression.percent(10, None) is None
    assert suppression.percent(5, 0) is None
    assert suppression.percent(10, 20) == 50.0
    assert suppression.mean(35, 7) is None
    assert suppression.mean(32, 8) == 4.0


def test_a_single_hidden_cell_hides_the_next_smallest_too():
    published = suppression.breakdown({"a": 3, "b": 40, "c": 0, "d": 12, "e": 12})
    assert published == {"a": None, "b": 40, "c": 0, "d": None, "e": 10}
    assert suppression.breakdown({"a": 3, "b": 5, "c": 40}) == {"a": None, "b": None, "c": 40}
    assert suppression.breakdown({"a": 30, "b": 40}) == {"a": 30, "b": 40}


def _publish(cells: tuple[int, ...]):
    published = suppression.breakdown(dict(enumerate(cells)), sum(cells))
    if published is None:
        return None
    return tuple(published.values()), suppression.count(sum(cells))


def _readings(x: tuple[int, ...]):
    """Every published breakdown that a reader who knows the rules would find ``x`` consistent
    with: shown cells are ``x`` rounded; hidden cells are 1 to 7, except that when exactly two
    are hidden one may be larger; the total is the sum rounded."""
    total = suppression.count(sum(x))
    limit = suppression.HIDDEN_UP_TO
    nonzero = [i for i, v in enumerate(x) if v]
    for size in range(len(nonzero) + 1):
        for hidden in itertools.combinations(nonzero, size):
            small = [i for i in hidden if x[i] <= limit]
            if len(small) < size and not (size == 2 and small):
                continue
            if any(x[i] <= limit and x[i] and i not in hidden for i in range(len(x))):
                continue  # a small count is never shown
            yield (
                tuple(None if i in hidden else suppression.count(x[i]) for i in range(len(x))),
                total,
            )


@pytest.mark.parametrize(("cells", "truth_up_to", "reader_up_to"), [(3, 20, 34), (4, 8, 13)])
def test_no_hidden_cell_can_be_recovered_from_the_total(cells, truth_up_to, reader_up_to):
    """Every breakdown of small numbers, published, then read by someone who takes the shown
    cells and the total and works out what each hidden cell could be: always two or more."""
    readings: dict = {}
    for x in itertools.product(range(reader_up_to + 1), repeat=cells):
        for reading in set(_readings(x)):
            readings.setdefault(reading, set()).add(x)
    checked = 0
    for truth in itertools.product(range(truth_up_to + 1), repeat=cells):
        published = _publish(truth)
        if published is None:
            continue  # not shown at all
        assert truth in readings[published]
        for i, value in enumerate(published[0]):
            if value is None:
                assert len({x[i] for x in readings[published]}) >= 2, (truth, published)
                checked += 1
    assert checked > 1000


def test_four_groups_of_seven_are_not_given_away():
    """A total of 28 shows as 30: were all four cells hidden, each could only be 7."""
    assert suppression.count(28) == 30
    assert suppression.breakdown(dict(enumerate((7, 7, 7, 7))), 28) is None
    assert suppression.breakdown(dict(enumerate((7, 7, 7, 7))), None) == dict.fromkeys(range(4))


def test_subtraction_on_a_real_report_leaves_every_hidden_cell_open(db):
    """Cells shown are within 2 of the truth, the total too; a hidden cell is at least 1."""
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    for sex, n in (("female", 23), ("male", 3), ("other", 0), ("unknown", 9)):
        for _ in range(n):
            make_compliant_plan(org, nurse=nurse, sex=sex)
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    rows = {row.key: row for row in _breakdown(report, "sex").rows}
    assert [rows[k].people for k in ("female", "male", "unknown")] == [25, None, None]
    assert report.people == 35  # 35 exactly; rounded on its own, not summed from the cells
    for column in ("people", "compliant"):
        total = getattr(report, column)
        values = [getattr(row, column) for row in rows.values()]
        for i, value in enumerate(values):
            if value is not None:
                continue
            others = values[:i] + values[i + 1 :]
            known_high = sum(v + 2 for v in others if v)
            hidden_others = sum(1 for v in others if v is None)
            lowest = max(1, total - 2 - known_high - 99 * hidden_others)
            highest = total + 2 - sum(v - 2 for v in others if v) - hidden_others
            assert highest - lowest >= 1, (column, i)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _breakdown(report, key):
    return next(b for b in report.breakdowns if b.key == key)


def _people(n, org, nurse, compliant=True, **kw):
    plans = [make_compliant_plan(org, nurse=nurse, **kw) for _ in range(n)]
    if not compliant:
        for plan in plans:
            plan.named_contact_id = None
    return plans


@pytest.fixture
def population(db):
    """Two practices in March 2011: 30 plans meeting the requirements and 10 that do not."""
    north, south = make_org("North Practice"), make_org("South Practice")
    nurse_n = make_user(Role.PROFESSIONAL, north, can_audit=True)
    nurse_s = make_user(Role.PROFESSIONAL, south)
    _people(20, north, nurse_n, conditions=(DIABETES,), sex="female", preferred_language="en")
    _people(
        10,
        south,
        nurse_s,
        conditions=(DIABETES, ASTHMA),
        sex="male",
        preferred_language="ur",
        ethnicity_category="asian_pakistani",
        date_of_birth=date(1990, 6, 1),
    )
    _people(10, south, nurse_s, compliant=False, conditions=(ASTHMA,), sex="female")
    db.session.commit()
    return north, south


def test_headline_figures_and_target(population):
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    assert (report.people, report.compliant, report.percent) == (40, 30, 75.0)
    assert report.target == Decimal("70.00")
    assert report.difference == 5.0
    assert report.as_of == date(2011, 3, 31)


def test_filter_by_organisation(population):
    north, south = population
    report = monthly_report(MARCH, south.id, today=date(2012, 1, 1))
    assert (report.people, report.compliant, report.percent) == (20, 10, 50.0)
    assert report.organisation == "South Practice"
    assert "organisation" not in {b.key for b in report.breakdowns}


def test_breakdowns(population):
    report = monthly_report(MARCH, today=date(2012, 1, 1))

    def cells(key):
        return {row.key: (row.people, row.compliant) for row in _breakdown(report, key).rows}

    assert cells("condition") == {DIABETES: (30, 30), ASTHMA: (20, 10)}
    assert cells("sex") == {"female": (30, 20), "male": (10, 10)}
    assert cells("language") == {"en": (30, 20), "ur": (10, 10)}
    assert cells("ethnicity") == {"not_stated": (30, 20), "asian_pakistani": (10, 10)}
    assert cells("age_band") == {"18-44": (10, 10), "45-64": (30, 20)}
    north, south = population
    assert cells("organisation") == {str(north.id): (20, 20), str(south.id): (20, 10)}
    labels = {str(row.label) for row in _breakdown(report, "language").rows}
    assert labels == {"English", "Urdu"}


def test_the_month_is_read_as_of_its_last_day(population):
    """Registered on 30 January 2011, plans from mid-February: not counted before."""
    report = monthly_report(date(2011, 1, 1), today=date(2012, 1, 1))
    assert (report.people, report.compliant) == (40, 0)
    assert monthly_report(date(2010, 12, 1), today=date(2012, 1, 1)).people == 0
    series = {p.month: p for p in monthly_report(MARCH, today=date(2012, 1, 1)).series}
    assert len(series) == 13 and min(series) == date(2010, 3, 1)
    assert (series[date(2010, 12, 1)].people, series[date(2011, 1, 1)].people) == (0, 40)
    assert series[date(2011, 1, 1)].compliant == 0
    assert series[date(2011, 2, 1)].compliant == 30  # everything done by 19 February
    assert series[MARCH].people == 40
    assert series[MARCH].compliant == 30
    assert series[date(2010, 3, 1)].target == Decimal("50.00")
    february = monthly_report(date(2011, 2, 1), today=date(2012, 1, 1)).series
    assert (february[0].month, february[0].target) == (date(2010, 2, 1), None)


def test_goal_counts_by_status(population):
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    goals = {status: n for status, _label, n in report.goals}
    assert goals["agreed"] == 40
    assert goals["proposed"] == 0
    assert report.goals_total == 40


def test_new_patients_and_the_28_day_rule(db):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    assessed = date(2011, 3, 10)
    for n, days in ((10, NEW_PATIENT_DAYS), (10, NEW_PATIENT_DAYS + 1), (3, None)):
        for _ in range(n):
            plan = make_compliant_plan(
                org, nurse=nurse, initial_assessment_date=assessed, created_at=at(assessed)
            )
            held_on = assessed + timedelta(days=days) if days is not None else None
            db.session.execute(
                update(ReviewMeeting)
                .where(ReviewMeeting.plan_id == plan.id)
                .values(held_on=held_on, status="held" if held_on else "scheduled")
            )
    make_compliant_plan(org, nurse=nurse, initial_assessment_date=date(2011, 2, 28))
    db.session.commit()
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    assert (report.new_patients, report.new_within, report.new_percent) == (25, 10, 40.0)


def test_the_28_day_rule_counts_day_28_but_not_day_29(db):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    ids = {}
    for days in (0, 28, 29):
        plan = make_compliant_plan(org, nurse=nurse, initial_assessment_date=date(2011, 3, 31))
        db.session.execute(
            update(ReviewMeeting)
            .where(ReviewMeeting.plan_id == plan.id)
            .values(held_on=date(2011, 3, 31) + timedelta(days=days))
        )
        ids[plan.patient_id] = days
    db.session.commit()
    ev = evidence().subquery()
    within = set(db.session.scalars(select(ev.c.patient_id).where(within_days_sql(ev))))
    assert {ids[i] for i in within} == {0, 28}


def test_survey_scores_are_shown_only_from_eight_answers(db):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    plans = [make_compliant_plan(org, nurse=nurse) for _ in range(8)]
    meetings = {}
    for plan in plans:
        meetings[plan.id] = db.session.scalar(
            select(ReviewMeeting).where(ReviewMeeting.plan_id == plan.id)
        )
    for plan in plans[:7]:
        patient = db.session.get(Patient, plan.patient_id)
        make_survey(meetings[plan.id], patient, (5, 4, 2), comment="Private words")
    db.session.commit()
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    assert report.survey_responses is None
    assert all(q.mean is None for q in report.survey)
    patient = db.session.get(Patient, plans[7].patient_id)
    make_survey(meetings[plans[7].id], patient, (1, 4, 2))
    db.session.commit()
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    assert report.survey_responses == 10
    assert [q.mean for q in report.survey] == [4.5, 4.0, 2.0]
    assert report.survey_agree_percent(report.survey[0]) is None  # 7 answered 4 or 5: hidden
    assert report.survey_agree_percent(report.survey[1]) == 100.0


def test_audit_summary(population, db):
    north, _south = population
    auditor = make_user(Role.PROFESSIONAL, north, can_audit=True)
    plan_ids = db.session.scalars(select(CarePlan.id)).all()
    sample = PlanAudit(organisation_id=north.id, auditor_id=auditor.id, created_at=at(DAY))
    db.session.add(sample)
    db.session.flush()
    for i, plan_id in enumerate(plan_ids[:20]):
        db.session.add(
            PlanAuditItem(audit_id=sample.id, plan_id=plan_id, meets_requirements=i < 15)
        )
    db.session.add(PlanAuditItem(audit_id=sample.id, plan_id=plan_ids[20]))  # not checked yet
    db.session.commit()
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    assert (report.audited, report.audit_meeting, report.audit_percent) == (20, 15, 75.0)
    assert monthly_report(date(2012, 4, 1), today=date(2013, 1, 1)).audited == 0  # 12 months on


# --------------------------------------------------------------------------------------------
# Pages, CSV and the command line
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize(
    "route", ["/reports", "/reports?month=2011-03", "/reports.csv?month=2011-03"]
)
def test_only_commissioners_reach_reports(cast, request_as, route, who):
    response = request_as(cast.users[who], "GET", route)
    if who == "anonymous":
        assert response.status_code == 302
    else:
        assert response.status_code == (200 if who == "commissioner" else 404)


def test_dashboard_shows_figures_chart_and_table(population, cast, login, db):
    client = login(cast.users["commissioner"])
    response = client.get("/reports?month=2011-03")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "March 2011" in body
    assert "75.0%" in body and "70.00%" in body
    assert "<svg" in body and "<polyline" in body
    svg = body[body.index("<svg") : body.index("</svg>")]
    assert "style=" not in svg and "<script" not in body.lower().replace(
        '<script type="module"', ""
    )
    assert 'role="img"' in svg
    assert "<caption" in body and "Uptake by month" in body
    assert "/reports.csv?month=2011-03" in body
    commissioner = cast.users["commissioner"].id
    assert [e.actor_id for e in _events(db, "report.view")] == [commissioner]


def _events(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_default_month_is_last_month(cast, login):
    body = login(cast.users["commissioner"]).get("/reports").get_data(as_text=True)
    first = date.today().replace(day=1)
    last = (first - timedelta(days=1)).strftime("%Y-%m")
    assert f'value="{last}"' in body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("month=2011-13", "Enter the month as a year and month, like 2011-03"),
        ("month=March", "Enter the month as a year and month, like 2011-03"),
        ("month=", "Enter the month the report is for"),
        ("month=1999-12", "Enter the month as a year and month, like 2011-03"),
        ("month=2011-03-01", "Enter the month as a year and month, like 2011-03"),
        ("month=2999-01", "Enter a month that is not in the future"),
        ("month=2011-03&organisation=999999", "Choose an organisation from the list"),
        ("month=2011-03&organisation=<b>", "Choose an organisation from the list"),
    ],
)
def test_bad_filters_are_explained_not_500(cast, login, query, message):
    client = login(cast.users["commissioner"])
    response = client.get(f"/reports?{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in body
    assert "nhsuk-error-summary" in body
    assert "People with a long-term condition</dt>" not in body
    assert client.get(f"/reports.csv?{query}").status_code == 400


def test_typed_month_is_kept_when_wrong(cast, login):
    body = login(cast.users["commissioner"]).get("/reports?month=2011-3x").get_data(as_text=True)
    assert 'value="2011-3x"' in body


def test_csv_has_the_same_figures(population, cast, login):
    response = login(cast.users["commissioner"]).get("/reports.csv?month=2011-03")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    figures = {(r["section"], r["group_code"], r["measure"]): r["value"] for r in rows}
    assert figures[("summary", "", "people")] == "40"
    assert figures[("summary", "", "compliant")] == "30"
    assert figures[("summary", "", "percent")] == "75.0"
    assert figures[("summary", "", "target")] == "70.00"
    assert figures[("sex", "male", "people")] == "10"
    assert figures[("uptake", "2010-03", "target")] == "50.00"
    assert figures[("uptake", "2011-03", "compliant")] == "30"
    assert {r["month"] for r in rows} == {"2011-03"}


def test_csv_for_one_organisation_and_hidden_cells(population, cast, login):
    _north, south = population
    response = login(cast.users["commissioner"]).get(
        f"/reports.csv?month=2011-03&organisation={south.id}"
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["organisation"] for r in rows} == {"South Practice"}
    figures = {(r["section"], r["group_code"], r["measure"]): r["value"] for r in rows}
    assert figures[("summary", "", "people")] == "20"


def test_cli_prints_csv_and_text(population, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report", "--month", "2011-03", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert ("summary", "people", "40") in {(r["section"], r["measure"], r["value"]) for r in rows}
    result = runner.invoke(args=["report", "--month", "2011-03", "--format", "text"])
    assert result.exit_code == 0, result.output
    assert "People with a long-term condition" in result.output
    assert re.search(r"Trajectory target \(percentage\)\s+70\.00", result.output)


def test_cli_refuses_a_bad_month_or_organisation(db, app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["report", "--month", "2011-13"]).exit_code == 2
    assert (
        runner.invoke(args=["report", "--month", "2011-03", "--organisation", "ZZZ"]).exit_code == 2
    )


def test_cli_for_one_organisation(population, app):
    _north, south = population
    ods = south.ods_code
    result = app.test_cli_runner().invoke(
        args=["report", "--month", "2011-03", "--organisation", ods, "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "South Practice" in result.output


def test_no_personal_data_reaches_the_commissioner(db, cast, login, app):
    """Names, NHS numbers, feedback and comments of the people counted appear nowhere."""
    org = make_org("Quiet Practice")
    nurse = make_user(Role.PROFESSIONAL, org, display_name="Nurse Zebedee")

    secrets = []
    for i in range(9):
        plan = make_compliant_plan(
            org, nurse=nurse, given_name=f"Wilhelmina{i}", family_name=f"Quixote{i}"
        )
        patient = db.session.get(Patient, plan.patient_id)
        meeting = db.session.scalar(select(ReviewMeeting).where(ReviewMeeting.plan_id == plan.id))
        meeting.patient_feedback = f"Feedback secret {i}"
        make_survey(meeting, patient, comment=f"Comment secret {i}")
        secrets += [patient.given_name, patient.family_name, patient.nhs_number]
        secrets += [f"Feedback secret {i}", f"Comment secret {i}"]
    secrets.append("Nurse Zebedee")
    db.session.commit()
    client = login(cast.users["commissioner"])
    outputs = [
        client.get("/reports?month=2011-03").get_data(as_text=True),
        client.get(f"/reports?month=2011-03&organisation={org.id}").get_data(as_text=True),
        client.get("/reports.csv?month=2011-03").get_data(as_text=True),
        client.get(f"/reports.csv?month=2011-03&organisation={org.id}").get_data(as_text=True),
    ]
    runner = app.test_cli_runner()
    for fmt in ("csv", "text"):
        outputs.append(runner.invoke(args=["report", "--month", "2011-03", "--format", fmt]).output)
    for output in outputs:
        assert "Quiet Practice" in output
        for secret in secrets:
            assert secret not in output
        formatted = [f"{s[:3]} {s[3:6]} {s[6:]}" for s in secrets if s.isdigit()]
        assert not any(number in output for number in formatted)


def test_no_breakdown_shows_exactly_one_hidden_cell(population, db):
    """With a group of 3 beside bigger ones, its neighbour is hidden as well."""
    north, _south = population
    nurse = make_user(Role.PROFESSIONAL, north)
    for _ in range(3):
        make_compliant_plan(north, nurse=nurse, preferred_language="pl")
    db.session.commit()
    report = monthly_report(MARCH, today=date(2012, 1, 1))
    for breakdown in report.breakdowns:
        for column in ("people", "compliant"):
            values = [getattr(row, column) for row in breakdown.rows]
            hidden = values.count(None)
            assert hidden != 1 or not any(values), (breakdown.key, column, values)
    language = {row.key: row.people for row in _breakdown(report, "language").rows}
    assert language == {"en": 30, "pl": None, "ur": None}


def test_a_breakdown_that_would_give_people_away_is_not_shown(db, cast, login):
    """Four groups of 7 and a total shown as 30: each group could only be 7."""
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    for sex in ("female", "male", "other", "unknown"):
        for _ in range(7):
            make_compliant_plan(org, nurse=nurse, sex=sex)
    db.session.commit()
    report = monthly_report(MARCH, org.id, today=date(2012, 1, 1))
    assert report.people == 30
    sex = _breakdown(report, "sex")
    assert sex.withheld and sex.rows == []
    body = login(cast.users["commissioner"]).get(f"/reports?month=2011-03&organisation={org.id}")
    assert "Not shown: every group is small enough" in body.get_data(as_text=True)


def test_report_page_queries_do_not_grow_with_the_data(db, cast, login, count_queries):
    client = login(cast.users["commissioner"])
    counts = []
    for _ in range(2):
        with count_queries() as counter:
            assert client.get("/reports?month=2011-03").status_code == 200
        counts.append(counter.count)
        org = make_org()
        nurse = make_user(Role.PROFESSIONAL, org)
        for _ in range(10):
            make_compliant_plan(org, nurse=nurse)
        db.session.commit()
    assert counts[0] == counts[1]
    assert counts[1] <= 12


def test_commissioner_home_links_to_the_report(cast, login):
    body = login(cast.users["commissioner"]).get("/").get_data(as_text=True)
    assert 'href="/reports"' in body
    body = login(cast.users["admin"]).get("/").get_data(as_text=True)
    assert 'href="/reports"' not in body
